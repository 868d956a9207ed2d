"""Issue 16 (8): two overlapping 100k-paper ingests and a `/papers subscribe` at once.

Both ingests run as `papers-bot ingest file` subprocesses on one database (SQLite and
PostgreSQL), overlapping in 61,917 papers whose second versions differ (another source,
no abstract, an earlier date, one more author). While they write, the served bot's
command core answers a subscribe. All succeed, the papers equal a sequential run of the
same files, and the on-disk index, once caught up by change number, holds exactly the
database's papers.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.ingest.service import ingest_file
from bot.models import CommandRequest, Platform
from bot.search.live import LiveIndex
from bot.search.store import IndexHome
from storage.db import Database
from tests.conftest import CORPUS, make_postgres_url
from tests.runtime.cli.helpers import bot_environment

pytestmark = pytest.mark.slow

SIZE = 100_000
OVERLAP_START = 38_083  # the corpus has 138,083 papers: the files share 61,917
CLI = str(Path(sys.executable).parent / "papers-bot")
# Columns that say what a paper is; keys, timestamps and change numbers depend on timing.
COLUMNS = (
    "paper_id, title_key, title, abstract, authors, author_count, published, upvotes, "
    "comments, urls, github_repo, organization, keywords, categories, ai_summary, sources"
)


def _variant(line: bytes, n: int) -> bytes:
    """The second file's version of an overlapping paper: differs in one field or two."""
    data = json.loads(line)
    kind = n % 4
    if kind == 0:
        data["source"] = "mirror"
    elif kind == 1:
        data.pop("abstract", None)  # never erases the first file's abstract
    elif kind == 2:
        data["published"] = "1999-01-01"  # the earlier date wins
        data["authors"] = [*data.get("authors", []), "Extra Author"]
    return json.dumps(data).encode()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    directory = tmp_path_factory.mktemp("overlap")
    lines = gzip.decompress(CORPUS.read_bytes()).splitlines()
    first = directory / "first.jsonl"
    second = directory / "second.jsonl"
    first.write_bytes(b"\n".join(lines[:SIZE]) + b"\n")
    second_lines = [
        _variant(line, n) if n < SIZE else line
        for n, line in enumerate(lines[OVERLAP_START : OVERLAP_START + SIZE], OVERLAP_START)
    ]
    second.write_bytes(b"\n".join(second_lines) + b"\n")
    return first, second


def _dump(db: Database) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT {COLUMNS} FROM papers")).all()
    table = sa.Table("papers", sa.MetaData(), autoload_with=db.engine)
    json_columns = [c.name for c in table.columns if isinstance(c.type, sa.JSON)]
    names = [c.strip() for c in COLUMNS.split(",")]

    def canonical(row: sa.Row[Any]) -> tuple[Any, ...]:
        values = []
        for name, value in zip(names, row, strict=True):
            if name in json_columns and isinstance(value, str):
                value = json.loads(value)
            if name == "published" and isinstance(value, str):
                value = date.fromisoformat(value)
            values.append(json.dumps(value, sort_keys=True, default=str))
        return tuple(values)

    return sorted(canonical(row) for row in rows)


@pytest.fixture(scope="module")
def sequential(files: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The reference: the same two files, one after the other, in one process."""
    path = tmp_path_factory.mktemp("sequential") / "papers.db"
    db = Database(f"sqlite:///{path}")
    db.upgrade()
    now = datetime(2026, 11, 30, tzinfo=UTC)
    try:
        for file in files:
            assert ingest_file(db.uow, file, as_of=date(2026, 11, 30), now=now).ok
        return _dump(db)
    finally:
        db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'papers.db'}"
    else:
        yield from make_postgres_url()


class _NoSearch:
    def search(self, *_a: object, **_k: object) -> object:
        raise AssertionError("not used")

    def suggest(self, *_a: object, **_k: object) -> list[tuple[int, str]]:
        return []


def _applying(db: Database) -> bool:
    """An ingest has sealed its file and is applying it in batches."""
    with db.engine.connect() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT count(*) FROM ingest_runs WHERE state = 'ready'")
            ).scalar_one()
        )


def test_overlapping_ingests_and_a_subscribe_all_succeed_and_converge(
    url: str, files: tuple[Path, Path], sequential: Any, tmp_path: Path
) -> None:
    db = Database(url)
    db.upgrade()
    index = tmp_path / "index"
    env = bot_environment(DATABASE_URL=url, PAPERS_SEARCH_INDEX_DIR=str(index))
    try:
        ingests = [
            subprocess.Popen(
                [CLI, "ingest", "file", "--json", str(file)],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for file in files
        ]
        while not _applying(db) and all(p.poll() is None for p in ingests):
            time.sleep(0.2)
        running = [p.poll() is None for p in ingests]
        core = CommandCore(db.uow, _NoSearch(), CoreConfig())  # type: ignore[arg-type]
        request = CommandRequest(
            platform=Platform.SLACK,
            workspace="T1",
            channel="C1",
            user="U1",
            command=parse("subscribe weekly fri 16:00 Europe/Berlin"),
            can_manage=True,
        )
        reply = asyncio.run(core.dispatch(request))
        still = [p.poll() is None for p in ingests]
        outputs = [p.communicate(timeout=1800) for p in ingests]
        for process, (out, err) in zip(ingests, outputs, strict=True):
            assert process.returncode == 0, err
            assert all(item["error"] is None for item in json.loads(out)["files"]), out
        # The subscribe was answered while an ingest was writing, and it went in.
        assert any(running) and any(still), (running, still)
        assert not reply.text.startswith("Sorry"), reply.text
        with db.uow() as uow:
            assert uow.subscriptions.count() == 1

        assert _dump(db) == sequential

        with db.engine.connect() as conn:
            head = conn.execute(sa.text("SELECT value FROM paper_change_counter")).scalar_one()
            top = conn.execute(sa.text("SELECT max(change) FROM papers")).scalar_one()
            left = conn.execute(sa.text("SELECT count(*) FROM ingest_runs")).scalar_one()
        assert top <= head and left == 0
        # Whichever ingest could not take the index's writer said so; the index catches up
        # by change number (as serve's refresh would) to exactly the database's papers.
        live = LiveIndex.open(IndexHome(index), db.uow)
        live.catch_up(db.uow)
        with db.uow() as uow:
            keys = {paper.key for paper in uow.papers.iter_all()}
        assert sorted(live.index) == sorted(keys)
        status = subprocess.run(
            [CLI, "index", "status", "--json"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
        )
        report = json.loads(status.stdout)
        assert report["behind"] == 0, report
        assert report["papers_in_index"] == report["papers_in_database"] == len(sequential)
    finally:
        db.dispose()
