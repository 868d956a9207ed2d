"""In-memory `AlertRepository` and `AlertLedger` for tests of the core: the same
once-per-(channel, paper) rule as `storage.alert_ledger`, over `FakeState` (so a
rolled-back unit of work undoes it)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Sequence
from datetime import datetime

from bot.alerts.models import (
    AlertBatch,
    AlertDelivery,
    AlertFinish,
    AlertPause,
    AlertStatus,
    ChannelPlan,
)
from bot.follow.matching import Alert, AlertKind
from bot.models import ChannelRef
from bot.testing.fake_repositories import FakeState


class FakeAlertLedger:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    def enqueue_new(self, *, first_seen_since: datetime, now: datetime) -> AlertBatch | None:
        keys = tuple(
            sorted(
                k
                for k, p in self._s.papers.items()
                if p.first_seen is not None and p.first_seen >= first_seen_since
            )
        )
        if not keys:
            return None
        batch = AlertBatch(self._s.new_id(), keys, now)
        self._s.alert_batches[batch.id] = (batch, False)
        return batch

    def next_batch(self) -> AlertBatch | None:
        waiting = [b for b, planned in self._s.alert_batches.values() if not planned]
        return min(waiting, key=lambda b: b.id) if waiting else None

    def plan(
        self, batch: AlertBatch, plans: Sequence[ChannelPlan], *, worker: str, now: datetime
    ) -> dict[int, int]:
        self._s.alert_batches[batch.id] = (batch, True)
        counts: dict[int, int] = {}
        for plan in plans:
            key = plan.channel.key
            new = [i for i in plan.items if (key, i.paper_key) not in self._s.alert_items]
            if not new:
                continue
            delivery = AlertDelivery(
                self._s.new_id(), batch.id, plan.channel, AlertStatus.QUEUED, created_at=now
            )
            self._s.alert_deliveries[delivery.id] = delivery
            for position, item in enumerate(new):
                self._s.alert_items[(key, item.paper_key)] = (delivery.id, position, item.alerts)
            counts[delivery.id] = len(new)
        return counts

    def _take(self, rows: list[AlertDelivery], worker: str, now: datetime) -> list[AlertDelivery]:
        taken = []
        for row in sorted(rows, key=lambda d: d.id):
            row = dataclasses.replace(
                row, status=AlertStatus.PENDING, claimed_by=worker, claimed_at=now, retry_at=None
            )
            self._s.alert_deliveries[row.id] = row
            taken.append(row)
        return taken

    def claim(
        self, *, worker: str, now: datetime, platforms: Collection[str], limit: int
    ) -> list[AlertDelivery]:
        rows = [
            d
            for d in self._s.alert_deliveries.values()
            if d.status is AlertStatus.QUEUED and d.channel.platform.value in platforms
        ]
        return self._take(sorted(rows, key=lambda d: d.id)[:limit], worker, now)

    def take_retries(
        self, *, worker: str, now: datetime, platforms: Collection[str]
    ) -> list[AlertDelivery]:
        rows = [
            d
            for d in self._s.alert_deliveries.values()
            if d.status is AlertStatus.RETRYING
            and d.retry_at is not None
            and d.retry_at <= now
            and d.channel.platform.value in platforms
        ]
        return self._take(rows, worker, now)

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        platforms: Collection[str] | None = None,
    ) -> list[AlertDelivery]:
        rows = []
        for d in self._s.alert_deliveries.values():
            if d.status is not AlertStatus.PENDING:
                continue
            if platforms is not None and d.channel.platform.value not in platforms:
                continue
            if is_alive is not None:
                if d.claimed_by and is_alive(d.claimed_by):
                    continue
            elif d.claimed_at is not None and d.claimed_at >= older_than:
                continue
            rows.append(d)
        return self._take(rows, worker, now)

    def finish_many(self, outcomes: Sequence[AlertFinish], *, now: datetime) -> int:
        changed = 0
        for o in outcomes:
            row = self._s.alert_deliveries.get(o.delivery_id)
            if row is None or row.status is not AlertStatus.PENDING:
                continue
            self._s.alert_deliveries[row.id] = dataclasses.replace(
                row,
                status=o.status,
                message_id=o.message_id,
                reason=o.reason,
                retry_at=o.retry_at if o.status is AlertStatus.RETRYING else None,
                attempts=row.attempts if o.attempts is None else o.attempts,
            )
            changed += 1
        return changed

    def items_many(
        self, delivery_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, tuple[str, ...]]]]:
        found: dict[int, list[tuple[int, int, tuple[str, ...]]]] = {d: [] for d in delivery_ids}
        for (_, paper_key), (delivery_id, position, alerts) in self._s.alert_items.items():
            if delivery_id in found:
                found[delivery_id].append((position, paper_key, alerts))
        return {d: [(k, a) for _, k, a in sorted(rows)] for d, rows in found.items()}

    def _move(self, channel: ChannelRef, before: Collection[AlertStatus], **values: object) -> int:
        rows = [
            d
            for d in self._s.alert_deliveries.values()
            if d.channel.key == channel.key and d.status in before
        ]
        for row in rows:
            self._s.alert_deliveries[row.id] = dataclasses.replace(row, **values)  # type: ignore[arg-type]
        return len(rows)

    def hold(self, channel: ChannelRef, *, now: datetime) -> int:
        return self._move(
            channel,
            (AlertStatus.QUEUED, AlertStatus.RETRYING),
            status=AlertStatus.PAUSED,
            retry_at=None,
        )

    def release(self, channel: ChannelRef, *, now: datetime) -> int:
        return self._move(channel, (AlertStatus.PAUSED,), status=AlertStatus.QUEUED, created_at=now)

    def get(self, delivery_id: int) -> AlertDelivery | None:
        return self._s.alert_deliveries.get(delivery_id)

    def count(self, status: AlertStatus | None = None, *, channel: ChannelRef | None = None) -> int:
        return sum(
            1
            for d in self._s.alert_deliveries.values()
            if (status is None or d.status is status)
            and (channel is None or d.channel.key == channel.key)
        )


class FakeAlertRepository:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    def add(
        self, channel: ChannelRef, kind: AlertKind, query: str, *, created_by: str | None
    ) -> tuple[Alert, bool]:
        for alert, _ in self._s.alerts.values():
            if (alert.channel, alert.kind, alert.query) == (channel.key, kind, query):
                return alert, False
        alert = Alert(id=self._s.new_id(), channel=channel.key, kind=kind, query=query)
        self._s.alerts[alert.id] = (alert, channel)
        return alert, True

    def for_channel(self, channel: ChannelRef) -> list[Alert]:
        found = [a for a, _ in self._s.alerts.values() if a.channel == channel.key]
        return sorted(found, key=lambda a: a.id)

    def remove(self, alert_id: int) -> bool:
        return self._s.alerts.pop(alert_id, None) is not None

    def every(self) -> list[tuple[Alert, ChannelRef]]:
        return [
            self._s.alerts[k]
            for k in sorted(self._s.alerts)
            if self._s.alerts[k][0].channel not in self._s.alert_pauses
        ]

    def pause(self, channel: ChannelRef, reason: str, *, now: datetime) -> bool:
        if channel.key in self._s.alert_pauses or not self.for_channel(channel):
            return False
        self._s.alert_pauses[channel.key] = AlertPause(reason[:200], now)
        return True

    def paused(self, channel: ChannelRef) -> AlertPause | None:
        return self._s.alert_pauses.get(channel.key)

    def resume(self, channel: ChannelRef) -> AlertPause | None:
        return self._s.alert_pauses.pop(channel.key, None)
