"""Issue 16 (8): a file larger than one batch is staged, then applied batch by batch.

Each batch is its own short transaction with its own change number, a file that fails
while parsing leaves nothing (not even staged batches), and a sealed file that a crash
left half applied is finished by the next ingest (roll forward).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.crashpoints import ENV
from bot.ingest import service
from bot.ingest.errors import IngestError
from bot.ingest.runs import WrittenPapers
from bot.ingest.service import ingest_file, resume_runs
from bot.models import PaperRecord
from bot.testing.fakes import FakeDatabase
from storage.db import Database

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 30)


def _lines(n: int, *, start: int = 0) -> list[str]:
    return [
        json.dumps({"id": f"2611.{i:05d}", "title": f"Paper number {i}", "authors": ["A B"]})
        for i in range(start, start + n)
    ]


def _dump(db: Database | FakeDatabase) -> list[tuple[object, ...]]:
    with db.uow() as uow:
        return sorted((p.paper_id, p.title, p.authors, p.sources) for p in uow.papers.iter_all())


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "BATCH", 3)  # the name store() reads


@pytest.mark.usefixtures("small_batches")
def test_each_batch_is_its_own_write_with_its_own_change_number(
    db_or_fake: Database | FakeDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "ten.jsonl"
    path.write_text("\n".join(_lines(10)) + "\n")
    with db_or_fake.uow() as uow:
        start = uow.papers.last_change()
    result = ingest_file(db_or_fake.uow, path, as_of=AS_OF, now=NOW)
    assert (result.records, result.stats.inserted) == (10, 10)
    with db_or_fake.uow() as uow:
        head = uow.papers.last_change()
        # Four batches of at most 3; the last number only finds the run empty.
        assert head - start >= 4
        batches = [
            {p.paper_id for p in uow.papers.changed_between(n - 1, n)}
            for n in range(start + 1, head + 1)
        ]
        assert uow.ingest_runs.ready(stale_before=NOW) == []
    assert [len(b) for b in batches if b] == [3, 3, 3, 1]


@pytest.mark.usefixtures("small_batches")
def test_a_file_failing_after_several_batches_leaves_nothing(
    db_or_fake: Database | FakeDatabase, tmp_path: Path
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join([*_lines(8), "{not json"]) + "\n")
    with pytest.raises(IngestError):
        ingest_file(db_or_fake.uow, path, as_of=AS_OF, now=NOW)
    assert _dump(db_or_fake) == []
    with db_or_fake.uow() as uow:
        assert uow.ingest_runs.ready(stale_before=datetime.now(UTC)) == []


@pytest.mark.usefixtures("small_batches")
def test_a_sealed_run_is_rolled_forward_by_the_next_ingest(
    db_or_fake: Database | FakeDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [PaperRecord(title=f"Rolled forward {i}", source="t") for i in range(7)]
    with db_or_fake.uow() as uow:
        run = uow.ingest_runs.open("crashed.jsonl", seen_at=NOW)
    for seq, start in enumerate(range(0, 7, 3)):
        with db_or_fake.uow() as uow:
            uow.ingest_runs.stage(run, seq, records[start : start + 3])
    with db_or_fake.uow() as uow:
        uow.ingest_runs.seal(run)
    with db_or_fake.uow() as uow:
        # One batch applied, then the process died.
        assert uow.ingest_runs.apply_next(run, WrittenPapers()) is not None
    assert len(_dump(db_or_fake)) == 3
    assert resume_runs(db_or_fake.uow) == []  # its owner (this process) is alive and fresh
    monkeypatch.setattr(service, "STALE_RUN", timedelta(seconds=-1))  # now it is stale
    results = resume_runs(db_or_fake.uow)
    assert [(r.name, r.stats.inserted) for r in results] == [("crashed.jsonl (resumed)", 4)]
    assert len(_dump(db_or_fake)) == 7
    assert resume_runs(db_or_fake.uow) == []


def test_a_stale_unsealed_run_is_dropped(db_or_fake: Database | FakeDatabase) -> None:
    with db_or_fake.uow() as uow:
        run = uow.ingest_runs.open("dead.jsonl", seen_at=NOW)
        uow.ingest_runs.stage(run, 0, [PaperRecord(title="Never sealed", source="t")])
    with db_or_fake.uow() as uow:
        assert uow.ingest_runs.ready(stale_before=datetime(2000, 1, 1, tzinfo=UTC)) == []
    assert resume_runs(db_or_fake.uow) == []  # still fresh: kept for its live process
    with db_or_fake.uow() as uow:
        assert uow.ingest_runs.ready(stale_before=datetime(2999, 1, 1, tzinfo=UTC)) == []
        assert uow.ingest_runs.apply_next(run, WrittenPapers()) is None
    assert _dump(db_or_fake) == []


def test_kill_mid_apply_then_the_next_cli_ingest_finishes_the_file(
    sqlite_url: str, tmp_path: Path
) -> None:
    """A real kill -9 once the file is sealed, inside its first applying transaction:
    the next `papers-bot ingest` (of another file) applies the whole file."""
    path = tmp_path / "big.jsonl"
    path.write_text("\n".join(_lines(service.BATCH + 500)) + "\n")
    db = Database(sqlite_url)
    db.upgrade()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PAPERS_", "DATABASE_URL"))}
    env |= {"DATABASE_URL": sqlite_url, "PAPERS_SEARCH_INDEX_DIR": str(tmp_path / "ix")}
    cli = [str(Path(sys.executable).parent / "papers-bot"), "ingest"]
    victim = subprocess.Popen(
        [*cli, "file", str(path)],
        env={**env, ENV: "ingest-before-commit"},
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert victim.stderr is not None
    line = victim.stderr.readline()
    try:
        assert line.strip() == "paused at ingest-before-commit", line
    finally:
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    with db.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT state FROM ingest_runs")).scalars().all() == ["ready"]
    other = tmp_path / "other.jsonl"
    other.write_text(_lines(1, start=90000)[0] + "\n")
    done = subprocess.run(
        [*cli, "file", str(other)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0 and f"{path} (resumed)" in done.stderr, done.stderr
    with db.uow() as uow:
        assert uow.papers.count() == service.BATCH + 501
    db.dispose()
