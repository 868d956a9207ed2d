"""Worker leases: how a digest runner proves it is alive, and learns that another is not.

A `pending` delivery belongs to the worker that claimed it. Recovery must re-send it only
if that worker is dead, or the same digest is posted twice. Age is a poor proxy (a slow
fan-out to 10,000 channels is not dead), so liveness is exact instead:

- PostgreSQL: each worker holds a session-level advisory lock keyed by its id on a
  dedicated connection. PostgreSQL drops the lock when the connection closes, which the
  kernel does when the process dies, even on `kill -9`. Another worker probes with
  `pg_try_advisory_lock`: if it gets the lock, the owner is gone.
- SQLite (one host by nature): each worker holds an exclusive `flock` on a file in a
  directory beside the database; the kernel releases it when the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from storage.db import Database

log = logging.getLogger(__name__)


def lock_key(worker_id: str) -> int:
    """A stable signed 64-bit key for `pg_advisory_lock`."""
    digest = hashlib.blake2b(f"papers-bot-worker:{worker_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class WorkerLease:
    """Held for as long as a runner may own pending deliveries. Use as a context manager."""

    def __init__(self, db: Database, worker_id: str) -> None:
        self.db = db
        self.worker_id = worker_id
        self._conn: Connection | None = None
        self._file: IO[bytes] | None = None
        self._dir: Path | None = None

    # -- own lease ------------------------------------------------------------------------
    def acquire(self) -> None:
        if self.db.dialect == "postgresql":
            self._conn = self.db.engine.connect()
            self._conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(self.worker_id)})
            # Commit so the connection is not left "idle in transaction"; the lock is
            # session-level and survives it.
            self._conn.commit()
            return
        path = self._path(self.worker_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = path.open("wb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._file = handle

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key(self.worker_id)}
                )
                self._conn.commit()
            finally:
                self._conn.close()
                self._conn = None
        if self._file is not None:
            path = self._path(self.worker_id)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            self._file.close()
            self._file = None

    def __enter__(self) -> Self:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- other workers ----------------------------------------------------------------------
    def is_alive(self, worker_id: str) -> bool:
        """Whether the worker that claimed a row still holds its lease."""
        if worker_id == self.worker_id:
            return True
        if self.db.dialect == "postgresql":
            return self._pg_alive(worker_id)
        return self._file_alive(worker_id)

    def _pg_alive(self, worker_id: str) -> bool:
        key = lock_key(worker_id)
        with self.db.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()
        return not got

    def _file_alive(self, worker_id: str) -> bool:
        path = self._path(worker_id)
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            # No lease file: the worker ended (cleanly or not) and its pending rows are orphans.
            return False
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        log.info("worker %s is gone (lease file unlocked)", worker_id)
        return False

    def _path(self, worker_id: str) -> Path:
        if self._dir is None:
            self._dir = lease_dir(self.db.url)
        name = hashlib.sha1(worker_id.encode(), usedforsecurity=False).hexdigest()
        return self._dir / f"{name}.lock"


def lease_dir(url: str) -> Path:
    """Beside the SQLite file, so every process using that file looks in the same place."""
    database = make_url(url).database
    if not database or database == ":memory:":
        return Path(tempfile.gettempdir()) / f"papers-bot-workers-{os.getuid()}"
    db_path = Path(database).resolve()
    return db_path.parent / f".{db_path.name}.workers"
