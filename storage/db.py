"""Engines, sessions and migrations; `Database.uow()` opens a unit of work.

`Database` owns the engine. SQLite gets WAL mode, a busy timeout and foreign keys, so a
bot process and CLI ingests can share the file (ingest holds the write lock one short
batch at a time: bot.ingest.runs); PostgreSQL gets pre-ping and a pool.
"""

from __future__ import annotations

import fcntl
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from storage.dialect import SqlDialect, dialect_for
from storage.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    # alembic is imported by the methods that migrate: a process that only reads (or
    # stops at a configuration error) never pays for it.
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Arbitrary constant that identifies "papers-bot schema migration" among advisory locks.
MIGRATION_LOCK_KEY = 0x70617065727362


@cache
def head_revisions() -> frozenset[str]:
    """The heads of the migration graph, read from the version files' own assignments.

    Lets `upgrade` see that a database is already current without importing alembic,
    which is most of a cold start of `serve` (tests/storage/test_migration_heads.py checks
    this agrees with alembic's own graph).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS_DIR / "versions").glob("[!_]*.py"):
        source = path.read_text(encoding="utf-8")
        revision = re.search(r'^revision(?:: [^=]+)? = "([^"]+)"', source, re.M)
        down = re.search(r"^down_revision(?:: [^=]+)? = (.+)$", source, re.M)
        if revision is None or down is None:
            raise ValueError(f"{path.name}: no revision/down_revision assignment")
        revisions.add(revision.group(1))
        parents.update(re.findall(r'"([^"]+)"', down.group(1)))
    return frozenset(revisions - parents)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.drivername == "postgresql":
        # Plain postgresql:// would pick psycopg2, which we do not ship.
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)


class StorageAccessError(Exception):
    """The process may not write where the database lives; the message says what to fix."""


def _access_error(path: str, exc: OSError) -> StorageAccessError:
    directory = os.path.dirname(os.path.abspath(path))
    uid, gid = os.getuid(), os.getgid()
    return StorageAccessError(
        f"cannot create {path} ({exc.strerror}): the directory {directory} must exist and be "
        f"writable by uid {uid} gid {gid}, the user papers-bot runs as "
        f"(e.g. chown {uid}:{gid} {directory}), or set DATABASE_URL elsewhere"
    )


@contextmanager
def _sqlite_migration_lock(database: str | None) -> Iterator[None]:
    """An exclusive file lock beside the SQLite file, held while migrating.

    SQLite DDL under alembic is not atomic across processes, so two `serve` processes
    starting together could both try to create the same table.
    """
    if not database or database == ":memory:":
        yield
        return
    lock_path = f"{database}.migrate-lock"
    try:
        handle = open(lock_path, "a+b")  # noqa: SIM115 - closed by the with block below
    except OSError as exc:
        # A root-owned volume (/data) is the usual cause: say which path needs which owner.
        raise _access_error(lock_path, exc) from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_db_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Chosen once: the repositories ask it for every backend-specific statement.
        self.sql_dialect: SqlDialect = dialect_for(self.engine.dialect)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.sql_dialect)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions() as session, session.begin():
            yield session

    def alembic_config(self) -> Config:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
        cfg.attributes["engine"] = self.engine
        return cfg

    def revisions(self) -> tuple[str, ...]:
        """The schema's current alembic revisions; empty for a database never migrated."""
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))

    @property
    def location(self) -> str:
        """Where the database is, for messages: the SQLite path or the URL without password."""
        if self.dialect == "sqlite":
            return self.engine.url.database or ":memory:"
        return self.engine.url.render_as_string(hide_password=True)

    def upgrade(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Bring the schema to the newest revision of every migration branch.

        Returns the revisions before and after (before is empty for a new database).
        On PostgreSQL an advisory lock serialises replicas that start at the same moment,
        so two of them never run the same migration concurrently.
        """
        stored = self._stored_revisions()
        if stored and set(stored) == head_revisions():
            return stored, stored  # current: no lock, no alembic import
        from alembic import command

        if self.dialect == "sqlite":
            with _sqlite_migration_lock(self.engine.url.database):
                before = self.revisions()
                command.upgrade(self.alembic_config(), "heads")
                return before, self.revisions()
        with self.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                before = self.revisions()
                command.upgrade(self.alembic_config(), "heads")
                return before, self.revisions()
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
                conn.commit()

    def _stored_revisions(self) -> tuple[str, ...]:
        """The revisions in `alembic_version`, by plain SQL; empty when there is none yet."""
        try:
            with self.engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:
            return ()  # no such table: a new database
        return tuple(sorted(str(row[0]) for row in rows))

    def is_current(self) -> bool:
        return inspect(self.engine).has_table("alembic_version")

    def ping(self) -> None:
        """One round trip (`SELECT 1`); raises when the database does not answer."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def dispose(self) -> None:
        self.engine.dispose()
