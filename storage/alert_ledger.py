"""The SQL alert ledger: batches of new papers, one delivery per (batch, channel), and one
`alert_items` row per (channel, paper) for ever.

The once-per-paper guarantee is the primary key of `alert_items`: planning inserts the
items with on-conflict-do-nothing, so of two planners (or two batches holding the same
paper) exactly one puts a paper in a channel's message. Deliveries then move
queued -> pending -> sent/failed like digest deliveries, claimed with SKIP LOCKED.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from bot.alerts.models import (
    AlertBatch,
    AlertDelivery,
    AlertFinish,
    AlertStatus,
    ChannelPlan,
    PlannedItem,
)
from bot.models import ChannelRef, Platform
from storage.changes import follow_removed
from storage.dialect import SqlDialect
from storage.key_lists import ALERT_BATCHES
from storage.tables import AlertBatchRow, AlertDeliveryRow, AlertItemRow, PaperRow, UTCDateTime

_DELIVERIES = cast(Table, AlertDeliveryRow.__table__)
_ITEMS = cast(Table, AlertItemRow.__table__)


def _follow_merges(session: Session, plans: Sequence[ChannelPlan]) -> list[ChannelPlan]:
    """Plans whose papers were merged away since they were read name the survivors (each
    once per message), and papers gone without one are dropped: a merge may commit while
    a batch is planned, and does not wait for it (`storage.key_lists.ALERT_BATCHES`).
    The papers kept are locked until commit, so a later merge waits for these items."""
    removed = follow_removed(session, {i.paper_key for p in plans for i in p.items})
    if not removed:
        return list(plans)
    followed = []
    for plan in plans:
        items: dict[int, PlannedItem] = {}
        for item in plan.items:
            key = removed.get(item.paper_key, item.paper_key)
            if key is not None:
                items.setdefault(key, PlannedItem(key, item.alerts))
        followed.append(ChannelPlan(plan.channel, tuple(items.values())))
    return followed


def _delivery(row: AlertDeliveryRow) -> AlertDelivery:
    return AlertDelivery(
        id=row.id,
        batch_id=row.batch_id,
        channel=ChannelRef(Platform(row.platform), row.channel, row.workspace or None),
        status=AlertStatus(row.status),
        created_at=row.created_at,
        message_id=row.message_id,
        reason=row.reason,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        retry_at=row.retry_at,
    )


class SqlAlertLedger:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def enqueue_new(self, *, first_seen_since: datetime, now: datetime) -> AlertBatch | None:
        new = select(PaperRow.key).where(PaperRow.first_seen >= first_seen_since)
        keys = [int(k) for k in self.session.scalars(new.order_by(PaperRow.key))]
        if not keys:
            return None
        row = AlertBatchRow(paper_keys=keys, created_at=now)
        self.session.add(row)
        self.session.flush()
        # The same papers read again inside the database (a bulk load's batch names a
        # million); one committed in between on PostgreSQL may be named too, which only
        # costs a merge a needless look at the batch.
        ALERT_BATCHES.fill(self.session, row.id, new.where(PaperRow.key <= keys[-1]))
        return AlertBatch(row.id, tuple(keys), now)

    def next_batch(self) -> AlertBatch | None:
        stmt = (
            select(AlertBatchRow)
            .where(AlertBatchRow.planned_at.is_(None))
            .order_by(AlertBatchRow.id)
            .limit(1)
        )
        stmt = self.dialect.lock_for_claim(self.session, stmt, AlertBatchRow)
        row = self.session.scalars(stmt).first()
        if row is None:
            return None
        return AlertBatch(row.id, tuple(int(k) for k in row.paper_keys or ()), row.created_at)

    def plan(
        self, batch: AlertBatch, plans: Sequence[ChannelPlan], *, worker: str, now: datetime
    ) -> dict[int, int]:
        self.session.execute(
            update(AlertBatchRow)
            .where(AlertBatchRow.id == batch.id)
            .values(planned_at=now, planned_by=worker)
        )
        ALERT_BATCHES.drop(self.session, batch.id)  # its keys are not read again
        plans = _follow_merges(self.session, plans)
        plans = [p for p in plans if p.items]
        if not plans:
            return {}
        rows = [
            {
                "batch_id": batch.id,
                "platform": p.channel.platform.value,
                "workspace": p.channel.workspace or "",
                "channel": p.channel.channel,
                "channel_key": p.channel.key,
                "status": AlertStatus.QUEUED.value,
                "attempts": 0,
                "created_at": now,
                "updated_at": now,
            }
            for p in plans
        ]
        stmt = self.dialect.insert_ignoring(_DELIVERIES, ["batch_id", "channel_key"]).returning(
            AlertDeliveryRow.channel_key, AlertDeliveryRow.id
        )
        ids = {str(key): int(i) for key, i in self.session.connection().execute(stmt, rows)}
        items = sorted(
            (
                {
                    "channel_key": p.channel.key,
                    "paper_key": item.paper_key,
                    "delivery_id": ids[p.channel.key],
                    "position": position,
                    "alerts": list(item.alerts),
                }
                for p in plans
                if p.channel.key in ids
                for position, item in enumerate(p.items)
            ),
            # One order for every planner, so two inserting at once cannot deadlock.
            key=lambda r: (r["channel_key"], r["paper_key"]),
        )
        counts: dict[int, int] = dict.fromkeys(ids.values(), 0)
        if items:
            insert_items = self.dialect.insert_ignoring(
                _ITEMS, ["channel_key", "paper_key"]
            ).returning(AlertItemRow.delivery_id)
            for (delivery_id,) in self.session.connection().execute(insert_items, items):
                counts[int(delivery_id)] += 1
        empty = [d for d, n in counts.items() if n == 0]
        if empty:
            # Every paper of these messages reached the channel already: no message.
            self.session.execute(delete(AlertDeliveryRow).where(AlertDeliveryRow.id.in_(empty)))
        return {d: n for d, n in counts.items() if n}

    def _take(self, stmt: Select[Any], worker: str, now: datetime) -> list[AlertDelivery]:
        stmt = self.dialect.lock_for_claim(self.session, stmt, AlertDeliveryRow)
        rows = list(self.session.scalars(stmt))
        for row in rows:
            row.status = AlertStatus.PENDING.value
            row.claimed_by = worker
            row.claimed_at = now
            row.retry_at = None
        self.session.flush()
        return [_delivery(r) for r in rows]

    def claim(
        self, *, worker: str, now: datetime, platforms: Collection[str], limit: int
    ) -> list[AlertDelivery]:
        stmt = (
            select(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.status == AlertStatus.QUEUED.value,
                AlertDeliveryRow.platform.in_(list(platforms)),
            )
            .order_by(AlertDeliveryRow.id)
            .limit(limit)
        )
        return self._take(stmt, worker, now)

    def take_retries(
        self, *, worker: str, now: datetime, platforms: Collection[str]
    ) -> list[AlertDelivery]:
        stmt = (
            select(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.status == AlertStatus.RETRYING.value,
                AlertDeliveryRow.retry_at <= now,
                AlertDeliveryRow.platform.in_(list(platforms)),
            )
            .order_by(AlertDeliveryRow.retry_at, AlertDeliveryRow.id)
        )
        return self._take(stmt, worker, now)

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        platforms: Collection[str] | None = None,
    ) -> list[AlertDelivery]:
        stmt = (
            select(AlertDeliveryRow)
            .where(AlertDeliveryRow.status == AlertStatus.PENDING.value)
            .order_by(AlertDeliveryRow.id)
        )
        if is_alive is None:
            stmt = stmt.where(AlertDeliveryRow.claimed_at < older_than)
        if platforms is not None:
            stmt = stmt.where(AlertDeliveryRow.platform.in_(list(platforms)))
        stmt = self.dialect.skip_locked(stmt, AlertDeliveryRow)
        rows = list(self.session.scalars(stmt))
        if is_alive is not None:
            verdict: dict[str, bool] = {}
            for row in rows:
                owner = row.claimed_by or ""
                if owner not in verdict:
                    verdict[owner] = bool(owner) and is_alive(owner)
            rows = [row for row in rows if not verdict[row.claimed_by or ""]]
        for row in rows:
            row.claimed_by = worker
            row.claimed_at = now
        self.session.flush()
        return [_delivery(r) for r in rows]

    def finish_many(self, outcomes: Sequence[AlertFinish], *, now: datetime) -> int:
        if not outcomes:
            return 0
        stmt = (
            update(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.id == bindparam("b_id"),
                AlertDeliveryRow.status == AlertStatus.PENDING.value,
            )
            .values(
                status=bindparam("b_status"),
                message_id=bindparam("b_message"),
                reason=bindparam("b_reason"),
                updated_at=bindparam("b_now", type_=UTCDateTime()),
                retry_at=bindparam("b_retry_at", type_=UTCDateTime()),
                attempts=func.coalesce(
                    bindparam("b_attempts", type_=Integer()), AlertDeliveryRow.attempts
                ),
            )
        )
        params = [
            {
                "b_id": o.delivery_id,
                "b_status": o.status.value,
                "b_message": o.message_id,
                "b_reason": o.reason,
                "b_now": now,
                "b_retry_at": o.retry_at if o.status is AlertStatus.RETRYING else None,
                "b_attempts": o.attempts,
            }
            for o in outcomes
        ]
        changed = self.session.connection().execute(stmt, params).rowcount
        self.session.expire_all()
        return int(changed or 0)

    def items_many(
        self, delivery_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, tuple[str, ...]]]]:
        found: dict[int, list[tuple[int, tuple[str, ...]]]] = {d: [] for d in delivery_ids}
        if not delivery_ids:
            return found
        rows = self.session.execute(
            select(AlertItemRow.delivery_id, AlertItemRow.paper_key, AlertItemRow.alerts)
            .where(AlertItemRow.delivery_id.in_(list(delivery_ids)))
            .order_by(AlertItemRow.delivery_id, AlertItemRow.position)
        )
        for delivery_id, paper_key, alerts in rows:
            found[int(delivery_id)].append((int(paper_key), tuple(alerts or ())))
        return found

    def _move(self, channel: ChannelRef, before: Collection[AlertStatus], **values: object) -> int:
        stmt = (
            update(AlertDeliveryRow)
            .where(
                AlertDeliveryRow.channel_key == channel.key,
                AlertDeliveryRow.status.in_([s.value for s in before]),
            )
            .values(**values)
        )
        changed = getattr(self.session.execute(stmt), "rowcount", 0)
        self.session.expire_all()
        return int(changed or 0)

    def hold(self, channel: ChannelRef, *, now: datetime) -> int:
        return self._move(
            channel,
            (AlertStatus.QUEUED, AlertStatus.RETRYING),
            status=AlertStatus.PAUSED.value,
            retry_at=None,
            updated_at=now,
        )

    def release(self, channel: ChannelRef, *, now: datetime) -> int:
        return self._move(
            channel,
            (AlertStatus.PAUSED,),
            status=AlertStatus.QUEUED.value,
            created_at=now,
            updated_at=now,
        )

    def get(self, delivery_id: int) -> AlertDelivery | None:
        row = self.session.get(AlertDeliveryRow, delivery_id)
        return _delivery(row) if row is not None else None

    def count(self, status: AlertStatus | None = None, *, channel: ChannelRef | None = None) -> int:
        stmt = select(func.count()).select_from(AlertDeliveryRow)
        if status is not None:
            stmt = stmt.where(AlertDeliveryRow.status == status.value)
        if channel is not None:
            stmt = stmt.where(AlertDeliveryRow.channel_key == channel.key)
        return int(self.session.scalar(stmt) or 0)
