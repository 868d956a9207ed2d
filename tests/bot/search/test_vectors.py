"""The vector index: build, extend, save, reopen memory-mapped, search by cosine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.search.vectors import VectorIndex


def _units(n: int, dims: int = 32, seed: int = 0) -> np.ndarray:
    m = np.random.default_rng(seed).standard_normal((n, dims)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def test_search_finds_each_vector_first_and_scores_by_cosine() -> None:
    vectors = _units(500)
    index = VectorIndex.build(
        zip(range(1000, 1500), vectors, strict=True), model="m", dimensions=32
    )
    assert len(index) == 500 and 1000 in index and 999 not in index
    for i in (0, 17, 499):
        hits = index.search(vectors[i], 5)
        assert hits[0][0] == 1000 + i
        assert hits[0][1] == pytest.approx(1.0, abs=0.02)
        assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert index.search(vectors[0], 0) == []


def test_extend_replaces_a_changed_paper() -> None:
    vectors = _units(50)
    index = VectorIndex.build(zip(range(50), vectors, strict=True), model="m", dimensions=32)
    index.extend([(3, vectors[40])])
    assert len(index) == 50
    assert {k for k, _ in index.search(vectors[40], 2)} == {3, 40}
    assert index.search(vectors[3], 1)[0][0] != 3


def test_save_and_open_round_trip(tmp_path: Path) -> None:
    vectors = _units(200)
    built = VectorIndex.build(zip(range(200), vectors, strict=True), model="enc@1", dimensions=32)
    built.save(tmp_path / "vectors")
    opened = VectorIndex.open(tmp_path / "vectors")
    assert (opened.model, opened.dimensions, len(opened)) == ("enc@1", 32, 200)
    assert opened.search(vectors[42], 3) == built.search(vectors[42], 3)
    stored = opened.vector(42)
    assert stored is not None and float(stored @ vectors[42]) > 0.99
    # A memory-mapped index grows after being copied into memory; the files stay as saved.
    opened.extend([(500, vectors[0])])
    assert len(opened) == 201
    assert len(VectorIndex.open(tmp_path / "vectors")) == 200


def test_open_without_an_index_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        VectorIndex.open(tmp_path)


def test_wrong_dimensions_are_refused() -> None:
    index = VectorIndex.empty(model="m", dimensions=32)
    with pytest.raises(ValueError, match="16 dimensions, not 32"):
        index.extend([(1, _units(1, 16)[0])])


def test_the_encoder_loads_after_the_vector_index_in_a_fresh_process() -> None:
    # usearch first, then onnxruntime, with nothing else loaded: the order a script that
    # opens the vectors and then embeds a query takes. It used to crash with a segfault.
    code = (
        "from bot.search.vectors import VectorIndex\n"
        "VectorIndex.empty(model='m', dimensions=4)\n"
        "import onnxruntime\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-500:]
