"""Ingest runs: a large file staged in the database, then applied in short batches.

One transaction per file held SQLite's write lock for the whole file (a bot's
`/papers subscribe` timed out behind it) and queued every PostgreSQL paper writer behind
it. Instead, a file's records are first staged (`ingest_batches`, invisible to readers)
in short transactions; sealing the run makes the file committed; then each batch is
applied in its own transaction, which takes its own change number and deletes the batch.
A crash while staging leaves an unsealed run that is dropped later; a crash while
applying leaves a sealed run that the next ingest applies to the end (roll forward).
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from collections.abc import Sequence
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy import null as sa_null
from sqlalchemy.orm import Session

from bot.ingest.runs import WrittenPapers
from bot.models import PaperRecord, UpsertStats
from storage.changes import change_number
from storage.papers import SqlPaperRepository
from storage.tables import IngestBatchRow, IngestRunRow

STAGING, READY = "staging", "ready"


# Who stages or applies a run: a crashed owner on this host is recognised at once, one on
# another host once its heartbeat is older than bot.ingest.runs.STALE_RUN.
def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"  # per call: a forked child is another


_FIELDS = list(PaperRecord.__dataclass_fields__)
_ROW = attrgetter(*_FIELDS)
_PUBLISHED = _FIELDS.index("published")
_TUPLES = [_FIELDS.index(name) for name in ("authors", "keywords", "categories")]


def encode(records: Sequence[PaperRecord]) -> bytes:
    """The records as zlib-compressed JSON rows in field order (level 1: it is read once)."""
    rows = json.dumps([_ROW(r) for r in records], ensure_ascii=False, default=date.isoformat)
    return zlib.compress(rows.encode(), 1)


def decode(data: bytes) -> list[PaperRecord]:
    records = []
    for row in json.loads(zlib.decompress(data)):
        for index in _TUPLES:
            row[index] = tuple(row[index])
        if row[_PUBLISHED] is not None:
            row[_PUBLISHED] = date.fromisoformat(row[_PUBLISHED])
        records.append(PaperRecord(*row))
    return records


class SqlIngestRuns:
    def __init__(self, session: Session, papers: SqlPaperRepository) -> None:
        self.session = session
        self.papers = papers

    def open(self, name: str, *, seen_at: datetime) -> int:
        run = IngestRunRow(
            name=name,
            state=STAGING,
            seen_at=seen_at,
            owner=_owner(),
            heartbeat_at=datetime.now(UTC),
        )
        self.session.add(run)
        self.session.flush()
        return run.id

    def stage(self, run: int, seq: int, records: Sequence[PaperRecord]) -> None:
        self.session.execute(
            insert(IngestBatchRow), [{"run_id": run, "seq": seq, "records": encode(records)}]
        )
        self.session.execute(
            update(IngestRunRow)
            .where(IngestRunRow.id == run)
            .values(heartbeat_at=datetime.now(UTC))
        )

    def seal(self, run: int) -> None:
        self.session.execute(update(IngestRunRow).where(IngestRunRow.id == run).values(state=READY))

    def discard(self, run: int) -> None:
        self.session.execute(delete(IngestBatchRow).where(IngestBatchRow.run_id == run))
        self.session.execute(delete(IngestRunRow).where(IngestRunRow.id == run))

    def apply_next(
        self, run: int, written: WrittenPapers, kept: Sequence[PaperRecord] | None = None
    ) -> UpsertStats | None:
        # The change number first: it serialises paper writers, so two processes rolling
        # the same run forward never apply one batch twice.
        change_number(self.session)
        found = self.session.execute(
            select(
                IngestBatchRow.seq,
                IngestBatchRow.records if kept is None else sa_null(),
                IngestRunRow.seen_at,
            )
            .join(IngestRunRow, IngestRunRow.id == IngestBatchRow.run_id)
            .where(IngestBatchRow.run_id == run)
            .order_by(IngestBatchRow.seq)
            .limit(1)
        ).first()
        if found is None:
            self.session.execute(delete(IngestRunRow).where(IngestRunRow.id == run))
            return None
        seq, data, seen_at = found
        self.session.execute(
            delete(IngestBatchRow).where(IngestBatchRow.run_id == run, IngestBatchRow.seq == seq)
        )
        self.session.execute(
            update(IngestRunRow)
            .where(IngestRunRow.id == run)
            .values(owner=_owner(), heartbeat_at=datetime.now(UTC))
        )
        records = kept if kept is not None else decode(cast(bytes, data))
        return self.papers.upsert_many(records, seen_at=seen_at, written=written)

    def ready(self, *, stale_before: datetime) -> list[tuple[int, str]]:
        rows = self.session.execute(
            select(
                IngestRunRow.id,
                IngestRunRow.name,
                IngestRunRow.state,
                IngestRunRow.owner,
                IngestRunRow.heartbeat_at,
            ).order_by(IngestRunRow.id)
        ).all()
        found = []
        for run, name, state, owner, heartbeat in rows:
            if heartbeat >= stale_before and _alive(owner):
                continue  # its process is still staging or applying it
            if state == STAGING:
                self.discard(run)
            else:
                found.append((int(run), str(name)))
        return found


def _alive(owner: str) -> bool:
    """Whether the process named `host:pid` may still run: known dead only on this host."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: only its heartbeat tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
