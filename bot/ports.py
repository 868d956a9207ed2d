"""Ports: the interfaces the core depends on, implemented at the edges.

`storage/` implements the repositories and the unit of work; each adapter implements
`MessageSink`; `bot/search` implements `SearchEngine`. `bot.testing.fakes` holds in-memory
implementations for tests. Every method here has a caller in the core or an adapter;
repositories are synchronous (SQLAlchemy sessions), and async callers run them in a thread.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:
    from bot.alerts.models import AlertPost
    from bot.alerts.ports import AlertLedger, AlertRepository
    from bot.search.vector_ports import PaperVectorStore

from bot.ingest.runs import HasIngestRuns  # staged ingest (issue 16): `UnitOfWork.ingest_runs`
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    Digest,
    FirstShare,
    Paper,
    PaperRecord,
    PostResult,
    SavedPaper,
    SavedStatus,
    SearchResults,
    Subscription,
    SubscriptionSpec,
    UpsertStats,
)
from bot.taste.votes_port import HasVotes  # channel taste (issue 13): `UnitOfWork.votes`


class PaperRepository(Protocol):
    """The stored papers. Ingest writes them; search, trending and digests read them."""

    def upsert_many(self, records: Iterable[PaperRecord], *, seen_at: datetime) -> UpsertStats:
        """Insert or merge records (never erasing a stored field, alike in any order:
        `bot.merge_rules`); returns what changed. A record matches a stored paper by arXiv
        id, else by normalised title; a title-only row is folded into the row that later
        brings its id. Each upvote change is kept as a snapshot for trending."""
        ...

    def get_many(self, keys: Sequence[int]) -> list[Paper]:
        """Papers for `keys`, in the order of `keys`, skipping unknown ones."""
        ...

    def get(self, key: int) -> Paper | None:
        """`key`'s paper, or the one it was merged into; None when deleted or unknown."""
        ...

    def find_by_paper_id(self, paper_id: str) -> Paper | None:
        """The paper with this arXiv (or other source) id, without version suffix."""
        ...

    def with_title_keys(self, title_keys: Collection[str]) -> list[Paper]:
        """Every paper whose title folds to one of `title_keys` (`bot.text.title_key`).

        How other versions of a work are found (`bot.duplicates`), wherever they are.
        """
        ...

    def count(self) -> int:
        """How many papers are stored."""
        ...

    def keys(self) -> set[int]:
        """Every stored paper key (a merge deletes the title-only row it absorbs)."""
        ...

    def iter_all(self, batch_size: int = 5000) -> Iterator[Paper]:
        """Every paper in key order, read `batch_size` rows at a time (for index builds)."""
        ...

    def published_since(self, since: date) -> list[Paper]:
        """Papers published on or after `since` (or first seen then, when undated)."""
        ...

    def last_change(self) -> int:
        """The change number of the last committed paper write (0 when there was none).

        Numbers are taken in commit order, so every write numbered up to it is visible.
        """
        ...

    def database_id(self) -> str:
        """An id made when the database was created: names the source of an index."""
        ...

    def changed_between(self, after: int, upto: int, batch_size: int = 5000) -> Iterator[Paper]:
        """Papers whose last write is numbered in (after, upto], by key."""
        ...

    def removed_between(self, after: int, upto: int) -> list[int]:
        """Keys deleted (merged away) by a write numbered in (after, upto], not since reused."""
        ...

    def upvote_history(self, keys: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
        """Upvote snapshots per paper key, oldest first."""
        ...


class SubscriptionRepository(Protocol):
    """Digest subscriptions: at most one per channel, each with its next due time."""

    def upsert(self, spec: SubscriptionSpec, *, next_run_at: datetime) -> Subscription:
        """Create the channel's subscription, or replace its settings (one per channel).

        Replacing also un-pauses it and resets its failure count.
        """
        ...

    def remove(self, channel: ChannelRef) -> bool:
        """Delete the channel's subscription. False if it had none."""
        ...

    def for_channel(self, channel: ChannelRef) -> Subscription | None:
        """The channel's subscription, if any."""
        ...

    def get(self, subscription_id: int) -> Subscription | None:
        """The subscription with this id, if it still exists."""
        ...

    def due(
        self,
        now: datetime,
        *,
        limit: int | None = None,
        lock: bool = False,
        platforms: Collection[str] | None = None,
    ) -> list[Subscription]:
        """Active subscriptions whose `next_run_at` is at or before `now`, earliest first.

        `lock=True` locks them for the caller's transaction (SKIP LOCKED on PostgreSQL,
        the database write lock on SQLite), so concurrent runners split the due set.
        `platforms` keeps only subscriptions of those platforms.
        """
        ...

    def set_next_runs(self, next_runs: dict[int, datetime]) -> None:
        """Set `next_run_at` of many subscriptions (id -> time) in one statement."""
        ...

    def record_outcome(
        self,
        subscription_id: int,
        *,
        permanent_failure: bool,
        reason: str | None = None,
        pause_after: int = 3,
    ) -> bool:
        """Count consecutive permanent failures (reset on success). True if now paused.

        The `pause_after`-th permanent failure in a row pauses the subscription with `reason`.
        """
        ...

    def reset_failures(self, subscription_ids: Sequence[int]) -> None:
        """A success for each: their consecutive permanent failure counts go back to 0."""
        ...

    def count(self) -> int:
        """How many subscriptions exist, paused or not."""
        ...


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """One row for `DeliveryLedger.claim_many`: a (subscription, date) and its plan."""

    subscription_id: int
    digest_date: date
    status: DeliveryStatus = DeliveryStatus.PENDING
    reason: str | None = None
    paper_keys: tuple[int, ...] = ()
    # Why each paper was chosen and the topic it matched, parallel to `paper_keys` (or
    # empty): kept with the plan so that a re-sent digest shows them as first planned.
    why: tuple[str | None, ...] = ()
    topics: tuple[str | None, ...] = ()

    def notes(self) -> dict[int, tuple[str | None, str | None]]:
        """Paper key -> (why, topic) for the planned papers that have either."""
        found: dict[int, tuple[str | None, str | None]] = {}
        for i, key in enumerate(self.paper_keys):
            why = self.why[i] if i < len(self.why) else None
            topic = self.topics[i] if i < len(self.topics) else None
            if why is not None or topic is not None:
                found.setdefault(key, (why, topic))
        return found


@dataclass(frozen=True, slots=True)
class FinishRequest:
    """One outcome for `DeliveryLedger.finish_many`."""

    delivery_id: int
    status: DeliveryStatus
    channel_key: str  # `ChannelRef.key` of the subscription: where sent papers are remembered
    message_id: str | None = None
    reason: str | None = None
    paper_keys: tuple[int, ...] = ()
    retry_at: datetime | None = None  # with status RETRYING: when a later tick may retry
    attempts: int | None = None  # delivery rounds tried so far; None keeps the stored count


class DeliveryLedger(Protocol):
    """One row per (subscription, digest date): claimed once, then pending -> final status.

    Batch forms throughout: a run fans out to thousands of channels in a few statements.
    """

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, worker: str, now: datetime
    ) -> dict[int, int]:
        """Insert a row per request unless its (subscription, date) has one already.

        Returns {subscription id: delivery id} of the new rows only, so of two concurrent
        claimers exactly one owns each day's digest. The rows record `worker` and `now`.
        """
        ...

    def finish_many(self, requests: Sequence[FinishRequest], *, now: datetime) -> int:
        """Record outcomes of `pending` rows; rows no longer pending are left alone.

        A `SENT` outcome also remembers its papers for the channel (`sent_paper_keys`).
        No `paper_keys` clears the stored plan. Returns how many rows changed.
        """
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
        """Pending rows left by a dead worker, re-assigned to `worker` as claimed at `now`.

        Locked `FOR UPDATE SKIP LOCKED` on PostgreSQL, so two recovering replicas never take
        the same row. With `is_alive`, a row is stale when its worker is dead; otherwise
        when it was claimed before `older_than`.
        """
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

    def sent_paper_keys(self, channel: ChannelRef) -> set[int]:
        """Every paper ever delivered to this channel, so digests never repeat one."""
        ...

    def planned_notes(self, delivery_id: int) -> dict[int, tuple[str | None, str | None]]:
        """Paper key -> (why, topic) as claimed (`ClaimRequest.notes`), for a re-send;
        empty for a row claimed before the ledger kept them."""
        ...

    def sent_paper_keys_many(self, channel_keys: Sequence[str]) -> dict[str, set[int]]:
        """`sent_paper_keys` for many channels (by `ChannelRef.key`); every key is present."""
        ...

    def unfinished_paper_keys_many(self, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
        """Planned papers of each subscription's `pending` and `retrying` deliveries."""
        ...

    def count(self, status: DeliveryStatus | None = None) -> int:
        """How many deliveries exist, or how many have `status`."""
        ...


class ReadingListRepository(Protocol):
    """Each channel's reading list (issue 14). A list belongs to one channel
    (`ChannelRef.key`: platform, workspace or guild, channel): no call reaches another's."""

    def add(self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime) -> bool:
        """Put the paper on the list as "to read"; False if it is on it already."""
        ...

    def entries(self, channel: ChannelRef) -> list[SavedPaper]:
        """The list in the order the papers were saved."""
        ...

    def update(
        self,
        channel: ChannelRef,
        paper_key: int,
        *,
        status: SavedStatus | None = None,
        assignee: str | None = None,
    ) -> bool:
        """Set the entry's status and/or presenter (None keeps it). False if not listed."""
        ...

    def remove(self, channel: ChannelRef, paper_key: int) -> bool:
        """Take the paper off the list. False if it was not on it."""
        ...


class ShareLog(Protocol):
    """Who first shared each paper in each channel (link memory, issue 14)."""

    def record(
        self, channel: ChannelRef, paper_key: int, *, user: str, now: datetime
    ) -> FirstShare:
        """Remember this share unless the channel saw the paper before; returns the first."""
        ...


class UnitOfWork(HasVotes, HasIngestRuns, Protocol):
    """One transaction. Commits on a clean exit from the `with` block, else rolls back."""

    # Read-only members, so an implementation may narrow them to its concrete repositories
    # (mutable protocol attributes would have to match the declared types exactly).
    @property
    def papers(self) -> PaperRepository: ...

    @property
    def subscriptions(self) -> SubscriptionRepository: ...

    @property
    def deliveries(self) -> DeliveryLedger: ...

    @property
    def alerts(self) -> AlertRepository: ...

    @property
    def alert_ledger(self) -> AlertLedger: ...

    @property
    def reading_list(self) -> ReadingListRepository: ...

    @property
    def shares(self) -> ShareLog: ...

    @property
    def vectors(self) -> PaperVectorStore: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def commit(self) -> None:
        """Commit what was done so far; the unit of work stays usable."""
        ...

    def rollback(self) -> None:
        """Undo everything since the last commit."""
        ...


class UnitOfWorkFactory(Protocol):
    """Opens a fresh unit of work (`with uow_factory() as uow: ...`)."""

    def __call__(self) -> UnitOfWork: ...


class MessageSink(Protocol):
    """Where digests go: one implementation per platform, plus the console."""

    async def post_digest(self, digest: Digest) -> PostResult:
        """Post one digest; a failure comes back as `PostResult(ok=False, reason=...)`."""
        ...

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        """The message id of an earlier post of this delivery, if it reached the channel."""
        ...

    async def post_alerts(self, post: AlertPost) -> PostResult:
        """Post one alert message (issue 14), failing as `post_digest` fails."""
        ...

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        """`find_posted` for alert deliveries (their ids are their own)."""
        ...


class SearchEngine(Protocol):
    """The search index. `search` understands the query syntax in `bot.search.query`."""

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        """One page of results, best first, with the total number of matches."""
        ...

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        """Title completions for autocomplete: (paper key, title)."""
        ...

    def add(self, papers: Iterable[Paper]) -> None:
        """Add or replace papers (by key) in the index."""
        ...

    def __len__(self) -> int:
        """How many papers are indexed."""
        ...


class KeyValueStore(Protocol):
    """Small opaque values by (namespace, name), shared by every replica.

    Adapters keep what must outlive a process here: Slack OAuth installations and states,
    Discord page queries too long for a button. Calls are synchronous (run them in a
    worker thread from async code); encryption, if any, is the caller's business.
    """

    def get(self, namespace: str, name: str) -> bytes | None: ...

    def put(self, namespace: str, name: str, value: bytes) -> None:
        """Insert or replace."""
        ...

    def add(self, namespace: str, name: str, value: bytes) -> bool:
        """Insert unless the name exists; True when this call stored it."""
        ...

    def pop(self, namespace: str, name: str) -> tuple[bytes, datetime] | None:
        """Delete and return a value with the time it was stored (one-time tokens)."""
        ...

    def delete(self, namespace: str, name: str) -> None: ...

    def delete_prefix(self, namespace: str, prefix: str) -> None: ...
