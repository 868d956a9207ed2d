"""Persisted search indexes: reopened with only the changed papers added, never stale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import PaperRecord
from bot.search.engine import PaperIndex
from bot.search.live import LiveIndex
from bot.search.store import STATE_FILE, IndexHome
from storage.db import Database


def load_index(uow, directory: str) -> tuple[PaperIndex, int]:  # type: ignore[no-untyped-def]
    """The persisted index in `directory`, opened and caught up as a process would."""
    live = LiveIndex.open(IndexHome(directory), uow)
    live.try_catch_up(uow)
    return live.index, live.state.change


def add(db: Database, title: str, at: datetime) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title=title, source="test")], seen_at=at)


def titles(index, query: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [c.paper.title for c in index.search(query, limit=5).cards]


def test_snapshot_is_reopened_and_caught_up(sqlite_db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "index"
    add(sqlite_db, "Speech separation for the cocktail party", datetime.now(UTC))
    first, covered = load_index(sqlite_db.uow, str(directory))
    assert len(first) == 1 and (first.directory / STATE_FILE).is_file()
    del first  # releases the snapshot's writer, as a stopped bot would
    add(sqlite_db, "Graph neural networks for molecules", datetime.now(UTC) + timedelta(seconds=1))
    second, covered_again = load_index(sqlite_db.uow, str(directory))
    assert covered_again > covered
    assert len(second) == 2
    assert titles(second, "graph molecules") == ["Graph neural networks for molecules"]


def test_a_busy_snapshot_is_searched_as_it_is(sqlite_db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "index"
    add(sqlite_db, "Diffusion models for audio", datetime.now(UTC))
    owner, _ = load_index(sqlite_db.uow, str(directory))
    owner.add([])  # a running bot that already holds the writer lock
    add(sqlite_db, "Sparse mixture of experts", datetime.now(UTC) + timedelta(seconds=1))
    owner.add(list(_all(sqlite_db)))
    reader, _ = load_index(sqlite_db.uow, str(directory))
    assert "Diffusion models for audio" in titles(reader, "diffusion audio")


def _all(db: Database):  # type: ignore[no-untyped-def]
    with db.uow() as uow:
        return list(uow.papers.iter_all())


def test_a_broken_marker_rebuilds(sqlite_db: Database, tmp_path: Path) -> None:
    directory = tmp_path / "index"
    add(sqlite_db, "Vision transformers", datetime.now(UTC))
    first, _ = load_index(sqlite_db.uow, str(directory))
    del first
    live = IndexHome(directory).current()
    assert live is not None
    (live / STATE_FILE).write_text("not a state", encoding="utf-8")
    rebuilt, _ = load_index(sqlite_db.uow, str(directory))
    assert len(rebuilt) == 1


@pytest.fixture(autouse=True)
def _collect() -> None:
    import gc

    gc.collect()
