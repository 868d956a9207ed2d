"""Embedding the stored papers: only new or changed ones, resumable, re-embedded on a model
change, and never again after a restart."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.models import PaperRecord
from bot.search.embedder import embed_pending, model_key
from bot.testing.fake_vectors import FakePaperVectors
from bot.testing.fakes import FakeDatabase

NOW = datetime(2026, 11, 30, tzinfo=UTC)


class CountingEncoder:
    """A deterministic stand-in for the ONNX encoder that counts what it was asked to embed
    and can be told to crash, like a killed process, after some batches."""

    dimensions = 16

    def __init__(self, version: str = "1", crash_after: int | None = None) -> None:
        self.model_id, self.model_version = "counting", version
        self.seen: list[str] = []
        self.batches = 0
        self.crash_after = crash_after

    def encode(self, texts: Sequence[str]) -> NDArray[np.float32]:
        if self.crash_after is not None and self.batches >= self.crash_after:
            raise KeyboardInterrupt
        self.batches += 1
        self.seen.extend(texts)
        out = np.zeros((len(texts), self.dimensions), np.float32)
        for i, text in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")
            out[i] = np.random.default_rng(seed).standard_normal(self.dimensions)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def _db(n: int) -> FakeDatabase:
    db = FakeDatabase()
    with db.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(title=f"Paper {i}", abstract=f"About {i}.", source="hf-page")
                for i in range(n)
            ],
            seen_at=NOW,
        )
    return db


def test_everything_is_embedded_once_and_a_restart_embeds_nothing() -> None:
    db = _db(10)
    encoder = CountingEncoder()
    progress: list[tuple[int, int]] = []
    stats = embed_pending(
        db.uow, encoder, batch_size=4, progress=lambda d, t: progress.append((d, t))
    )
    assert (stats.embedded, stats.unchanged) == (10, 0)
    assert progress == [(0, 10), (4, 10), (8, 10), (10, 10)]
    again = CountingEncoder()
    second = embed_pending(db.uow, again)
    # The second run reads only the papers written since the first one's mark: none (storing
    # a vector leaves its paper's change number alone).
    assert (second.embedded, second.unchanged) == (0, 0)
    assert again.seen == []
    with db.uow() as uow:
        assert len(uow.vectors.fingerprints(model_key(encoder))) == 10


def test_only_new_and_changed_papers_are_embedded() -> None:
    db = _db(5)
    embed_pending(db.uow, CountingEncoder())
    with db.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(title="Paper 2", abstract="About 2.", source="hf-page"),  # same
                PaperRecord(title="A new one", abstract="Fresh.", source="hf-page"),
            ],
            seen_at=NOW,
        )
        key = next(p.key for p in uow.papers.iter_all() if p.title == "Paper 3")
    # A corrected abstract: storage merges by filling gaps only, so set it on the stored paper.
    # (stamped with a change number, as a write through storage would be)
    db.state.papers[key] = replace(db.state.papers[key], abstract="Rewritten.")
    db.state.change += 1
    db.state.changes[key] = db.state.change
    encoder = CountingEncoder()
    stats = embed_pending(db.uow, encoder)
    assert sorted(encoder.seen) == ["A new one. Fresh.", "Paper 3. Rewritten."]
    # Only those two were written since the first run's mark (an unchanged upsert writes none).
    assert (stats.embedded, stats.unchanged) == (2, 0)


def test_a_crash_keeps_finished_batches_and_the_next_run_resumes() -> None:
    db = _db(10)
    with pytest.raises(KeyboardInterrupt):
        embed_pending(db.uow, CountingEncoder(crash_after=2), batch_size=3)
    resumed = CountingEncoder()
    stats = embed_pending(db.uow, resumed, batch_size=3)
    assert (stats.embedded, stats.unchanged) == (4, 6)
    assert len(resumed.seen) == 4


def test_a_model_change_re_embeds_everything_and_prunes_the_old_model() -> None:
    db = _db(6)
    old = CountingEncoder("1")
    embed_pending(db.uow, old)
    new = CountingEncoder("2")
    stats = embed_pending(db.uow, new)
    assert (stats.embedded, stats.pruned) == (6, 6)
    with db.uow() as uow:
        assert uow.vectors.fingerprints(model_key(old)) == {}
        assert len(uow.vectors.fingerprints(model_key(new))) == 6


def test_an_unfinished_model_change_keeps_the_old_vectors() -> None:
    db = _db(6)
    old = CountingEncoder("1")
    embed_pending(db.uow, old)
    with pytest.raises(KeyboardInterrupt):
        embed_pending(db.uow, CountingEncoder("2", crash_after=1), batch_size=2)
    with db.uow() as uow:
        assert len(uow.vectors.fingerprints(model_key(old))) == 6
        assert len(uow.vectors.fingerprints("counting@2")) == 2


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "embed-reader" and t.is_alive()]


def test_a_crash_in_the_encoder_stops_the_reader_thread() -> None:
    db = _db(40)
    with pytest.raises(KeyboardInterrupt):
        embed_pending(db.uow, CountingEncoder(crash_after=1), batch_size=2)
    assert _reader_threads() == []


def test_an_error_while_reading_is_raised_in_the_caller_and_nothing_more_is_stored() -> None:
    db = _db(9)
    calls = 0
    real = FakePaperVectors.texts

    def failing(self: FakePaperVectors, model: str, keys: Sequence[int]) -> Iterator[Any]:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk I/O error")
        yield from real(self, model, keys)

    encoder = CountingEncoder()
    with (
        pytest.MonkeyPatch.context() as patch,
        pytest.raises(OSError, match="disk I/O error"),
    ):
        patch.setattr(FakePaperVectors, "texts", failing)
        embed_pending(db.uow, encoder, batch_size=3)
    assert _reader_threads() == []
    # The first batch was read, encoded and committed; the run stopped at the second.
    with db.uow() as uow:
        assert len(uow.vectors.fingerprints(model_key(encoder))) == 3
    resumed = CountingEncoder()
    stats = embed_pending(db.uow, resumed, batch_size=3)
    assert (stats.embedded, stats.unchanged) == (6, 3)


def test_the_progress_total_drops_the_up_to_date_papers_as_they_are_read() -> None:
    db = _db(6)
    embed_pending(db.uow, CountingEncoder())
    with db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title="A new one", abstract="Fresh.", source="hf-page")], seen_at=NOW
        )
    progress: list[tuple[int, int]] = []
    stats = embed_pending(
        db.uow, CountingEncoder(), batch_size=4, progress=lambda d, t: progress.append((d, t))
    )
    # One candidate, the new paper: the six embedded by the first run were not written since.
    assert (stats.embedded, stats.unchanged) == (1, 0)
    assert progress == [(0, 1), (1, 1)]


def test_a_paper_gone_after_the_listing_is_not_waited_for() -> None:
    db = _db(5)
    progress: list[tuple[int, int]] = []
    listed = FakePaperVectors.written_since_mark

    def listing_then_delete(self: FakePaperVectors, model: str) -> tuple[int, list[int]]:
        last, keys = listed(self, model)
        del self.state.papers[keys[0]]  # merged away before the reader gets to it
        return last, keys

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(FakePaperVectors, "written_since_mark", listing_then_delete)
        stats = embed_pending(
            db.uow, CountingEncoder(), batch_size=2, progress=lambda d, t: progress.append((d, t))
        )
    assert stats.embedded == 4
    assert progress[-1] == (4, 4)
