"""Ports: the interfaces the core depends on, implemented at the edges.

`storage/` implements the repositories and the unit of work; each adapter implements
`MessageSink`; `bot/search` implements `SearchEngine`. Unit tests of the core use fakes.
Repositories are synchronous (SQLAlchemy sessions); async callers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import Protocol, Self

from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    Digest,
    Paper,
    PaperRecord,
    PostResult,
    SearchResults,
    Subscription,
    SubscriptionSpec,
    UpsertStats,
)


class PaperRepository(Protocol):
    def upsert_many(self, records: Iterable[PaperRecord], *, seen_at: datetime) -> UpsertStats:
        """Insert or merge records; never erases a stored field. Returns what changed."""
        ...

    def get(self, key: int) -> Paper | None: ...

    def get_many(self, keys: Sequence[int]) -> list[Paper]:
        """Papers for `keys`, in the order of `keys`, skipping unknown ones."""
        ...

    def find_by_paper_id(self, paper_id: str) -> Paper | None: ...

    def count(self) -> int: ...

    def keys(self) -> set[int]:
        """Every stored paper key (a merge deletes the title-only row it absorbs)."""
        ...

    def iter_all(self, batch_size: int = 5000) -> Iterator[Paper]: ...

    def published_since(self, since: date) -> list[Paper]:
        """Papers published on or after `since` (or first seen then, when undated)."""
        ...

    def changed_since(self, since: datetime) -> list[Paper]:
        """Papers inserted or updated at or after `since`, for incremental index updates."""
        ...

    def upvote_history(self, keys: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
        """Upvote snapshots per paper key, oldest first."""
        ...


class SubscriptionRepository(Protocol):
    def upsert(self, spec: SubscriptionSpec, *, next_run_at: datetime) -> Subscription:
        """Create the channel's subscription, or replace its settings (one per channel)."""
        ...

    def remove(self, channel: ChannelRef) -> bool: ...

    def for_channel(self, channel: ChannelRef) -> Subscription | None: ...

    def get(self, subscription_id: int) -> Subscription | None: ...

    def list_all(self, *, platform: str | None = None) -> list[Subscription]: ...

    def due(
        self,
        now: datetime,
        *,
        limit: int | None = None,
        lock: bool = False,
        platforms: Collection[str] | None = None,
    ) -> list[Subscription]:
        """Active subscriptions whose `next_run_at` is at or before `now`.

        `lock=True` locks them for the caller's transaction (SKIP LOCKED on PostgreSQL),
        so concurrent runners split the due set.
        """
        ...

    def count_due(self, now: datetime) -> int: ...

    def set_next_run(self, subscription_id: int, next_run_at: datetime) -> None: ...

    def record_outcome(
        self,
        subscription_id: int,
        *,
        permanent_failure: bool,
        reason: str | None = None,
        pause_after: int = 3,
    ) -> bool:
        """Count consecutive permanent failures (reset on success). True if now paused."""
        ...

    def resume(self, channel: ChannelRef) -> bool: ...

    def set_next_runs(self, next_runs: dict[int, datetime]) -> None:
        """`set_next_run` for many subscriptions in one statement."""
        ...

    def reset_failures(self, subscription_ids: Sequence[int]) -> None:
        """A success for each: their consecutive permanent failure counts go back to 0."""
        ...

    def count(self) -> int: ...


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One row for `DeliveryLedger.claim_many`: a (subscription, date) and its plan."""

    subscription_id: int
    digest_date: date
    status: DeliveryStatus = DeliveryStatus.PENDING
    reason: str | None = None
    paper_keys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class FinishRequest:
    """One outcome for `DeliveryLedger.finish_many`."""

    delivery_id: int
    status: DeliveryStatus
    channel_key: str
    message_id: str | None = None
    reason: str | None = None
    paper_keys: tuple[int, ...] = ()
    retry_at: datetime | None = None  # with status RETRYING: when a later tick may retry
    attempts: int | None = None  # delivery rounds tried so far; None keeps the stored count


class DeliveryLedger(Protocol):
    def claim(
        self,
        subscription_id: int,
        digest_date: date,
        *,
        worker: str,
        now: datetime,
        status: DeliveryStatus = DeliveryStatus.PENDING,
        reason: str | None = None,
        paper_keys: Sequence[int] = (),
    ) -> Delivery | None:
        """Insert a row (pending by default) unless one exists; None if one already does."""
        ...

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """Pending rows left by a dead worker, locked for this worker (SKIP LOCKED on PG)
        and stamped as claimed at `now`.

        With `is_alive`, a row is stale when its worker is dead; otherwise when it was
        claimed before `older_than`.
        """
        ...

    def plan(self, delivery_id: int, paper_keys: Sequence[int]) -> None:
        """Store the papers chosen for a pending delivery before it is posted."""
        ...

    def finish(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        *,
        now: datetime,
        message_id: str | None = None,
        reason: str | None = None,
        paper_keys: Sequence[int] = (),
    ) -> None: ...

    def bump_attempts(self, delivery_id: int, *, now: datetime) -> int: ...

    def get(self, delivery_id: int) -> Delivery | None: ...

    def sent_paper_keys(self, channel: ChannelRef) -> set[int]:
        """Every paper ever delivered to this channel, so digests never repeat one."""
        ...

    def count(self, status: DeliveryStatus | None = None) -> int: ...

    # Batch forms, for fan-outs to thousands of channels (a few statements per batch).
    def claim_many(
        self, requests: Sequence[ClaimRequest], *, worker: str, now: datetime
    ) -> dict[int, int]:
        """`claim` for many subscriptions: {subscription id: delivery id} of new rows."""
        ...

    def finish_many(self, requests: Sequence[FinishRequest], *, now: datetime) -> int:
        """`finish` for many pending rows; rows no longer pending are left alone.

        Returns how many rows changed.
        """
        ...

    def sent_paper_keys_many(self, channel_keys: Sequence[str]) -> dict[str, set[int]]: ...

    def unfinished_paper_keys_many(self, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
        """Planned papers of each subscription's `pending` and `retrying` deliveries."""
        ...

    def take_retries(
        self,
        *,
        worker: str,
        now: datetime,
        platforms: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """`retrying` rows due at `now` (`retry_at <= now`), moved to `pending` for `worker`
        and stamped as claimed at `now`.

        Locked `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite takes its write lock first),
        so of several replicas exactly one takes each row; the rows commit as `pending`
        with the caller's transaction, after which worker liveness protects them.
        """
        ...


class UnitOfWork(Protocol):
    """One transaction. Commits on a clean exit from the `with` block, else rolls back."""

    # Read-only members, so an implementation may narrow them to its concrete repositories
    # (mutable protocol attributes would have to match the declared types exactly).
    @property
    def papers(self) -> PaperRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def deliveries(self) -> DeliveryLedger: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None: ...

    def rollback(self) -> None: ...


class UnitOfWorkFactory(Protocol):
    def __call__(self) -> UnitOfWork: ...


class MessageSink(Protocol):
    """Where digests go: one implementation per platform, plus the console."""

    async def post_digest(self, digest: Digest) -> PostResult: ...

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        """The message id of an earlier post of this delivery, if it reached the channel."""
        ...


class SearchEngine(Protocol):
    """The search index. `search` understands the query syntax in `bot.search.query`."""

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults: ...

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """Title completions for autocomplete: (paper key, title)."""
        ...

    def add(self, papers: Iterable[Paper]) -> None:
        """Add or replace papers (by key) in the index."""
        ...

    def __len__(self) -> int: ...
