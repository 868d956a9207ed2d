"""The SQL subscription repository: one digest subscription per channel, and its schedule."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, time
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from bot.models import Cadence, ChannelRef, Platform, Subscription, SubscriptionSpec, Weekday
from storage.dialect import SqlDialect
from storage.tables import SubscriptionRow, UTCDateTime


def _weekdays_text(days: Sequence[Weekday]) -> str:
    return ",".join(str(int(d)) for d in sorted(set(days)))


def _weekdays_parse(text: str) -> tuple[Weekday, ...]:
    return tuple(Weekday(int(x)) for x in text.split(",") if x.strip())


def to_subscription(row: SubscriptionRow) -> Subscription:
    hour, minute = (int(x) for x in row.at_time.split(":"))
    spec = SubscriptionSpec(
        channel=ChannelRef(Platform(row.platform), row.channel, row.workspace or None),
        at=time(hour, minute),
        timezone=row.timezone,
        weekdays=_weekdays_parse(row.weekdays),
        keywords=tuple(row.keywords or ()),
        min_upvotes=row.min_upvotes,
        top_n=row.top_n,
        window_days=row.window_days,
        created_by=row.created_by,
        cadence=Cadence(row.cadence),
    )
    return Subscription(
        id=row.id,
        spec=spec,
        next_run_at=row.next_run_at,
        paused=row.paused,
        paused_reason=row.paused_reason,
        consecutive_failures=row.consecutive_failures,
        created_at=row.created_at,
    )


def _channel_filter(channel: ChannelRef) -> Any:
    return (
        (SubscriptionRow.platform == channel.platform.value)
        & (SubscriptionRow.workspace == (channel.workspace or ""))
        & (SubscriptionRow.channel == channel.channel)
    )


class SqlSubscriptionRepository:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def _row(self, channel: ChannelRef) -> SubscriptionRow | None:
        return self.session.scalars(select(SubscriptionRow).where(_channel_filter(channel))).first()

    def upsert(self, spec: SubscriptionSpec, *, next_run_at: datetime) -> Subscription:
        row = self._row(spec.channel)
        now = datetime.now().astimezone()
        if row is None:
            row = SubscriptionRow(
                platform=spec.channel.platform.value,
                workspace=spec.channel.workspace or "",
                channel=spec.channel.channel,
                created_by=spec.created_by,
                created_at=now,
            )
            self.session.add(row)
        row.at_time = spec.at.strftime("%H:%M")
        row.timezone = spec.timezone
        row.weekdays = _weekdays_text(spec.weekdays)
        row.keywords = list(spec.keywords)
        row.min_upvotes = spec.min_upvotes
        row.top_n = spec.top_n
        row.window_days = spec.window_days
        row.cadence = spec.cadence.value
        row.next_run_at = next_run_at
        row.paused = False
        row.paused_reason = None
        row.consecutive_failures = 0
        row.updated_at = now
        self.session.flush()
        return to_subscription(row)

    def remove(self, channel: ChannelRef) -> bool:
        result = self.session.execute(delete(SubscriptionRow).where(_channel_filter(channel)))
        return bool(getattr(result, "rowcount", 0))

    def for_channel(self, channel: ChannelRef) -> Subscription | None:
        row = self._row(channel)
        return to_subscription(row) if row else None

    def get(self, subscription_id: int) -> Subscription | None:
        row = self.session.get(SubscriptionRow, subscription_id)
        return to_subscription(row) if row else None

    def due(
        self,
        now: datetime,
        *,
        limit: int | None = None,
        lock: bool = False,
        platforms: Collection[str] | None = None,
    ) -> list[Subscription]:
        """Active subscriptions whose `next_run_at` is at or before `now`, earliest first.

        With `lock=True` the caller is about to claim them and advance `next_run_at` in the
        same transaction, so the read goes through `SqlDialect.lock_for_claim`: concurrent
        replicas split the due set (PostgreSQL) or wait for the earlier claim (SQLite).
        """
        stmt = (
            select(SubscriptionRow)
            .where(SubscriptionRow.paused.is_(False), SubscriptionRow.next_run_at <= now)
            .order_by(SubscriptionRow.next_run_at, SubscriptionRow.id)
        )
        if platforms is not None:
            stmt = stmt.where(SubscriptionRow.platform.in_(list(platforms)))
        if limit is not None:
            stmt = stmt.limit(limit)
        if lock:
            stmt = self.dialect.lock_for_claim(self.session, stmt, SubscriptionRow)
        return [to_subscription(r) for r in self.session.scalars(stmt)]

    def record_outcome(
        self,
        subscription_id: int,
        *,
        permanent_failure: bool,
        reason: str | None = None,
        pause_after: int = 3,
    ) -> bool:
        row = self.session.get(SubscriptionRow, subscription_id)
        if row is None:
            return False
        if not permanent_failure:
            row.consecutive_failures = 0
            return False
        row.consecutive_failures += 1
        if row.consecutive_failures >= pause_after:
            row.paused = True
            row.paused_reason = reason
        self.session.flush()
        return row.paused

    def set_next_runs(self, next_runs: dict[int, datetime]) -> None:
        if not next_runs:
            return
        # Executed on the connection: a plain executemany, not the ORM's per-row bulk path.
        stmt = (
            update(SubscriptionRow)
            .where(SubscriptionRow.id == bindparam("b_id"))
            .values(next_run_at=bindparam("b_next", type_=UTCDateTime()))
        )
        self.session.connection().execute(
            stmt, [{"b_id": k, "b_next": v} for k, v in next_runs.items()]
        )

    def reset_failures(self, subscription_ids: Sequence[int]) -> None:
        if not subscription_ids:
            return
        self.session.execute(
            update(SubscriptionRow)
            .where(
                SubscriptionRow.id.in_(list(subscription_ids)),
                SubscriptionRow.consecutive_failures != 0,
            )
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(SubscriptionRow)) or 0)

    def count_paused(self) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(SubscriptionRow).where(SubscriptionRow.paused)
            )
            or 0
        )
