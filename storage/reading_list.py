"""The SQL reading lists and first shares (issue 14): one row per (channel, paper).

Both tables are keyed by `ChannelRef.key`, so a query can only ever reach its own channel.
Inserts skip a row that exists (`ON CONFLICT DO NOTHING`), which makes a double click on
"Save" and two replicas recording the same share both harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from bot.models import ChannelRef, FirstShare, SavedPaper, SavedStatus
from storage.dialect import SqlDialect
from storage.tables import FirstShareRow, SavedPaperRow

_SAVED = cast(Table, SavedPaperRow.__table__)
_SHARES = cast(Table, FirstShareRow.__table__)


def _saved(row: SavedPaperRow) -> SavedPaper:
    return SavedPaper(
        channel_key=row.channel_key,
        paper_key=row.paper_key,
        saved_by=row.saved_by,
        saved_at=row.saved_at,
        status=SavedStatus(row.status),
        assignee=row.assignee,
    )


def _entry(channel: ChannelRef, paper_key: int) -> Any:
    return (SavedPaperRow.channel_key == channel.key) & (SavedPaperRow.paper_key == paper_key)


class SqlReadingList:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def add(self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime) -> bool:
        stmt = self.dialect.insert_ignoring(_SAVED, ["channel_key", "paper_key"])
        row = {
            "channel_key": channel.key,
            "paper_key": paper_key,
            "saved_by": user[:64],
            "saved_at": now,
            "status": SavedStatus.TO_READ.value,
            "assignee": None,
        }
        # RETURNING, not rowcount: psycopg counts a skipped conflicting row as one.
        inserted = self.session.execute(stmt.values(**row).returning(_SAVED.c.paper_key))
        return inserted.first() is not None

    def entries(self, channel: ChannelRef) -> list[SavedPaper]:
        rows = self.session.scalars(
            select(SavedPaperRow)
            .where(SavedPaperRow.channel_key == channel.key)
            .order_by(SavedPaperRow.saved_at, SavedPaperRow.paper_key)
        )
        return [_saved(row) for row in rows]

    def update(
        self,
        channel: ChannelRef,
        paper_key: int,
        *,
        status: SavedStatus | None = None,
        assignee: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {}
        if status is not None:
            values["status"] = status.value
        if assignee is not None:
            values["assignee"] = assignee[:64]
        if not values:
            return self.session.get(SavedPaperRow, (channel.key, paper_key)) is not None
        result = self.session.connection().execute(
            update(SavedPaperRow).where(_entry(channel, paper_key)).values(**values)
        )
        return bool(result.rowcount)

    def remove(self, channel: ChannelRef, paper_key: int) -> bool:
        result = self.session.connection().execute(
            delete(SavedPaperRow).where(_entry(channel, paper_key))
        )
        return bool(result.rowcount)


class SqlShareLog:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def record(
        self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime
    ) -> FirstShare:
        stmt = self.dialect.insert_ignoring(_SHARES, ["channel_key", "paper_key"])
        row = {
            "channel_key": channel.key,
            "paper_key": paper_key,
            "shared_by": user[:64],
            "shared_at": now,
        }
        self.session.execute(stmt.values(**row))
        first = self.session.execute(
            select(FirstShareRow.shared_by, FirstShareRow.shared_at).where(
                (FirstShareRow.channel_key == channel.key) & (FirstShareRow.paper_key == paper_key)
            )
        ).one()
        return FirstShare(channel.key, paper_key, first.shared_by, first.shared_at)
