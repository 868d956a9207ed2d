"""Platform-neutral value types shared by the core, storage and every adapter.

Nothing here knows about Slack, Discord or SQL: adapters translate their events into a
`CommandRequest`, the core answers with a `Reply`, and storage persists `Paper` rows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    # Only for the annotation: bot.commands.types itself builds on these models.
    from bot.commands.types import Command


class Platform(enum.StrEnum):
    SLACK = "slack"
    DISCORD = "discord"
    CONSOLE = "console"


@dataclass(frozen=True, slots=True)
class PaperRecord:
    """One paper as a source describes it, before deduplication.

    Every field but the title may be missing: parsers fill what their source has and
    storage merges records field by field, so a later, richer source never loses data.
    """

    title: str
    source: str
    paper_id: str | None = None
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    published: date | None = None
    upvotes: int | None = None
    comments: int | None = None
    github_repo: str | None = None
    project_page: str | None = None
    organization: str | None = None
    keywords: tuple[str, ...] = ()
    ai_summary: str | None = None
    categories: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Paper:
    """A stored, deduplicated paper. `key` is the internal row id; `paper_id` the public id."""

    key: int
    title: str
    paper_id: str | None = None
    abstract: str | None = None
    authors: tuple[str, ...] = ()
    author_count: int | None = None
    published: date | None = None
    upvotes: int | None = None
    comments: int | None = None
    github_repo: str | None = None
    project_page: str | None = None
    organization: str | None = None
    keywords: tuple[str, ...] = ()
    ai_summary: str | None = None
    categories: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    first_seen: datetime | None = None
    updated: datetime | None = None

    @property
    def is_arxiv(self) -> bool:
        from bot.text import is_arxiv_id

        return self.paper_id is not None and is_arxiv_id(self.paper_id)

    @property
    def arxiv_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.paper_id}" if self.is_arxiv else None

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.paper_id}" if self.is_arxiv else None

    @property
    def search_url(self) -> str | None:
        """For a paper known only by title (a page capture): an arXiv title search for it.

        Not the paper's own page, which we do not know, so renderers label it a search and
        never put it behind the title.
        """
        if self.paper_id is not None:
            return None
        return "https://arxiv.org/search/?" + urlencode(
            {"query": self.title, "searchtype": "title"}
        )

    @property
    def url(self) -> str | None:
        """The best single link for the paper: arXiv, else the ACL Anthology, else none."""
        if self.paper_id is None:
            return None
        if self.is_arxiv:
            return self.arxiv_url
        return f"https://aclanthology.org/{self.paper_id}"


@dataclass(frozen=True, slots=True)
class UpsertStats:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    merged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def __add__(self, other: UpsertStats) -> UpsertStats:
        return UpsertStats(
            self.inserted + other.inserted,
            self.updated + other.updated,
            self.unchanged + other.unchanged,
            self.merged + other.merged,
        )


@dataclass(frozen=True, slots=True)
class PaperCard:
    """What a reply shows of one paper; each adapter renders it its own way."""

    paper: Paper
    score: float | None = None
    rank: int | None = None
    # Link memory (issue 14): who first shared the paper in this channel, when the card
    # answers a pasted link and the channel has seen the paper before.
    first_share: FirstShare | None = None
    # Authors an `author:` search matched; renderers show them even past "et al.".
    matched_authors: tuple[str, ...] = ()
    # Other versions of the same work (`bot.duplicates`): an ACL Anthology paper of an
    # arXiv preprint, say. Shown once, with every version's link.
    versions: tuple[Paper, ...] = ()
    # The digest topic (subscription keyword) this paper matched, lexically or by meaning.
    topic: str | None = None

    def version_links(self) -> list[tuple[str, str]]:
        """(label, url) of the other versions, e.g. `("ACL Anthology 2024.acl-long.1", url)`."""
        from bot.duplicates import version_link

        links = (version_link(p) for p in self.versions)
        return [link for link in links if link is not None and link[1] != self.paper.url]

    @property
    def keys(self) -> frozenset[int]:
        """The stored keys of every version shown by this card."""
        return frozenset((self.paper.key, *(p.key for p in self.versions)))

    # Channel taste (issue 13): why a digest chose this paper ("like “X”, 👍 on 12 Nov"),
    # plain text that each renderer escapes; None for papers not chosen by taste.
    why: str | None = None

    def shown_authors(self, limit: int) -> list[str]:
        """Up to `limit` names in paper order, the matched authors always among them."""
        names = [a for a in self.paper.authors if a and a.strip()]
        matched = [a for a in names if a in self.matched_authors]
        if not matched:
            return names[:limit]
        keep = set(matched[:limit])
        for name in names:
            if len(keep) >= limit:
                break
            keep.add(name)
        return [a for a in names if a in keep][:limit]


@dataclass(frozen=True, slots=True)
class SearchResults:
    """One page of ranked hits, best first; `total` counts all matches, for paging."""

    cards: tuple[PaperCard, ...]
    total: int
    query: str
    # True when `total` stopped at the engine's candidate cap: there may be more matches.
    capped: bool = False

    @property
    def total_label(self) -> str:
        """`37`, or `200+` when the count is only a lower bound."""
        return f"{self.total}+" if self.capped else str(self.total)


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """One slash command, translated by an adapter into platform-neutral terms.

    `command` is the typed command (`bot.commands.types`), parsed from text or built from
    typed options. `workspace` is the Slack team or Discord guild (None in a DM);
    `can_manage` says whether the adapter established that the user may change this
    channel's subscriptions.
    """

    platform: Platform
    channel: str
    user: str
    command: Command
    workspace: str | None = None
    can_manage: bool = False
    is_direct_message: bool = False
    # Where a paged listing starts; set by adapters when a Next/Previous button is pressed.
    offset: int = 0


@dataclass(frozen=True, slots=True)
class PageCursor:
    """Where the next or previous page of a result list starts. Encoded into buttons."""

    command: str
    query: str
    offset: int
    page_size: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.offset + self.page_size < self.total

    @property
    def has_previous(self) -> bool:
        return self.offset > 0

    def next(self) -> PageCursor:
        return PageCursor(
            self.command, self.query, self.offset + self.page_size, self.page_size, self.total
        )

    def previous(self) -> PageCursor:
        return PageCursor(
            self.command,
            self.query,
            max(0, self.offset - self.page_size),
            self.page_size,
            self.total,
        )


class ReplyKind(enum.StrEnum):
    HELP = "help"
    SEARCH = "search"
    TRENDING = "trending"
    SUBSCRIPTION = "subscription"
    ERROR = "error"
    INFO = "info"
    READING_LIST = "reading_list"
    CITATION = "citation"
    TASTE = "taste"


@dataclass(frozen=True, slots=True)
class Reply:
    """The core's neutral answer. `notes` are short remarks (e.g. "query was shortened")."""

    kind: ReplyKind
    text: str
    cards: tuple[PaperCard, ...] = ()
    cursor: PageCursor | None = None
    ephemeral: bool = True
    notes: tuple[str, ...] = ()
    title: str | None = None
    # Reading list (issue 14): the listed papers, a preformatted block (BibTeX) and a file
    # to upload; each adapter renders them its own way.
    listing: tuple[ListedPaper, ...] = ()
    code: str | None = None
    attachment: Attachment | None = None


