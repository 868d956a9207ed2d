"""The vector index as a part of the index generation: built from the stored vectors at a
rebuild, extended by catch-up when papers are embedded later, stale vectors dropped, and a
generation of another model rebuilt. Runs on SQLite and PostgreSQL; vectors are synthetic
(the encoder is tested in test_embedding.py and end to end in test_semantic_wiring.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.models import Paper, PaperRecord
from bot.search.embedder import fingerprint, text_of
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from bot.search.vector_part import HybridNeighbours, VectorPart, dense_search
from bot.search.vector_ports import PaperVector
from storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MODEL = "test-model@1"
DIMS = 8
TITLES = [
    "Speech separation for the cocktail party",
    "Graph neural networks for molecules",
    "Speaker diarization with end-to-end neural networks",
    "Protein folding with attention",
]


def _unit(seed: int) -> NDArray[np.float32]:
    vector = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _store(db: Database, titles: list[str]) -> list[Paper]:
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title=t, source="t") for t in titles], seen_at=NOW)
    with db.uow() as uow:
        return sorted(uow.papers.iter_all(), key=lambda p: p.key)


def _embed(db: Database, papers: list[Paper], model: str = MODEL) -> None:
    rows = [PaperVector(p.key, fingerprint(text_of(p)), _unit(p.key)) for p in papers]
    with db.uow() as uow:
        uow.vectors.put_many(model, rows)


def _nearest(part: VectorPart, key: int) -> int:
    assert part.index is not None
    return part.index.search(_unit(key), 1)[0][0]


def test_a_rebuild_indexes_the_stored_vectors(db: Database, tmp_path: Path) -> None:
    papers = _store(db, TITLES)
    _embed(db, papers[:3])  # the last paper has no vector yet
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.rebuild(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    assert (live.index.directory / "vectors" / "vectors.usearch").is_file()
    assert part.count == 3
    assert all(_nearest(part, p.key) == p.key for p in papers[:3])
    assert part.index is not None and papers[3].key not in part.index

    # Another process opens the generation: only the description file is read at open.
    reader = VectorPart(MODEL, DIMS)
    reader.open(live.index.directory / "vectors")
    assert reader.count == 3 and _nearest(reader, papers[0].key) == papers[0].key


def test_a_build_without_stored_vectors_reads_no_paper(db: Database, tmp_path: Path) -> None:
    _store(db, TITLES)
    _embed(db, _store(db, TITLES), model="other-model@1")  # another model's only

    def unread() -> Iterator[Paper]:
        raise AssertionError("the papers were read")
        yield  # a generator

    part = VectorPart(MODEL, DIMS, db.uow)
    (tmp_path / "vectors").mkdir()
    part.build(tmp_path / "vectors", unread())
    part.open(tmp_path / "vectors")
    assert part.count == 0 and part.index is None


def test_catch_up_adds_vectors_embedded_after_the_papers(db: Database, tmp_path: Path) -> None:
    papers = _store(db, TITLES)
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    assert part.count == 0 and part.index is None
    _embed(db, papers)  # after the index applied the papers: they are re-stamped
    assert live.pending(db.uow) > 0
    live.catch_up(db.uow)
    assert part.count == len(papers)
    assert _nearest(part, papers[2].key) == papers[2].key
    # Reopened from disk, as the next process would.
    again = VectorPart(MODEL, DIMS, db.uow)
    again.open(live.index.directory / "vectors")
    assert again.count == len(papers)


def test_a_changed_text_drops_the_stale_vector_until_re_embedded(
    db: Database, tmp_path: Path
) -> None:
    papers = _store(db, TITLES[:2])
    _embed(db, papers)
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    assert part.count == 2
    with db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=TITLES[0], source="t", abstract="A new abstract.")], seen_at=NOW
        )
    live.catch_up(db.uow)
    assert part.index is not None and papers[0].key not in part.index
    with db.uow() as uow:
        changed = uow.papers.get_many([papers[0].key])
    _embed(db, changed)
    live.catch_up(db.uow)
    assert part.index is not None and papers[0].key in part.index


def test_a_generation_of_another_model_is_rebuilt(db: Database, tmp_path: Path) -> None:
    papers = _store(db, TITLES)
    _embed(db, papers, model="old-model@1")
    _embed(db, papers)
    home = IndexHome(tmp_path / "index")
    old = LiveIndex.open(home, db.uow, parts=[VectorPart("old-model@1", DIMS, db.uow)])
    generation = old.generation
    del old
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(home, db.uow, parts=[part])
    assert live.generation != generation
    assert part.count == len(papers)


class _Encoder:
    """Maps a text to the vector of the paper with that title (as if it were a paraphrase)."""

    model_id, model_version, dimensions = "test-model", "1", DIMS

    def __init__(self, papers: list[Paper]) -> None:
        self.by_title = {p.title: p.key for p in papers}

    def encode(self, texts: list[str]) -> NDArray[np.float32]:
        return np.vstack([_unit(self.by_title[t]) for t in texts])


def test_dense_search_and_hybrid_neighbours(db: Database, tmp_path: Path) -> None:
    papers = _store(db, TITLES)
    _embed(db, papers[:3])
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    search = dense_search(part, lambda: _Encoder(papers))
    assert search(TITLES[1], 2)[0][0] == papers[1].key
    # The lexical candidates get their cosines too; a paper without a vector is left out.
    pairs = search(TITLES[1], 1, [papers[1].key, papers[2].key, papers[3].key])
    assert [key for key, _ in pairs] == [papers[1].key, papers[2].key]

    neighbours = HybridNeighbours(live.index, part)
    found = [key for key, _ in neighbours.neighbours(papers[0].key, 3)]
    assert papers[0].key not in found
    # Every other embedded paper is a dense neighbour, whatever the lexical side says.
    assert {papers[1].key, papers[2].key} <= set(found)
    # A paper without a vector gets the lexical neighbours alone.
    last = papers[3].key
    assert neighbours.neighbours(last, 3) == live.index.neighbours(last, 3)
