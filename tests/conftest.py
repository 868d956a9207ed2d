"""Shared test fixtures: paths to ../shared, and migrated databases on SQLite and PostgreSQL.

PostgreSQL tests get a schema of their own (via `search_path` in the URL), so test runs,
and the subprocesses they start, never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from bot.testing.fakes import FakeDatabase
from storage.db import Database

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("PAPERS_SHARED_DIR", REPO.parent / "shared"))
SEEDS = REPO / "seeds"
FIXTURES = SHARED / "fixtures"
CORPUS = SHARED / "corpus" / "papers.jsonl.gz"
POSTGRES_URL = os.environ.get(
    "PAPERS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def _postgres_unreachable_reason() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(sa.text("select 1"))
        engine.dispose()
    except sa.exc.OperationalError as exc:
        first = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        return f"PostgreSQL at {POSTGRES_URL} is unreachable: {first}"
    return None


_PG_SKIP: list[str | None] = []


def postgres_skip_reason() -> str | None:
    if not _PG_SKIP:
        _PG_SKIP.append(_postgres_unreachable_reason())
    return _PG_SKIP[0]


@pytest.fixture
def shared_dir() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"../shared not found at {SHARED}; set PAPERS_SHARED_DIR")
    return SHARED


@pytest.fixture
def fixtures_dir(shared_dir: Path) -> Path:
    return shared_dir / "fixtures"


@pytest.fixture
def seeds_dir() -> Path:
    return SEEDS


def make_postgres_url() -> Iterator[str]:
    """A URL whose connections live in a fresh schema, dropped afterwards."""
    reason = postgres_skip_reason()
    if reason:
        pytest.skip(reason)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from make_postgres_url()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'papers.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Runs the test once on SQLite and once on PostgreSQL (skipped if unreachable)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'papers.db'}"
    else:
        yield from make_postgres_url()


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_or_fake(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database | FakeDatabase]:
    """`bot.testing.fakes.FakeDatabase`, then a migrated database on SQLite and PostgreSQL.

    For tests of the core (which must pass on the fakes) and for tests proving that the
    fakes behave like the real repositories.
    """
    if request.param == "fake":
        yield FakeDatabase()
        return
    urls = (
        make_postgres_url()
        if request.param == "postgresql"
        else iter([f"sqlite:///{tmp_path / 'papers.db'}"])
    )
    for url in urls:
        database = Database(url)
        database.upgrade()
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    yield from _upgraded(database_url)


def _upgraded(url: str) -> Iterator[Database]:
    database = Database(url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def sqlite_db(sqlite_url: str) -> Iterator[Database]:
    yield from _upgraded(sqlite_url)


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """A migrated PostgreSQL database of its own, for tests that need PostgreSQL's locks."""
    yield from _upgraded(postgres_url)
