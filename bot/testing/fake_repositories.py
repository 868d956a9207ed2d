"""In-memory repositories: the state behind `bot.testing.fakes.FakeDatabase`."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from bot.alerts.models import AlertBatch, AlertDelivery, AlertPause
from bot.follow.matching import Alert
from bot.merge_rules import follow_keys, follow_notes
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    FirstShare,
    Paper,
    SavedPaper,
    Subscription,
    SubscriptionSpec,
)
from bot.ports import ClaimRequest, FinishRequest
from bot.taste.votes_port import Vote

if TYPE_CHECKING:
    from bot.testing.fake_ingest_runs import FakeRun

# (channel key, paper key) of an alert -> (delivery id, position, alert descriptions).
_AlertItem = tuple[int, int, tuple[str, ...]]


@dataclass
class FakeState:
    """Everything a `FakeDatabase` stores (reading lists by channel key, first shares and
    alert items by (channel key, paper key)). Values are immutable: copies are cheap."""

    papers: dict[int, Paper] = field(default_factory=dict)
    upvotes: dict[int, list[tuple[datetime, int]]] = field(default_factory=dict)
    subscriptions: dict[int, Subscription] = field(default_factory=dict)
    deliveries: dict[int, Delivery] = field(default_factory=dict)
    # `ClaimRequest.notes` of each delivery that had some (by delivery id).
    delivery_notes: dict[int, dict[int, tuple[str | None, str | None]]] = field(
        default_factory=dict
    )
    sent: dict[str, set[int]] = field(default_factory=dict)
    alerts: dict[int, tuple[Alert, ChannelRef]] = field(default_factory=dict)
    alert_pauses: dict[str, AlertPause] = field(default_factory=dict)  # by channel key
    next_id: int = 1
    saved: dict[str, list[SavedPaper]] = field(default_factory=dict)
    shares: dict[tuple[str, int], FirstShare] = field(default_factory=dict)
    alert_batches: dict[int, tuple[AlertBatch, bool]] = field(default_factory=dict)
    alert_deliveries: dict[int, AlertDelivery] = field(default_factory=dict)
    alert_items: dict[tuple[str, int], _AlertItem] = field(default_factory=dict)
    # Change numbers: of each paper's last write, of each removed key, and the last one.
    changes: dict[int, int] = field(default_factory=dict)
    tombstones: dict[int, int] = field(default_factory=dict)
    survivors: dict[int, int] = field(default_factory=dict)  # merged-away key -> survivor
    change: int = 0
    # Paper vectors by (model, paper key): (fingerprint, vector).
    vectors: dict[tuple[str, int], tuple[str, NDArray[np.float32]]] = field(default_factory=dict)
    vector_marks: dict[str, int] = field(default_factory=dict)
    vector_changes: dict[tuple[str, int], int] = field(default_factory=dict)  # last write's
    # Channel taste (issue 13): votes by (channel key, paper key, user); channels set off.
    votes: dict[tuple[str, int, str], Vote] = field(default_factory=dict)
    taste_off: set[ChannelRef] = field(default_factory=set)
    # Ingest runs by id (bot.testing.fake_ingest_runs.FakeRun; values are immutable).
    runs: dict[int, FakeRun] = field(default_factory=dict)

    def copy(self) -> FakeState:
        return FakeState(
            papers=dict(self.papers),
            upvotes={k: list(v) for k, v in self.upvotes.items()},
            subscriptions=dict(self.subscriptions),
            deliveries=dict(self.deliveries),
            delivery_notes={k: dict(v) for k, v in self.delivery_notes.items()},
            sent={k: set(v) for k, v in self.sent.items()},
            alerts=dict(self.alerts),
            next_id=self.next_id,
            saved={k: list(v) for k, v in self.saved.items()},
            shares=dict(self.shares),
            alert_batches=dict(self.alert_batches),
            alert_deliveries=dict(self.alert_deliveries),
            alert_items=dict(self.alert_items),
            changes=dict(self.changes),
            tombstones=dict(self.tombstones),
            survivors=dict(self.survivors),
            change=self.change,
            vectors=dict(self.vectors),
            vector_marks=dict(self.vector_marks),
            vector_changes=dict(self.vector_changes),
            votes=dict(self.votes),
            taste_off=set(self.taste_off),
            runs=dict(self.runs),
        )

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1


class FakeSubscriptionRepository:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    def _for(self, channel: ChannelRef) -> Subscription | None:
        return next((s for s in self._s.subscriptions.values() if s.channel == channel), None)

    def upsert(self, spec: SubscriptionSpec, *, next_run_at: datetime) -> Subscription:
        old = self._for(spec.channel)
        sub_id = old.id if old else self._s.new_id()
        created = old.created_at if old else datetime.now(UTC)  # storage stamps it too
        if old is not None:
            spec = replace(spec, created_by=old.spec.created_by)
        sub = Subscription(id=sub_id, spec=spec, next_run_at=next_run_at, created_at=created)
        self._s.subscriptions[sub_id] = sub
        return sub

    def remove(self, channel: ChannelRef) -> bool:
        sub = self._for(channel)
        if sub is None:
            return False
        del self._s.subscriptions[sub.id]
        return True

    def for_channel(self, channel: ChannelRef) -> Subscription | None:
        return self._for(channel)

    def get(self, subscription_id: int) -> Subscription | None:
        return self._s.subscriptions.get(subscription_id)

    def due(
        self,
        now: datetime,
        *,
        limit: int | None = None,
        lock: bool = False,
        platforms: Collection[str] | None = None,
    ) -> list[Subscription]:
        due = sorted(
            (
                s
                for s in self._s.subscriptions.values()
                if not s.paused
                and s.next_run_at is not None
                and s.next_run_at <= now
                and (platforms is None or s.channel.platform.value in platforms)
            ),
            key=lambda s: (s.next_run_at, s.id),
        )
        return due[:limit] if limit is not None else due

    def set_next_runs(self, next_runs: dict[int, datetime]) -> None:
        for sub_id, next_run_at in next_runs.items():
            if sub_id in self._s.subscriptions:
                sub = self._s.subscriptions[sub_id]
                self._s.subscriptions[sub_id] = replace(sub, next_run_at=next_run_at)

    def record_outcome(
        self,
        subscription_id: int,
        *,
        permanent_failure: bool,
        reason: str | None = None,
        pause_after: int = 3,
    ) -> bool:
        sub = self._s.subscriptions.get(subscription_id)
        if sub is None:
            return False
        if not permanent_failure:
            self._s.subscriptions[sub.id] = replace(sub, consecutive_failures=0)
            return False
        failures = sub.consecutive_failures + 1
        paused = sub.paused or failures >= pause_after
        self._s.subscriptions[sub.id] = replace(
            sub,
            consecutive_failures=failures,
            paused=paused,
            paused_reason=reason if failures >= pause_after else sub.paused_reason,
        )
        return paused

    def reset_failures(self, subscription_ids: Sequence[int]) -> None:
        for sub_id in subscription_ids:
            if sub_id in self._s.subscriptions:
                sub = self._s.subscriptions[sub_id]
                self._s.subscriptions[sub_id] = replace(sub, consecutive_failures=0)

    def count(self) -> int:
        return len(self._s.subscriptions)

    def count_paused(self) -> int:
        """Not a port method: mirrors `SqlSubscriptionRepository.count_paused` for tests."""
        return sum(1 for s in self._s.subscriptions.values() if s.paused)


class FakeDeliveryLedger:
    def __init__(self, state: FakeState) -> None:
        self._s = state

    def rows(self) -> list[Delivery]:
        """Every ledger row, oldest first (not a port method: for assertions)."""
        return [self._s.deliveries[k] for k in sorted(self._s.deliveries)]

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, worker: str, now: datetime
    ) -> dict[int, int]:
        taken = {(d.subscription_id, d.digest_date) for d in self._s.deliveries.values()}
        new: dict[int, int] = {}
        for r in requests:
            if (r.subscription_id, r.digest_date) in taken:
                continue
            taken.add((r.subscription_id, r.digest_date))
            row_id = self._s.new_id()
            self._s.deliveries[row_id] = Delivery(
                id=row_id,
                subscription_id=r.subscription_id,
                digest_date=r.digest_date,
                status=r.status,
                reason=r.reason,
                claimed_by=worker,
                claimed_at=now,
                updated_at=now,
                paper_keys=tuple(r.paper_keys),
            )
            if r.notes():
                self._s.delivery_notes[row_id] = r.notes()
            new[r.subscription_id] = row_id
        return new

    def _follow(self, key: int) -> int | None:
        """`key`, or the paper it was merged into; None when it is gone (as storage does)."""
        for _ in range(8):
            if key in self._s.papers:
                return key
            if key not in self._s.survivors:
                return None
            key = self._s.survivors[key]
        return None

    def finish_many(self, requests: Sequence[FinishRequest], *, now: datetime) -> int:
        changed = 0
        for r in requests:
            row = self._s.deliveries.get(r.delivery_id)
            if row is None or row.status is not DeliveryStatus.PENDING:
                continue
            # A key merged away since it was planned names the survivor (storage does so).
            live = {k: self._follow(k) for k in r.paper_keys}
            moves = {k: v for k, v in live.items() if v is not None and v != k}
            r = replace(r, paper_keys=tuple(follow_keys(r.paper_keys, moves)))
            if r.delivery_id in self._s.delivery_notes:
                notes = self._s.delivery_notes[r.delivery_id]
                self._s.delivery_notes[r.delivery_id] = follow_notes(notes, moves)
            self._s.deliveries[row.id] = replace(
                row,
                status=r.status,
                message_id=r.message_id,
                reason=r.reason,
                updated_at=now,
                paper_keys=tuple(r.paper_keys),
                retry_at=r.retry_at if r.status is DeliveryStatus.RETRYING else None,
                attempts=row.attempts if r.attempts is None else r.attempts,
            )
            changed += 1
            if r.status is DeliveryStatus.SENT:
                sent = (k for k in r.paper_keys if live.get(k, k) is not None)
                self._s.sent.setdefault(r.channel_key, set()).update(sent)
        return changed

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        def stale(row: Delivery) -> bool:
            return is_alive is None or not (row.claimed_by and is_alive(row.claimed_by))

        pending = [r for r in self.rows() if r.status is DeliveryStatus.PENDING]
        if is_alive is None:
            pending = [r for r in pending if r.claimed_at is not None and r.claimed_at < older_than]
        pending = pending[:limit] if limit is not None else pending
        reclaimed = [replace(r, claimed_by=worker, claimed_at=now) for r in pending if stale(r)]
        self._s.deliveries.update((r.id, r) for r in reclaimed)
        return reclaimed

    def take_retries(
        self,
        *,
        worker: str,
        now: datetime,
        platforms: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        def wanted(row: Delivery) -> bool:
            if row.status is not DeliveryStatus.RETRYING or row.retry_at is None:
                return False
            sub = self._s.subscriptions.get(row.subscription_id)
            platform_ok = platforms is None or (
                sub is not None and sub.channel.platform.value in platforms
            )
            return row.retry_at <= now and platform_ok

        due = sorted((r for r in self.rows() if wanted(r)), key=lambda r: (r.retry_at, r.id))
        due = due[:limit] if limit is not None else due
        taken = [
            replace(
                r,
                status=DeliveryStatus.PENDING,
                claimed_by=worker,
                claimed_at=now,
                retry_at=None,
            )
            for r in due
        ]
        self._s.deliveries.update((r.id, r) for r in taken)
        return taken

    def sent_paper_keys(self, channel: ChannelRef) -> set[int]:
        return set(self._s.sent.get(channel.key, set()))

    def planned_notes(self, delivery_id: int) -> dict[int, tuple[str | None, str | None]]:
        return dict(self._s.delivery_notes.get(delivery_id, {}))

    def sent_paper_keys_many(self, channel_keys: Sequence[str]) -> dict[str, set[int]]:
        return {key: set(self._s.sent.get(key, set())) for key in channel_keys}

    def unfinished_paper_keys_many(self, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
        wanted = set(subscription_ids)
        found: dict[int, set[int]] = {}
        for row in self.rows():
            if row.subscription_id in wanted and row.status in (
                DeliveryStatus.PENDING,
                DeliveryStatus.RETRYING,
            ):
                found.setdefault(row.subscription_id, set()).update(row.paper_keys)
        return found

    def count(self, status: DeliveryStatus | None = None) -> int:
        return sum(1 for r in self._s.deliveries.values() if status in (None, r.status))
