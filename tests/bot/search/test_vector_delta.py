"""The vector part's two layers: a catch-up writes a small delta beside the memory-mapped
main graph (left untouched), removed and merged papers leave the dense results, the delta
folds into the main graph past its limit, and a kill between the delta (or the folded
graph) and the description leaves a generation that reopens in agreement with the
database. SQLite and PostgreSQL; synthetic vectors.
"""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from bot.models import Paper, PaperRecord
from bot.search.embedder import fingerprint, text_of
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from bot.search.vector_part import VectorPart
from bot.search.vector_ports import PaperVector
from storage.db import Database
from tests.bot.search.test_crash_safety import _kill_at

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
MODEL = "test-model@1"
DIMS = 8


def _unit(seed: int) -> NDArray[np.float32]:
    vector = np.random.default_rng(seed).standard_normal(DIMS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def _papers(db: Database) -> list[Paper]:
    with db.uow() as uow:
        return sorted(uow.papers.iter_all(), key=lambda p: p.key)


def _store_and_embed(db: Database, records: list[PaperRecord]) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=NOW)
    papers = _papers(db)
    with db.uow() as uow:
        known = uow.vectors.get_many(MODEL, [p.key for p in papers])
        rows = [
            PaperVector(p.key, fingerprint(text_of(p)), _unit(p.key))
            for p in papers
            if p.key not in known or known[p.key].fingerprint != fingerprint(text_of(p))
        ]
        uow.vectors.put_many(MODEL, rows)


def _titled(*titles: str) -> list[PaperRecord]:
    return [PaperRecord(title=t, source="t") for t in titles]


def _dense_keys(part: VectorPart) -> set[int]:
    """Every key the dense side can return (a search for each stored vector, k = all)."""
    index = part.index
    if index is None:
        return set()
    found: set[int] = set()
    for key in range(1, 64):
        found |= {hit for hit, _ in index.search(_unit(key), 64)}
    return found


def _agrees(db: Database, part: VectorPart) -> None:
    """The dense side holds exactly the papers with a current vector, each nearest itself."""
    papers = _papers(db)
    assert _dense_keys(part) == {p.key for p in papers}
    assert part.count == len(papers)
    index = part.index
    assert index is not None
    for paper in papers:
        assert index.search(_unit(paper.key), 1)[0][0] == paper.key


def _reader(live: LiveIndex) -> VectorPart:
    reader = VectorPart(MODEL, DIMS)
    reader.open(live.index.directory / "vectors")
    return reader


