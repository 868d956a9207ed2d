"""The alert ports (`UnitOfWork.alert_ledger`, `UnitOfWork.alerts`), implemented by storage.

Kept beside the alert models rather than in `bot/ports.py`, which the module size limit
keeps to the repositories every part uses.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.alerts.models import (
    AlertBatch,
    AlertDelivery,
    AlertFinish,
    AlertPause,
    AlertStatus,
    ChannelPlan,
)

if TYPE_CHECKING:
    from bot.follow.matching import Alert, AlertKind
    from bot.models import ChannelRef


class AlertLedger(Protocol):
    """Batches of new papers, and one delivery per (batch, channel), each paper once per channel."""

    def enqueue_new(self, *, first_seen_since: datetime, now: datetime) -> AlertBatch | None:
        """A batch of every paper first seen at or after `first_seen_since` (an ingest run's
        start), unless there is none. The run's papers committed before this is called."""
        ...

    def next_batch(self) -> AlertBatch | None:
        """The oldest batch not yet planned, locked for the caller's transaction (SKIP
        LOCKED on PostgreSQL, the write lock on SQLite): one planner per batch."""
        ...

    def plan(
        self, batch: AlertBatch, plans: Sequence[ChannelPlan], *, worker: str, now: datetime
    ) -> dict[int, int]:
        """Record the batch's messages as `queued` deliveries and mark the batch planned.

        Each (channel, paper) is inserted once for ever (insert on conflict do nothing):
        a paper the channel already had is dropped from its message, and a message left
        with no paper is not created. Returns {delivery id: papers in it}.
        """
        ...

    def claim(
        self, *, worker: str, now: datetime, platforms: Collection[str], limit: int
    ) -> list[AlertDelivery]:
        """Up to `limit` `queued` deliveries of these platforms, now `pending` for `worker`
        (SKIP LOCKED on PostgreSQL, so replicas split them)."""
        ...

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        platforms: Collection[str] | None = None,
    ) -> list[AlertDelivery]:
        """`pending` rows whose worker is dead (or, without `is_alive`, claimed before
        `older_than`), re-assigned to `worker`; their posts must be looked for first."""
        ...

    def take_retries(
        self, *, worker: str, now: datetime, platforms: Collection[str]
    ) -> list[AlertDelivery]:
        """Due `retrying` rows, `pending` again for `worker`."""
        ...

    def finish_many(self, outcomes: Sequence[AlertFinish], *, now: datetime) -> int:
        """Record outcomes of `pending` rows; others are left alone. Returns rows changed."""
        ...

    def items_many(
        self, delivery_ids: Sequence[int]
    ) -> dict[int, list[tuple[int, tuple[str, ...]]]]:
        """Each delivery's (paper key, alert descriptions), in planned order."""
        ...

    def hold(self, channel: ChannelRef, *, now: datetime) -> int:
        """The channel's `queued` and `retrying` deliveries become `paused`: its alerts are
        paused, so they would fail there too. Returns how many."""
        ...

    def release(self, channel: ChannelRef, *, now: datetime) -> int:
        """The channel's `paused` deliveries are `queued` again (for the next run), their
        give-up clock starting afresh from `now`. Their attempts are kept: one tried before
        may have landed unseen, so its next run looks on the platform before posting.
        Returns how many."""
        ...

    def get(self, delivery_id: int) -> AlertDelivery | None: ...

    def count(self, status: AlertStatus | None = None, *, channel: ChannelRef | None = None) -> int:
        """How many deliveries exist, or how many have `status`; only `channel`'s if given."""
        ...


class AlertRepository(Protocol):
    """Each channel's alerts (followed authors, saved searches), in the order they were made."""

    def add(
        self, channel: ChannelRef, kind: AlertKind, query: str, *, created_by: str | None
    ) -> tuple[Alert, bool]:
        """Add the alert unless the channel has it already; True if it was added."""
        ...

    def for_channel(self, channel: ChannelRef) -> list[Alert]:
        """The channel's alerts, oldest first (the numbering `following` shows)."""
        ...

    def remove(self, alert_id: int) -> bool:
        """Delete one alert. False if it no longer exists."""
        ...

    def every(self) -> list[tuple[Alert, ChannelRef]]:
        """Every channel's alerts with their channels (what alert delivery matches), but
        those of paused channels."""
        ...

    def pause(self, channel: ChannelRef, reason: str, *, now: datetime) -> bool:
        """Pause the channel's alerts: posting there failed for good. True if they were
        not paused already (and the channel has alerts)."""
        ...

    def paused(self, channel: ChannelRef) -> AlertPause | None:
        """Why and since when the channel's alerts are paused; None when they are not."""
        ...

    def resume(self, channel: ChannelRef) -> AlertPause | None:
        """Resume the channel's alerts; the pause it lifted, or None if there was none."""
        ...