class Weekday(enum.IntEnum):
    MON = 0
    TUE = 1
    WED = 2
    THU = 3
    FRI = 4
    SAT = 5
    SUN = 6


class Cadence(enum.StrEnum):
    """How often a subscription's digest comes: each chosen weekday, or once a week."""

    DAILY = "daily"
    WEEKLY = "weekly"


WEEKLY_DAYS = 7  # a weekly digest covers the 7 calendar days before it

WEEKDAYS_DEFAULT: tuple[Weekday, ...] = (
    Weekday.MON,
    Weekday.TUE,
    Weekday.WED,
    Weekday.THU,
    Weekday.FRI,
)


@dataclass(frozen=True, slots=True)
class ChannelRef:
    platform: Platform
    channel: str
    workspace: str | None = None

    @property
    def key(self) -> str:
        """Stable text key of a channel, used to remember which papers it already got."""
        return f"{self.platform.value}:{self.workspace or '-'}:{self.channel}"


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a user asked for with `subscribe`; storage adds identity and schedule state."""

    channel: ChannelRef
    at: time
    timezone: str
    weekdays: tuple[Weekday, ...] = WEEKDAYS_DEFAULT
    keywords: tuple[str, ...] = ()
    min_upvotes: int = 0
    top_n: int = 5
    window_days: int = 3
    created_by: str | None = None
    # Weekly: `weekdays` holds the one day it is posted, and the window is 7 days.
    cadence: Cadence = Cadence.DAILY


@dataclass(frozen=True, slots=True)
class Subscription:
    id: int
    spec: SubscriptionSpec
    next_run_at: datetime | None
    paused: bool = False
    paused_reason: str | None = None
    consecutive_failures: int = 0
    created_at: datetime | None = None

    @property
    def channel(self) -> ChannelRef:
        return self.spec.channel


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    EMPTY = "empty"
    # A transient failure (5xx, timeout, 429s) that a later tick retries while it is still
    # the digest's local day; then it becomes `sent`, or `failed` once the day is over.
    RETRYING = "retrying"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    subscription_id: int
    digest_date: date
    status: DeliveryStatus
    message_id: str | None = None
    reason: str | None = None
    attempts: int = 0
    claimed_by: str | None = None
    claimed_at: datetime | None = None
    updated_at: datetime | None = None
    paper_keys: tuple[int, ...] = field(default=())
    retry_at: datetime | None = None  # when a `retrying` row is due again


@dataclass(frozen=True, slots=True)
class Digest:
    """The content of one scheduled digest, before a platform renders it."""

    delivery_id: int
    channel: ChannelRef
    digest_date: date
    cards: tuple[PaperCard, ...]
    title: str
    more_url: str | None = None


@dataclass(frozen=True, slots=True)
class PostResult:
    """Outcome of one `MessageSink.post`.

    `ok` with a `message_id` when posted; otherwise `permanent` says whether a retry could
    ever help (channel gone, bot removed) and `retry_after` how long the platform asked to wait.
    """

    ok: bool
    message_id: str | None = None
    reason: str | None = None
    permanent: bool = False
    retry_after: float | None = None


# -- Reading list, citations and link memory (issue 14) ---------------------------------


class SavedStatus(enum.StrEnum):
    TO_READ = "to read"
    DISCUSSED = "discussed"


@dataclass(frozen=True, slots=True)
class SavedPaper:
    """One paper on a channel's reading list (`channel_key` is `ChannelRef.key`)."""

    channel_key: str
    paper_key: int
    saved_by: str
    saved_at: datetime
    status: SavedStatus = SavedStatus.TO_READ
    assignee: str | None = None


@dataclass(frozen=True, slots=True)
class ListedPaper:
    """A reading-list entry as `/papers list` shows it: its number, the paper, who saved it."""

    position: int
    paper: Paper
    saved: SavedPaper


@dataclass(frozen=True, slots=True)
class FirstShare:
    """Who first shared a paper in a channel, and when (link memory)."""

    channel_key: str
    paper_key: int
    shared_by: str
    shared_at: datetime


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file a reply uploads (a `.bib` export): Slack upload, Discord attachment, console file."""

    filename: str
    content: bytes
    title: str | None = None