def test_a_catch_up_writes_a_delta_and_leaves_the_main_graph(db: Database, tmp_path: Path) -> None:
    _store_and_embed(db, _titled("Speech separation", "Graph networks", "Protein folding"))
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.rebuild(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    graph = live.index.directory / "vectors" / "vectors.usearch"
    before = graph.stat()
    _store_and_embed(db, _titled("Speaker diarization", "Molecule generation"))
    live.catch_up(db.uow)
    after = graph.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert list((live.index.directory / "vectors").glob("delta-*.usearch"))
    _agrees(db, part)
    _agrees(db, _reader(live))  # another process opening the generation sees both layers


def test_removed_and_merged_papers_leave_the_dense_results(db: Database, tmp_path: Path) -> None:
    _store_and_embed(
        db,
        [
            PaperRecord(
                title="Zebrafish acoustics with spiking networks",
                source="arxiv",
                paper_id="2410.01234",
            ),
            PaperRecord(
                title="Zebrafish Acoustics with Spiking Neural Networks",
                source="hf_page",
                upvotes=3,
            ),
            PaperRecord(title="Protein folding with attention", source="t"),
        ],
    )
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.rebuild(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    assert part.count == 3
    _store_and_embed(
        db,
        [
            PaperRecord(
                title="Zebrafish Acoustics with Spiking Neural Networks",
                source="hf_json",
                paper_id="2410.01234",
            ),
        ],
    )
    live.catch_up(db.uow)
    assert len(_papers(db)) == 2  # one of the pair merged away: hidden from the main graph
    assert part.index is not None and len(part.index.hidden) >= 1
    _agrees(db, part)
    _agrees(db, _reader(live))


def test_the_delta_folds_into_the_main_graph_past_its_limit(db: Database, tmp_path: Path) -> None:
    _store_and_embed(db, _titled("Speech separation", "Graph networks"))
    part = VectorPart(MODEL, DIMS, db.uow, fold_limit=3)
    live = LiveIndex.rebuild(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    directory = live.index.directory / "vectors"
    inode = (directory / "vectors.usearch").stat().st_ino
    _store_and_embed(db, _titled("Speaker diarization"))
    live.catch_up(db.uow)
    assert (directory / "vectors.usearch").stat().st_ino == inode  # 1 in the delta
    _store_and_embed(db, _titled("Molecule generation", "Protein folding", "Robot grasping"))
    live.catch_up(db.uow)
    # Folded into a new main graph file; the old one and the delta are gone.
    graphs = sorted(path.name for path in directory.glob("*.usearch"))
    assert len(graphs) == 1 and graphs[0].startswith("vectors-")
    assert json.loads((directory / "vectors.json").read_text())["main"] == graphs[0]
    index = part.index
    assert index is not None and not index.hidden and len(index.delta) == 0
    _agrees(db, part)
    _agrees(db, _reader(live))


WORKER = textwrap.dedent(
    """
    import sys
    from bot.search.live import LiveIndex
    from bot.search.store import IndexHome
    from bot.search.vector_part import VectorPart
    from storage.db import Database

    url, home, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = Database(url)
    part = VectorPart("test-model@1", 8, db.uow, fold_limit=limit)
    LiveIndex.open(IndexHome(home), db.uow, parts=[part]).catch_up(db.uow)
    """
)


@pytest.mark.parametrize(
    ("point", "limit", "described"),
    [
        # The new delta file written, not described: the generation as rebuilt.
        ("vectors-delta-before-description", 100, (3, None)),
        # Saved with its delta, then killed with the folded graph written, not described.
        ("vectors-fold-before-description", 2, (4, "delta-1.usearch")),
    ],
)
def test_a_kill_while_saving_the_vectors_reopens_in_agreement(
    db: Database, tmp_path: Path, point: str, limit: int, described: tuple[int, str | None]
) -> None:
    home = IndexHome(tmp_path / "index")
    _store_and_embed(db, _titled("Speech separation", "Graph networks", "Protein folding"))
    LiveIndex.rebuild(home, db.uow, parts=[VectorPart(MODEL, DIMS, db.uow)])
    _store_and_embed(db, _titled("Speaker diarization", "Molecule generation"))
    with db.uow() as uow:  # a changed text: its stale vector must go too
        uow.papers.upsert_many(
            [PaperRecord(title="Graph networks", source="t", abstract="Now with an abstract.")],
            seen_at=NOW,
        )
    _kill_at(point, db.url, home.root, str(limit), worker=WORKER)
    (generation,) = [d for d in home.root.iterdir() if (d / "vectors").is_dir()]
    description = json.loads((generation / "vectors" / "vectors.json").read_text())
    assert (description["count"], description.get("delta")) == described
    _store_and_embed(db, [])  # the changed paper gets its new vector
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.open(home, db.uow, parts=[part])
    live.catch_up(db.uow)  # the killed batch is applied again, then the new vector
    _agrees(db, part)
    _agrees(db, _reader(live))


def test_a_paper_re_stamped_with_the_same_vector_stays_in_the_main_graph(
    db: Database, tmp_path: Path
) -> None:
    _store_and_embed(db, _titled("Speech separation", "Graph networks"))
    part = VectorPart(MODEL, DIMS, db.uow)
    live = LiveIndex.rebuild(IndexHome(tmp_path / "index"), db.uow, parts=[part])
    papers = _papers(db)
    with db.uow() as uow:  # upvotes, say: a new change number, the same text and vector
        uow.papers.upsert_many(
            [PaperRecord(title="Speech separation", source="t", upvotes=7)], seen_at=NOW
        )
    assert live.pending(db.uow) > 0
    live.catch_up(db.uow)
    index = part.index
    assert index is not None and len(index.delta) == 0 and not index.hidden
    _agrees(db, part)
    # The comparison relies on usearch's int8 being the truncated 127 * value.
    main = index.main
    assert main is not None
    for paper in papers:
        with db.uow() as uow:
            stored = uow.vectors.get_many(MODEL, [paper.key])[paper.key].vector
        held = main.int8(paper.key)
        assert held is not None and np.array_equal(held, main.quantised(stored))
