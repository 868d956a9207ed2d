"""Vectors written by `papers-bot embed` reach the index's vector part alone (migration 0018):
tantivy is not written again for a paper whose row did not change, a paper edited and
re-embedded in one range is re-indexed in both, a vector of an older text stays out, and a
kill -9 between the vector part's write and the state loses nothing. On SQLite and
PostgreSQL, with the real tantivy index (its opstamp counts every document written) and a
part at the `IndexPart` seam that records what reaches it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from sqlalchemy import update

from bot.models import Paper, PaperRecord
from bot.search.embedder import embed_pending, fingerprint, model_key, text_of
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from bot.search.vector_part import VectorPart
from bot.search.vector_ports import PaperVector
from storage.changes import change_number
from storage.db import Database
from storage.tables import PaperRow
from tests.bot.search.test_crash_safety import _kill_at
from tests.bot.search.test_embedder import CountingEncoder

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MODEL = model_key(CountingEncoder())
DIMS = CountingEncoder.dimensions
TITLES = [
    "Speech separation for the cocktail party",
    "Graph neural networks for molecules",
    "Speaker diarization with end-to-end neural networks",
    "Protein folding with attention",
]


class Seam:
    """An `IndexPart` that records what reaches it: papers through `apply`, ranges through
    `catch_up` (it has no changes of its own)."""

    name = "seam"

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.ranges: list[tuple[int, int]] = []

    def build(self, directory: Path, papers: Iterable[Paper]) -> None:
        (directory / "built").write_text("")

    def open(self, directory: Path) -> None:
        if not (directory / "built").is_file():
            raise FileNotFoundError(directory)

    def apply(self, papers: Sequence[Paper], removed: Sequence[int]) -> None:
        self.applied.extend(p.key for p in papers)

    def catch_up(self, after: int, upto: int, progress: Callable[[int], None] | None = None) -> int:
        self.ranges.append((after, upto))
        return 0


def _store(db: Database) -> list[Paper]:
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title=t, source="t") for t in TITLES], seen_at=NOW)
    with db.uow() as uow:
        return sorted(uow.papers.iter_all(), key=lambda p: p.key)


def _rewrite(db: Database, key: int, abstract: str) -> Paper:
    """A corrected abstract, written with a change number as an ingest writes it."""
    with db.uow() as uow:
        session = uow.session  # type: ignore[attr-defined]
        session.execute(
            update(PaperRow)
            .where(PaperRow.key == key)
            .values(abstract=abstract, change=change_number(session))
        )
    with db.uow() as uow:
        return uow.papers.get_many([key])[0]


def _vector(paper: Paper) -> NDArray[np.float32]:
    return CountingEncoder().encode([text_of(paper)])[0]


def _opstamp(live: LiveIndex) -> int:
    """tantivy's operation stamp: it grows with every document added or deleted."""
    return int(json.loads((live.index.directory / "meta.json").read_text())["opstamp"])


def _head(db: Database) -> int:
    with db.uow() as uow:
        return uow.papers.last_change()


def _indexed(db: Database, tmp_path: Path) -> tuple[LiveIndex, VectorPart, Seam]:
    part, seam = VectorPart(MODEL, DIMS, db.uow), Seam()
    live = LiveIndex.open(IndexHome(tmp_path / "index"), db.uow, parts=[part, seam])
    return live, part, seam


def _nearest(part: VectorPart, vector: NDArray[np.float32]) -> int:
    assert part.index is not None
    return part.index.search(vector, 1)[0][0]


