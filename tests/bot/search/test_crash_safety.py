"""kill -9 at three points (mid-ingest, mid-index-update, mid-rebuild): afterwards the
database and the index agree, with nothing lost and nothing duplicated.

Each victim is a subprocess frozen at a named pause point (`bot.crashpoints`), then
SIGKILLed; the test then opens the index as the next process would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.crashpoints import ENV
from bot.models import PaperRecord
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

WORKER = textwrap.dedent(
    """
    import sys
    from datetime import UTC, datetime
    from bot.models import PaperRecord
    from bot.search.live import LiveIndex
    from bot.search.store import IndexHome
    from storage.db import Database

    url, home, action = sys.argv[1:4]
    db = Database(url)
    if action == "ingest":
        with db.uow() as uow:
            uow.papers.upsert_many(
                [PaperRecord(title="Lost in a crash", source="t")], seen_at=datetime.now(UTC)
            )
    elif action == "catch-up":
        LiveIndex.open(IndexHome(home), db.uow).catch_up(db.uow)
    elif action == "rebuild":
        LiveIndex.rebuild(IndexHome(home), db.uow)
    """
)


def _kill_at(point: str, url: str, home: Path, action: str) -> None:
    env = {**os.environ, ENV: point}
    victim = subprocess.Popen(
        [sys.executable, "-c", WORKER, url, str(home), action],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert victim.stderr is not None
    line = victim.stderr.readline()
    try:
        assert line.strip() == f"paused at {point}", line + victim.stderr.read()
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()


def _store(db: Database, *titles: str) -> None:
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title=t, source="t") for t in titles], seen_at=NOW)


def _agree(db: Database, home: IndexHome) -> LiveIndex:
    live = LiveIndex.open(home, db.uow)
    live.catch_up(db.uow)
    with db.uow() as uow:
        keys = {paper.key for paper in uow.papers.iter_all()}
    assert sorted(live.index) == sorted(keys)  # the same papers, none twice
    assert len(live.index) == len(keys)
    return live


@pytest.fixture
def home(tmp_path: Path) -> IndexHome:
    return IndexHome(tmp_path / "papers-bot.index")


def test_kill_mid_ingest(db: Database, home: IndexHome) -> None:
    _store(db, "Speech separation for the cocktail party")
    LiveIndex.open(home, db.uow)
    _kill_at("ingest-before-commit", db.url, home.root, "ingest")
    live = _agree(db, home)
    assert live.index.search("lost crash").cards == ()


def test_kill_mid_index_update(db: Database, home: IndexHome) -> None:
    _store(db, "Speech separation for the cocktail party")
    before = LiveIndex.open(home, db.uow).state
    _store(db, "Graph neural networks for molecules", "Protein folding with transformers")
    _kill_at("index-before-state", db.url, home.root, "catch-up")
    # tantivy committed, the state did not: the changes are applied again, idempotently.
    assert IndexHome.read_state(home.current() or home.root) == before
    live = _agree(db, home)
    assert len(live.index) == 3


def test_kill_mid_rebuild(db: Database, home: IndexHome) -> None:
    _store(db, "Speech separation for the cocktail party")
    generation = LiveIndex.open(home, db.uow).generation
    _store(db, "Graph neural networks for molecules")
    _kill_at("rebuild-before-publish", db.url, home.root, "rebuild")
    assert (home.current() or home.root).name == generation  # the old index stays live
    live = _agree(db, home)
    assert live.generation == generation
    LiveIndex.rebuild(home, db.uow)  # the next rebuild clears the dead one's leftovers
    assert not list(home.root.glob("*.building"))
