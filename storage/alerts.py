"""The SQL alert repository: each channel's followed authors and saved searches."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.alerts.models import AlertPause
from bot.follow.matching import Alert, AlertKind
from bot.models import ChannelRef, Platform
from storage.dialect import SqlDialect
from storage.tables import AlertRow


def to_alert(row: AlertRow) -> Alert:
    return Alert(id=row.id, channel=row.channel_key, kind=AlertKind(row.kind), query=row.query)


class SqlAlertRepository:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def add(
        self, channel: ChannelRef, kind: AlertKind, query: str, *, created_by: str | None
    ) -> tuple[Alert, bool]:
        existing = self.session.scalars(
            select(AlertRow).where(
                (AlertRow.channel_key == channel.key)
                & (AlertRow.kind == kind.value)
                & (AlertRow.query == query)
            )
        ).first()
        if existing is not None:
            return to_alert(existing), False
        row = AlertRow(
            platform=channel.platform.value,
            workspace=channel.workspace or "",
            channel=channel.channel,
            channel_key=channel.key,
            kind=kind.value,
            query=query,
            created_by=created_by,
            created_at=datetime.now(UTC),
        )
        self.session.add(row)
        self.session.flush()
        return to_alert(row), True

    def for_channel(self, channel: ChannelRef) -> list[Alert]:
        rows = self.session.scalars(
            select(AlertRow).where(AlertRow.channel_key == channel.key).order_by(AlertRow.id)
        )
        return [to_alert(row) for row in rows]

    def remove(self, alert_id: int) -> bool:
        result = self.session.execute(delete(AlertRow).where(AlertRow.id == alert_id))
        return bool(getattr(result, "rowcount", 0))

    def every(self) -> list[tuple[Alert, ChannelRef]]:
        rows = self.session.scalars(
            select(AlertRow).where(AlertRow.paused_at.is_(None)).order_by(AlertRow.id)
        )
        return [
            (
                to_alert(row),
                ChannelRef(Platform(row.platform), row.channel, row.workspace or None),
            )
            for row in rows
        ]

    def pause(self, channel: ChannelRef, reason: str, *, now: datetime) -> bool:
        result = self.session.execute(
            update(AlertRow)
            .where((AlertRow.channel_key == channel.key) & AlertRow.paused_at.is_(None))
            .values(paused_reason=reason[:200], paused_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    def paused(self, channel: ChannelRef) -> AlertPause | None:
        row = self.session.scalars(
            select(AlertRow)
            .where((AlertRow.channel_key == channel.key) & AlertRow.paused_at.is_not(None))
            .order_by(AlertRow.paused_at)
        ).first()
        if row is None or row.paused_at is None:
            return None
        return AlertPause(row.paused_reason or "unknown", row.paused_at)

    def resume(self, channel: ChannelRef) -> AlertPause | None:
        pause = self.paused(channel)
        if pause is not None:
            self.session.execute(
                update(AlertRow)
                .where(AlertRow.channel_key == channel.key)
                .values(paused_reason=None, paused_at=None)
            )
        return pause
