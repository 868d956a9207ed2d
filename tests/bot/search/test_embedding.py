"""The offline sentence encoder: the real int8 model loads from installed packages only."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bot.search.embedding import (
    DIMENSIONS,
    QUANTIZATION,
    Encoder,
    OnnxEncoder,
    cache_directory,
    default_encoder,
    model_file,
    paper_text,
    quantized_model,
)
from bot.search.onnx_fusion import FusionError, fuse_encoder


@pytest.fixture(scope="module")
def encoder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OnnxEncoder]:
    # Any attempt to reach a model hub would fail loudly instead of downloading; the derived
    # int8-MatMul model goes to a fresh cache, so this also tests deriving it offline.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        patch.setenv("PAPERS_BOT_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield default_encoder(threads=1)


def test_model_ships_in_an_installed_package() -> None:
    path = model_file()
    assert path.name == "model.onnx"
    assert "site-packages" in str(path) or "dist-packages" in str(path)


def test_model_id_and_version_name_what_changes_the_vectors(encoder: OnnxEncoder) -> None:
    assert isinstance(encoder, Encoder)
    assert encoder.model_id == "all-MiniLM-L6-v2-int8"
    assert encoder.model_version == f"1.0.0+{QUANTIZATION}+tok128"
    assert encoder.dimensions == DIMENSIONS == 384
    assert OnnxEncoder(max_tokens=256, threads=1).model_version == "1.0.0+tok256"


def test_the_derived_model_is_cached_and_agrees_with_the_package_model(
    encoder: OnnxEncoder,
) -> None:
    cached = quantized_model(cache_directory())
    assert cached.is_file() and QUANTIZATION in cached.name
    assert quantized_model(cache_directory()).stat().st_mtime == cached.stat().st_mtime
    texts = [paper_text("Attention is all you need", "We propose the Transformer. " * 10)]
    texts.append("speaker diarization with overlapping speech")
    package = OnnxEncoder(threads=1).encode(texts)
    derived = encoder.encode(texts)
    assert np.all(np.sum(package * derived, axis=1) > 0.98)


def test_the_session_without_the_slow_fusions_gives_the_same_vectors(
    encoder: OnnxEncoder,
) -> None:
    # `SLOW_FUSIONS` are off for speed; the vectors must be those of the fused session, to
    # the precision the int8 activations allow, so stored vectors keep their model version.
    texts = [paper_text("Attention is all you need", "We propose the Transformer. " * 12)]
    texts += ["speaker diarization with overlapping speech", "graph neural networks"]
    fused = OnnxEncoder(quantized=True, threads=1, slow_fusions=True).encode(texts)
    assert np.all(np.sum(fused * encoder.encode(texts), axis=1) > 0.99)


def test_deriving_the_model_logs_no_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A user's first search derives the model: onnxruntime's quantiser must not print its
    # "consider pre-processing" advice to them.
    with caplog.at_level(logging.WARNING):
        derived = quantized_model(tmp_path)
    assert derived.is_file()
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_the_derived_model_runs_fused_int8_attention(encoder: OnnxEncoder) -> None:
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(quantized_model(cache_directory()))).graph
    ops = Counter(node.op_type for node in graph.node)
    assert ops["QAttention"] == 6 and ops["Gelu"] == 6
    assert not {"Softmax", "Erf", "Transpose", "MatMul"} & set(ops)


def test_a_graph_without_the_expected_pattern_is_refused(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    x = onnx.helper.make_tensor_value_info("attention_mask", onnx.TensorProto.FLOAT, [1])
    y = onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["attention_mask"], ["y"])], "tiny", [x], [y]
    )
    onnx.save(onnx.helper.make_model(graph), str(tmp_path / "tiny.onnx"))
    with pytest.raises(FusionError, match="expected attention and GELU"):
        fuse_encoder(tmp_path / "tiny.onnx", tmp_path / "out.onnx")


def test_vectors_are_unit_length_float32(encoder: OnnxEncoder) -> None:
    vectors = encoder.encode(["graph neural networks", "x", paper_text("A title", "An abstract.")])
    assert vectors.shape == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_output_is_deterministic_and_nearly_independent_of_batching(
    encoder: OnnxEncoder,
) -> None:
    texts = [f"paper number {i} about speech separation" for i in range(40)]
    texts[7] = paper_text("Attention is all you need", "We propose the Transformer. " * 60)
    first = encoder.encode(texts)
    again = encoder.encode(texts)
    np.testing.assert_array_equal(first, again)
    # Activations are quantised per batch, so batch-mates move a vector slightly.
    alone = OnnxEncoder(batch_size=1, threads=1, quantized=True).encode(texts[5:10])
    assert np.all(np.sum(alone * first[5:10], axis=1) > 0.98)
    package = OnnxEncoder(threads=1)
    np.testing.assert_allclose(
        OnnxEncoder(batch_size=1, threads=1).encode(texts[5:10]),
        package.encode(texts)[5:10],
        atol=1e-4,
    )


def test_a_paraphrase_is_nearer_than_an_unrelated_sentence(encoder: OnnxEncoder) -> None:
    query, paraphrase, unrelated = encoder.encode(
        [
            "the method that skips the reward model and optimises preferences on the policy",
            "Direct preference optimization: your language model is secretly a reward model",
            "Stereo radargrammetry using deep learning from airborne SAR images",
        ]
    )
    assert float(query @ paraphrase) > float(query @ unrelated) + 0.2


def test_bad_settings_get_one_clear_error() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        OnnxEncoder(max_tokens=4)
    with pytest.raises(ValueError, match="batch_size"):
        OnnxEncoder(batch_size=0)