def test_an_embed_reaches_the_vector_part_and_tantivy_writes_nothing(
    db: Database, tmp_path: Path
) -> None:
    papers = _store(db)
    live, part, seam = _indexed(db, tmp_path)  # after `ingest --no-embed`: no vectors
    assert part.count == 0
    stamp, before = _opstamp(live), live.state.change
    assert embed_pending(db.uow, CountingEncoder(), batch_size=3).embedded == len(papers)
    head = _head(db)
    assert head > before  # the vector writes took change numbers (two batches)
    assert live.catch_up(db.uow) == len(papers)
    assert _opstamp(live) == stamp  # not one tantivy document written
    assert seam.applied == []  # no paper reached the parts as a paper
    assert seam.ranges == [(before, head)]
    assert live.state.change == head
    assert part.count == len(papers)
    assert all(_nearest(part, _vector(p)) == p.key for p in papers)
    assert live.index.search("protein folding").cards[0].paper.key == papers[3].key

    # The next process finds it all applied, vectors included.
    again, reopened, _ = _indexed(db, tmp_path)
    assert again.pending(db.uow) == 0 and reopened.count == len(papers)
    assert _nearest(reopened, _vector(papers[1])) == papers[1].key


def test_a_paper_edited_and_re_embedded_in_one_range_is_indexed_again_in_both(
    db: Database, tmp_path: Path
) -> None:
    papers = _store(db)
    embed_pending(db.uow, CountingEncoder())
    live, part, seam = _indexed(db, tmp_path)
    assert part.count == len(papers)
    edited = _rewrite(db, papers[1].key, "Message passing over quokka burrow networks.")
    assert embed_pending(db.uow, CountingEncoder()).embedded == 1
    stamp, before = _opstamp(live), live.state.change
    assert live.catch_up(db.uow) == 1  # through the papers only: not applied twice
    assert _opstamp(live) > stamp  # tantivy has the new abstract
    assert [c.paper.key for c in live.index.search("quokka burrow").cards] == [edited.key]
    assert seam.applied == [edited.key] and seam.ranges == [(before, _head(db))]
    assert part.count == len(papers)
    assert _nearest(part, _vector(edited)) == edited.key  # the new vector, not hidden
    assert part.index is not None
    np.testing.assert_allclose(part.index.vector(edited.key), _vector(edited), atol=0.02)


def test_a_vector_of_an_older_text_stays_out(db: Database, tmp_path: Path) -> None:
    papers = _store(db)
    embed_pending(db.uow, CountingEncoder())
    live, part, _ = _indexed(db, tmp_path)
    old = papers[2]
    _rewrite(db, old.key, "A rewritten abstract.")
    live.catch_up(db.uow)
    assert part.index is not None and old.key not in part.index  # its vector is stale
    # An embedder that read the old text before the edit stores its vector after it.
    with db.uow() as uow:
        uow.vectors.put_many(MODEL, [PaperVector(old.key, fingerprint(text_of(old)), _vector(old))])
    stamp = _opstamp(live)
    assert live.catch_up(db.uow) == 1
    assert old.key not in part.index and part.count == len(papers) - 1
    assert _opstamp(live) == stamp


WORKER = textwrap.dedent(
    f"""
    import sys
    from bot.search.live import LiveIndex
    from bot.search.store import IndexHome
    from bot.search.vector_part import VectorPart
    from storage.db import Database

    url, home, action = sys.argv[1:4]
    db = Database(url)
    part = VectorPart({MODEL!r}, {DIMS}, db.uow)
    LiveIndex.open(IndexHome(home), db.uow, parts=[part]).catch_up(db.uow)
    """
)


@pytest.mark.parametrize("point", ["vectors-delta-before-description", "index-before-state"])
def test_a_kill_between_the_vector_part_and_the_state_loses_no_vector(
    db: Database, tmp_path: Path, point: str
) -> None:
    papers = _store(db)
    home = IndexHome(tmp_path / "index")
    before = LiveIndex.open(home, db.uow, parts=[VectorPart(MODEL, DIMS, db.uow)]).state
    embed_pending(db.uow, CountingEncoder())
    _kill_at(point, db.url, home.root, "catch-up", worker=WORKER)
    assert IndexHome.read_state(home.current() or home.root) == before
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(home, db.uow, parts=[part])
    stamp = _opstamp(live)
    assert live.catch_up(db.uow) == len(papers)  # the whole range again, idempotently
    assert _opstamp(live) == stamp
    assert part.count == len(papers)
    assert all(_nearest(part, _vector(p)) == p.key for p in papers)
