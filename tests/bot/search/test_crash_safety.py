"""kill -9 at three points (mid-ingest, mid-index-update, mid-rebuild): afterwards the
database and the index agree, with nothing lost and nothing duplicated.

Each victim is a subprocess frozen at a named pause point (`bot.crashpoints`), then
SIGKILLed; the test then opens the index as the next process would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.crashpoints import ENV
from bot.ingest.runs import BATCH
from bot.models import PaperRecord
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from runtime.index_feed import ALONGSIDE_MIN_BYTES
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


def _kill_at(point: str, url: str, home: Path, action: str, worker: str = WORKER) -> None:
    """Run `worker` with (url, home, action) until it pauses at `point`, then SIGKILL it."""
    env = {**os.environ, ENV: point}
    victim = subprocess.Popen(
        [sys.executable, "-c", worker, url, str(home), action],
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


# kill -9 while the index is built alongside an ingest (runtime/index_feed.py): a file
# large enough to be staged in batches and to start the feeder process.
FILE_PAPERS = BATCH + 1500


def _big_file(path: Path) -> Path:
    words = [
        "speech",
        "graph",
        "protein",
        "molecule",
        "robot",
        "policy",
        "diffusion",
        "token",
        "kernel",
        "sparse",
    ]
    with path.open("w", encoding="utf-8") as out:
        for n in range(FILE_PAPERS):
            title = f"{words[n % 10].title()} study {n} of {words[n * 7 % 10]} {words[n % 3]}"
            abstract = " ".join(words[(n + i) % 10] for i in range(80))
            row = {"id": f"2501.{n:05d}", "title": title, "abstract": abstract, "source": "t"}
            out.write(json.dumps(row) + "\n")
    assert path.stat().st_size >= ALONGSIDE_MIN_BYTES
    return path


def _ingest(db: Database, home: IndexHome, path: Path, pause: str = "") -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERS_", "DATABASE_URL"))}
    env.update(
        DATABASE_URL=db.url,
        PAPERS_SEARCH_INDEX_DIR=str(home.root),
        PAPERS_SEMANTIC="0",
        PAPERS_LOG_FORMAT="text",
        **({ENV: pause} if pause else {}),
    )
    command = [sys.executable, "-m", "runtime.cli.main", "ingest", "file", "--no-embed", str(path)]
    return subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)


def _paused(process: subprocess.Popen[str], point: str) -> None:
    """Wait until a process (or its feeder: same stderr) says it is frozen at `point`."""
    assert process.stderr is not None
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.strip() == f"paused at {point}":
            return
    raise AssertionError(f"never paused at {point}: {''.join(seen)}")


def _building(home: IndexHome, *, present: bool) -> bool:
    """Whether an unpublished generation is (or is not) there within a few seconds."""
    for _ in range(400):
        if bool(list(home.root.glob("*.building"))) == present:
            return True
        time.sleep(0.05)
    return False


def test_kill_mid_ingest_while_the_index_is_built_alongside(
    db: Database, home: IndexHome, tmp_path: Path
) -> None:
    path = _big_file(tmp_path / "papers.jsonl")
    victim = _ingest(db, home, path, pause="ingest-batch-applied")
    try:
        _paused(victim, "ingest-batch-applied")  # one batch committed, the file sealed
        assert _building(home, present=True)  # the feeder is building its generation
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    # The orphaned feeder sees the ingest gone and drops its generation, unpublished.
    assert _building(home, present=False)
    assert home.current() is None
    _agree(db, home)  # the batch applied so far, rebuilt from the database
    # The next ingest rolls the sealed file forward and the index follows it.
    again = _ingest(db, home, path)
    assert again.wait(timeout=120) == 0
    live = _agree(db, home)
    assert len(live.index) == FILE_PAPERS


def test_kill_the_feeder_before_it_publishes(db: Database, home: IndexHome, tmp_path: Path) -> None:
    path = _big_file(tmp_path / "papers.jsonl")
    ingest = _ingest(db, home, path, pause="feed-before-publish")
    try:
        _paused(ingest, "feed-before-publish")  # the database has every paper
        (building,) = home.root.glob("*.building")
        os.kill(int(building.name.removesuffix(".building").rsplit("-", 1)[-1]), signal.SIGKILL)
        # The ingest builds the index itself, as before the feeder existed.
        assert ingest.wait(timeout=120) == 0
    finally:
        ingest.kill()
        ingest.wait()
    live = _agree(db, home)
    assert len(live.index) == FILE_PAPERS
    assert not list(home.root.glob("*.building"))  # the dead feeder's leftovers are gone
