"""A generation built while the database is written (`bot.search.feed`) holds what a
rebuild of the same database holds: every key once, each as last written, merged-away keys
gone; nothing is live until it is published.

Runs on SQLite and PostgreSQL: the change numbers live in the database.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.models import Paper, PaperRecord
from bot.search.engine import PaperIndex
from bot.search.feed import GenerationFeed, usable
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from storage.db import Database
from tests.bot.search.test_live_index import KeyLog

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def _store(db: Database, *records: PaperRecord) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many(list(records), seen_at=NOW)


def _documents(index: PaperIndex) -> dict[int, Paper]:
    """Every stored paper of the index, read back from tantivy's doc store."""
    found = {}
    for key in index:
        hit = index._hit_for(key)
        assert hit is not None
        found[key] = index._paper_at((0.0, hit))
    return found


def test_a_feed_across_writes_ends_as_a_rebuild(db: Database, tmp_path: Path) -> None:
    _store(db, PaperRecord(title="Speech separation for the cocktail party", source="t"))
    home = IndexHome(tmp_path / "index")
    feed = GenerationFeed(home, db.uow, [KeyLog()])
    assert feed.feed() == 1  # the rows already there
    assert feed.feed() == 0  # nothing new
    # An ingest's later batches: new papers, an update of a fed paper, and a title-only
    # row merged into the row that brings its arXiv id (a tombstone).
    _store(
        db,
        PaperRecord(title="Zebrafish acoustics with spiking networks", source="a", paper_id="1"),
        PaperRecord(title="Zebrafish Acoustics with Spiking Neural Networks", source="h"),
    )
    feed.feed()
    _store(
        db,
        PaperRecord(
            title="Speech separation for the cocktail party",
            source="t",
            abstract="Separating overlapping speakers.",
        ),
        PaperRecord(
            title="Zebrafish Acoustics with Spiking Neural Networks", source="j", paper_id="1"
        ),
        PaperRecord(title="Graph neural networks for molecules", source="t"),
    )
    assert home.current() is None  # nothing is live before the feed publishes
    live = feed.finish()  # feeds the last batch itself
    with db.uow() as uow:
        assert live.state.change == uow.papers.last_change()
        keys = {paper.key for paper in uow.papers.iter_all()}
    assert home.current() == live.index.directory
    assert set(live.index) == keys and len(live.index) == len(keys) == 3
    rebuilt = LiveIndex.rebuild(IndexHome(tmp_path / "rebuilt"), db.uow)
    assert _documents(live.index) == _documents(rebuilt.index)
    for query in ("cocktail party", "overlapping speakers", "zebrafish spiking", "molecules"):
        assert live.index.search(query).cards == rebuilt.index.search(query).cards
    assert live.parts[0].keys() == keys  # type: ignore[attr-defined]
    assert live.catch_up(db.uow) == 0
    assert not list(home.root.glob("*.building"))


def test_usable_says_when_an_ingest_would_rebuild(db: Database, tmp_path: Path) -> None:
    home = IndexHome(tmp_path / "index")
    assert not usable(home, db.uow)  # no index yet
    _store(db, PaperRecord(title="Protein folding with transformers", source="t"))
    LiveIndex.open(home, db.uow)
    assert usable(home, db.uow)
    assert not usable(home, db.uow, [KeyLog()])  # a part it lacks: rebuilt at open
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other.upgrade()
    try:
        assert not usable(home, other.uow)  # built from another database
    finally:
        other.dispose()


def test_an_abandoned_feed_leaves_the_live_index_alone(db: Database, tmp_path: Path) -> None:
    _store(db, PaperRecord(title="Protein folding with transformers", source="t"))
    home = IndexHome(tmp_path / "index")
    generation = LiveIndex.open(home, db.uow).generation
    feed = GenerationFeed(home, db.uow)
    feed.feed()
    feed.abandon()
    assert (home.current() or home.root).name == generation
    assert not list(home.root.glob("*.building"))
