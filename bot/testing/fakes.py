"""In-memory implementations of the ports, for tests of the core and of future adapters.

Shipped with the package (as httpx ships `MockTransport`), so any test can drive the core
without a database or a chat platform:

    store = FakeDatabase()
    runner = DigestRunner(store.uow, {Platform.SLACK: FakeSink()}, ...)

`FakeDatabase.uow()` behaves like `storage.db.Database.uow()` for everything the core uses:
claims are once-only per (subscription, date), finishing only touches pending rows, sent
papers are remembered per channel, and a unit of work left by an exception rolls back.
Paper upserts dedupe by id, then by normalised title, and never erase a stored field.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

from bot.alerts.models import AlertPost
from bot.digests.schedule import next_run_after
from bot.models import (
    WEEKDAYS_DEFAULT,
    Cadence,
    ChannelRef,
    Digest,
    PaperRecord,
    Platform,
    PostResult,
    Subscription,
    SubscriptionSpec,
    Weekday,
)
from bot.ports import MessageSink, UnitOfWork, UnitOfWorkFactory
from bot.testing.fake_alert_ledger import FakeAlertLedger, FakeAlertRepository
from bot.testing.fake_ingest_runs import FakeIngestRuns
from bot.testing.fake_papers import FakePaperRepository
from bot.testing.fake_reading_list import FakeReadingList, FakeShareLog
from bot.testing.fake_repositories import (
    FakeDeliveryLedger,
    FakeState,
    FakeSubscriptionRepository,
)
from bot.testing.fake_vectors import FakePaperVectors
from bot.testing.fake_votes import FakeVoteRepository

__all__ = [
    "ALL_DAYS",
    "FakeDatabase",
    "FakeDeliveryLedger",
    "FakePaperRepository",
    "FakeSink",
    "FakeSubscriptionRepository",
    "FakeUnitOfWork",
    "seed_papers",
    "subscribe",
]

ALL_DAYS = tuple(Weekday)

# What a `FakeSink` does on one post attempt: return a PostResult, or "land-then-500" to
# post the message but report a server error (the ambiguous case); None posts normally.
Behaviour = Callable[[Digest, int], "PostResult | str | None"]


@dataclass
class FakeSink:
    """A `MessageSink` that records every digest that 'reached' a channel.

    `behaviour` scripts failures per (digest, attempt number in that channel).
    """

    behaviour: Behaviour | None = None
    delivered: dict[str, list[Digest]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    lookups: int = 0
    # Alert messages that reached each channel; `alert_behaviour` scripts their failures.
    alerts: dict[str, list[AlertPost]] = field(default_factory=dict)
    alert_behaviour: Callable[[AlertPost, int], PostResult | str | None] | None = None

    async def post_digest(self, digest: Digest) -> PostResult:
        key = digest.channel.key
        self.attempts[key] = self.attempts.get(key, 0) + 1
        verdict = self.behaviour(digest, self.attempts[key]) if self.behaviour else None
        if isinstance(verdict, PostResult):
            return verdict
        self.delivered.setdefault(key, []).append(digest)
        message_id = f"m{digest.delivery_id}"
        if verdict == "land-then-500":
            return PostResult(ok=False, reason="http_500")
        return PostResult(ok=True, message_id=message_id)

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        self.lookups += 1
        for digest in self.delivered.get(channel.key, []):
            if digest.delivery_id == delivery_id:
                return f"m{delivery_id}"
        return None

    async def post_alerts(self, post: AlertPost) -> PostResult:
        key = post.channel.key
        self.attempts[key] = self.attempts.get(key, 0) + 1
        behaviour = self.alert_behaviour
        verdict = behaviour(post, self.attempts[key]) if behaviour else None
        if isinstance(verdict, PostResult):
            return verdict
        self.alerts.setdefault(key, []).append(post)
        if verdict == "land-then-500":
            return PostResult(ok=False, reason="http_500")
        return PostResult(ok=True, message_id=f"a{post.delivery_id}")

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        self.lookups += 1
        for post in self.alerts.get(channel.key, []):
            if post.delivery_id == delivery_id:
                return f"a{delivery_id}"
        return None

    def count(self, channel: ChannelRef) -> int:
        """How many digests reached `channel`."""
        return len(self.delivered.get(channel.key, []))


class FakeUnitOfWork:
    """One transaction over the in-memory state: commits on a clean exit, else rolls back.

    Units of work are serialised by the database's lock, like SQLite's single writer.
    """

    def __init__(self, database: FakeDatabase) -> None:
        self._db = database

    def __enter__(self) -> Self:
        self._db.lock.acquire()
        self._saved = self._db.state.copy()
        self.papers = FakePaperRepository(self._db.state)
        self.subscriptions = FakeSubscriptionRepository(self._db.state)
        self.deliveries = FakeDeliveryLedger(self._db.state)
        self.alerts = FakeAlertRepository(self._db.state)
        self.alert_ledger = FakeAlertLedger(self._db.state)
        self.reading_list = FakeReadingList(self._db.state)
        self.shares = FakeShareLog(self._db.state)
        self.vectors = FakePaperVectors(self._db.state)
        self.votes = FakeVoteRepository(self._db.state)
        self.ingest_runs = FakeIngestRuns(self._db.state, self.papers)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self._db.lock.release()

    def commit(self) -> None:
        self._saved = self._db.state.copy()

    def rollback(self) -> None:
        restored = self._saved.copy()
        state = self._db.state
        state.papers, state.upvotes = restored.papers, restored.upvotes
        state.subscriptions, state.deliveries = restored.subscriptions, restored.deliveries
        state.delivery_notes = restored.delivery_notes
        state.sent, state.next_id = restored.sent, restored.next_id
        state.alerts = restored.alerts
        state.saved, state.shares = restored.saved, restored.shares
        state.alert_batches = restored.alert_batches
        state.alert_deliveries, state.alert_items = restored.alert_deliveries, restored.alert_items
        state.changes, state.tombstones = restored.changes, restored.tombstones
        state.survivors = restored.survivors
        state.change = restored.change
        state.vectors = restored.vectors
        state.votes, state.taste_off = restored.votes, restored.taste_off
        state.change, state.runs = restored.change, restored.runs


@dataclass
class FakeDatabase:
    """The in-memory store; `uow` is a `UnitOfWorkFactory`, like `Database.uow`."""

    state: FakeState = field(default_factory=FakeState)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def uow(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class HasUnitOfWork(Protocol):
    """`FakeDatabase` or `storage.db.Database`: anything that opens units of work."""

    def uow(self) -> UnitOfWork: ...


def seed_papers(db: HasUnitOfWork, day: date, *, per_day: int = 12, days: int = 6) -> None:
    """`per_day` papers published on each of the `days` days up to `day`, with upvotes."""
    records = []
    for back in range(days):
        published = day - timedelta(days=back)
        for i in range(per_day):
            records.append(
                PaperRecord(
                    title=f"Paper {published.isoformat()} number {i} on "
                    + ("diffusion models" if i % 3 == 0 else "language agents"),
                    source="test",
                    paper_id=f"2{published.strftime('%y%m')}.{published.day:02d}{i:03d}",
                    abstract="An abstract.",
                    authors=("A. Author",),
                    published=published,
                    upvotes=10 + i * 3,
                )
            )
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0, 0)).astimezone())


def subscribe(
    db: HasUnitOfWork,
    channel: str,
    *,
    at: time = time(9, 0),
    tz: str = "UTC",
    created: datetime,
    platform: Platform = Platform.SLACK,
    weekdays: tuple[Weekday, ...] = ALL_DAYS,
    keywords: tuple[str, ...] = (),
    min_upvotes: int = 0,
    top_n: int = 5,
    cadence: Cadence = Cadence.DAILY,
) -> Subscription:
    """Subscribe `channel` (workspace T1 on Slack, guild G1 on Discord) as of `created`."""
    spec = SubscriptionSpec(
        channel=ChannelRef(platform, channel, "T1" if platform is Platform.SLACK else "G1"),
        at=at,
        timezone=tz,
        weekdays=weekdays or WEEKDAYS_DEFAULT,
        keywords=keywords,
        min_upvotes=min_upvotes,
        top_n=top_n,
        cadence=cadence,
    )
    with db.uow() as uow:
        return uow.subscriptions.upsert(spec, next_run_at=next_run_after(spec, created))


if TYPE_CHECKING:  # mypy proves the fakes implement the ports they stand in for
    _factory: UnitOfWorkFactory = FakeDatabase().uow
    _sink: MessageSink = FakeSink()
