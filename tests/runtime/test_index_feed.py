"""When `ingest file` builds the index alongside (runtime/index_feed.py), and when it
leaves it to the catch-up after its writes; a stopped feeder publishes nothing.

The feeder's kill -9 cases are in tests/bot/search/test_crash_safety.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.models import PaperRecord
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from runtime import dense
from runtime.index_feed import ALONGSIDE_MIN_BYTES, IndexFeeder, start_feeder
from storage.db import Database

BIG = ALONGSIDE_MIN_BYTES


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> IndexHome:
    monkeypatch.setenv("PAPERS_SEARCH_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("PAPERS_SEMANTIC", "0")
    return IndexHome(tmp_path / "index")


def test_a_feeder_only_when_the_index_would_be_built_from_scratch(
    sqlite_db: Database, home: IndexHome, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert start_feeder(sqlite_db, BIG - 1, embed=False) is None  # a small input
    monkeypatch.setattr(dense, "semantic_available", lambda: True)
    assert start_feeder(sqlite_db, BIG, embed=True) is None  # the index is built after the vectors
    monkeypatch.setattr(dense, "semantic_available", lambda: False)
    feeder = start_feeder(sqlite_db, BIG, embed=True)  # no extra: nothing is embedded
    assert isinstance(feeder, IndexFeeder)
    feeder.stop()  # the ingest failed: the feeder publishes nothing
    assert home.current() is None and not list(home.root.glob("*.building"))
    with sqlite_db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title="Protein folding", source="t")], seen_at=datetime.now(UTC)
        )
    LiveIndex.open(home, sqlite_db.uow)
    assert start_feeder(sqlite_db, BIG, embed=False) is None  # a usable index: catch up


def test_a_finished_feeder_publishes_what_the_database_holds(
    sqlite_db: Database, home: IndexHome
) -> None:
    feeder = start_feeder(sqlite_db, BIG, embed=False)
    assert feeder is not None
    with sqlite_db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=f"Paper {n}", source="t") for n in range(50)],
            seen_at=datetime.now(UTC),
        )
    assert feeder.finish()
    generation = home.current()
    assert generation is not None
    with sqlite_db.uow() as uow:
        assert home.read_state(generation).change == uow.papers.last_change()
    assert len(LiveIndex.open(home, sqlite_db.uow).index) == 50
