"""The one entry point of the core: `CommandCore.dispatch(CommandRequest) -> Reply`.

Adapters translate platform events into a `CommandRequest` and render the `Reply`. No
input, however malformed, makes `dispatch` raise: unexpected failures are logged with a
reference and the user gets a short apology instead of a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.commands.alerts import AlertCommands
from bot.commands.help import HELP_TEXT
from bot.commands.parser import parse, search_command
from bot.commands.reading import PaperFetcher, ReadingListCommands, resolve_paper
from bot.commands.similar import SimilarCommands
from bot.commands.taste import TasteCommands
from bot.commands.types import (
    AlertMatches,
    AlertSearch,
    Command,
    FollowAuthor,
    Following,
    Help,
    Invalid,
    Search,
    Subscribe,
    Subscriptions,
    Trending,
    Unfollow,
    Unsubscribe,
)
from bot.digests.schedule import next_run_after
from bot.links import PaperLink, find_paper_links
from bot.metrics import observe_command, time_search
from bot.models import (
    WEEKDAYS_DEFAULT,
    Cadence,
    ChannelRef,
    CommandRequest,
    PageCursor,
    PaperCard,
    Platform,
    Reply,
    ReplyKind,
    Subscription,
    SubscriptionSpec,
    Weekday,
)
from bot.panic import is_native_panic
from bot.ports import SearchEngine, UnitOfWorkFactory
from bot.search.similar import Neighbours, SimilarPapers
from bot.text import bare_arxiv_id, clean_text, plural, shorten
from bot.trending.score import TrendingQuery, top_trending

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_AT = time(9, 0)
_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class CoreConfig:
    default_timezone: str = "UTC"
    max_query_length: int = 256
    page_size: int = 5
    trending_days: int = 3
    trending_default: int = 5


def local_time(moment: datetime, timezone: str) -> str:
    """`moment` as the channel reads it: "Mon 23 Nov 09:00 CET"."""
    return moment.astimezone(ZoneInfo(timezone)).strftime("%a %d %b %H:%M %Z")


def merge_subscription(
    command: Subscribe,
    base: SubscriptionSpec | None,
    *,
    channel: ChannelRef,
    default_timezone: str,
    user: str,
) -> SubscriptionSpec:
    """The subscription after `command`: what it gives replaces, the rest stays as it was
    (or takes the default, for a new subscription). One rule for every field."""
    base = base or SubscriptionSpec(channel=channel, at=DEFAULT_AT, timezone=default_timezone)

    def given(value: T | None, kept: T) -> T:
        return kept if value is None else value

    cadence = given(command.cadence, base.cadence)
    weekdays = command.weekdays
    if weekdays is None and cadence is not base.cadence:
        # Switching cadence without naming days: Monday for weekly, Mon–Fri for daily.
        weekdays = (Weekday.MON,) if cadence is Cadence.WEEKLY else WEEKDAYS_DEFAULT
    if cadence is Cadence.WEEKLY and weekdays is not None and len(weekdays) > 1:
        # `days=mon,wed` on a weekly digest asks for several days a week: that is daily.
        cadence = Cadence.DAILY
    return replace(
        base,
        channel=channel,
        cadence=cadence,
        at=given(command.at, base.at),
        timezone=given(command.timezone, base.timezone),
        weekdays=given(weekdays, base.weekdays),
        keywords=given(command.keywords, base.keywords),
        min_upvotes=given(command.min_upvotes, base.min_upvotes),
        top_n=given(command.top_n, base.top_n),
        created_by=user,
    )


def describe_subscription(sub: Subscription) -> str:
    spec = sub.spec
    days = sorted(set(spec.weekdays))
    if spec.cadence is Cadence.WEEKLY:
        day_text = f"weekly on {_DAY_LABELS[days[0]] if days else 'Mon'}"
    elif days == list(range(7)):
        day_text = "every day"
    elif days == list(range(5)):
        day_text = "Mon–Fri"
    else:
        day_text = ", ".join(_DAY_LABELS[d] for d in days)
    text = f"{spec.at.strftime('%H:%M')} {spec.timezone}, {day_text}, top {spec.top_n}"
    if spec.keywords:
        text += f", keywords: {', '.join(spec.keywords)}"
    if spec.min_upvotes:
        text += f", at least {plural(spec.min_upvotes, 'upvote')}"
    if sub.paused:
        text += f" — PAUSED ({sub.paused_reason or 'repeated delivery failures'})"
    return text


def _digest_kind(spec: SubscriptionSpec) -> str:
    if spec.cadence is Cadence.WEEKLY:
        return "the week's top papers (past 7 days)"
    return "daily trending papers"


# Platforms whose DMs cannot hold a channel's subscription (Discord digests go to a
# server channel); the one place this rule lives.
_NO_SUBSCRIPTIONS_IN_DMS = frozenset({Platform.DISCORD})
# Commands whose refusal names the channel's alerts rather than its subscription.
_ALERT_COMMANDS = (FollowAuthor, AlertSearch, Unfollow)
DM_REFUSAL = "Subscriptions belong to a server channel; run this in a channel, not a DM."


class CommandCore:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        search: SearchEngine,
        config: CoreConfig,
        clock: Callable[[], datetime] | None = None,
        fetch_paper: PaperFetcher | None = None,
        neighbours: Neighbours | None = None,
    ) -> None:
        self.uow = uow
        self.search_engine = search
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))
        # One handler per command class: a new command adds one entry here.
        self._handlers: dict[type[Command], Callable[[Any, CommandRequest], Reply]] = {
            Search: self._search,
            Trending: self._trending,
            Subscribe: self._subscribe,
            Unsubscribe: self._unsubscribe,
            Subscriptions: self._subscriptions,
            Help: self._help,
            Invalid: self._invalid,
        }
        # Alerts (issue 14): follow an author, saved searches, list and remove them.
        alerts = AlertCommands(uow, search, self.clock)
        self._handlers |= {
            FollowAuthor: lambda c, r: alerts.follow(c, self._channel(r), r.user),
            AlertSearch: lambda c, r: alerts.alert(c, self._channel(r), r.user),
            Following: lambda c, r: alerts.following(c, self._channel(r)),
            Unfollow: lambda c, r: alerts.unfollow(c, self._channel(r)),
            AlertMatches: lambda c, r: alerts.show_all(c, self._channel(r)),
        }
        # Reading list and citations (issue 14).
        self.reading = ReadingListCommands(uow, self.clock, fetch_paper)
        self._handlers.update(self.reading.handlers())
        # More like this (issue 12): the search index's own neighbours unless given others.
        if neighbours is None and isinstance(search, Neighbours):
            neighbours = search
        similar = SimilarPapers(uow, search, neighbours, fetch_paper)
        self._handlers.update(SimilarCommands(similar, config.page_size).handlers())
        # Channel taste (issue 13): votes and the taste commands; `taste.react` takes
        # reactions, `taste.forget_workspace` an uninstall.
        self.taste = TasteCommands(uow, self.clock)
        self._handlers.update(self.taste.handlers())

    def parse(self, text: str) -> Command:
        """Command text as a typed command, with this core's limits applied."""
        return parse(text, max_query_length=self.config.max_query_length)

    async def dispatch(self, request: CommandRequest) -> Reply:
        """Answer one command. Never raises."""
        label = request.command.label
        try:
            reply = await asyncio.to_thread(self.handle, request)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed (ref %s): %s", ref, repr(request.command)[:300])
            return self._apology(request, label, ref)
        except BaseException as exc:
            # A panic in tantivy is a BaseException; anything else (cancellation, exit)
            # must still propagate.
            if not is_native_panic(exc):
                raise
            ref = uuid.uuid4().hex[:8]
            log.exception("command panicked in native code (ref %s): %s", ref, label)
            return self._apology(request, label, ref)
        outcome = "rejected" if reply.kind is ReplyKind.ERROR else "ok"
        observe_command(request.platform, label, outcome)
        return reply

    def _apology(self, request: CommandRequest, command: str, ref: str) -> Reply:
        observe_command(request.platform, command, "failed")
        return Reply(
            ReplyKind.ERROR,
            f"Sorry, something went wrong on our side (ref {ref}). Please try again.",
        )

    def handle(self, request: CommandRequest) -> Reply:
        """Synchronous body of `dispatch`, for callers already off the event loop."""
        command = request.command
        denied = self._refusal(command, request)
        if denied is not None:
            return denied
        return self._handlers[type(command)](command, request)

    def _refusal(self, command: Command, request: CommandRequest) -> Reply | None:
        if (
            command.channel_only
            and request.is_direct_message
            and request.platform in _NO_SUBSCRIPTIONS_IN_DMS
        ):
            return Reply(ReplyKind.ERROR, DM_REFUSAL, title="Subscription")
        if command.needs_manage and not request.can_manage:
            what = "alerts" if isinstance(command, _ALERT_COMMANDS) else "subscription"
            return Reply(
                ReplyKind.ERROR, f"Only people who manage this channel can change its {what}."
            )
        return None

    def _help(self, command: Help, _request: CommandRequest) -> Reply:
        return Reply(ReplyKind.HELP, HELP_TEXT, notes=command.notes, title="papers-bot help")

    def _invalid(self, command: Invalid, _request: CommandRequest) -> Reply:
        return Reply(ReplyKind.ERROR, command.error, notes=command.notes)

    def _search(self, command: Search, request: CommandRequest) -> Reply:
        size = self.config.page_size
        offset = max(0, request.offset)
        # Searches built from typed options (Discord) never met the parser: check them here.
        checked = search_command(
            command.query.strip(), self.config.max_query_length, explicit=command.explicit
        )
        if not isinstance(checked, Search):
            return self.handle(replace(request, command=checked))
        query, notes = checked.query, command.notes + checked.notes
        with time_search():
            results = self.search_engine.search(query, limit=size, offset=offset)
        if not results.cards:
            if offset:
                return Reply(ReplyKind.SEARCH, "No more results.", notes=notes, title="Search")
            if not command.explicit:
                word = shorten(query.split()[0], 30)
                notes += (
                    f"`{word}` is not a command, so I searched for it; "
                    "type `help` to see the commands.",
                )
            text = f"No papers match “{query}”."
            return Reply(ReplyKind.SEARCH, text, notes=notes, title="Search")
        shown_to = offset + len(results.cards)
        text = f"Results {offset + 1}–{shown_to} of {results.total_label} for “{query}”"
        cursor = PageCursor("search", query, offset, size, results.total)
        return Reply(
            ReplyKind.SEARCH,
            text,
            cards=results.cards,
            cursor=cursor,
            notes=notes,
            title="Search",
        )

    def _trending(self, command: Trending, _request: CommandRequest) -> Reply:
        limit = command.count or self.config.trending_default
        with self.uow() as uow:
            result = top_trending(
                uow, TrendingQuery(now=self.clock(), days=self.config.trending_days, limit=limit)
            )
        notes = list(command.notes)
        if result.widened:
            notes.append(
                f"Nothing new in the last {plural(self.config.trending_days, 'day')}; "
                "showing the most recent papers instead."
            )
        if not result.cards:
            return Reply(
                ReplyKind.TRENDING,
                "No papers yet. Ingest some first.",
                notes=tuple(notes),
                title="Trending",
            )
        return Reply(
            ReplyKind.TRENDING,
            f"Top {plural(len(result.cards), 'trending paper')}",
            cards=result.cards,
            notes=tuple(notes),
            title="Trending papers",
        )

    def _channel(self, request: CommandRequest) -> ChannelRef:
        return ChannelRef(request.platform, request.channel, request.workspace)

    def _subscribe(self, command: Subscribe, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            existing = uow.subscriptions.for_channel(self._channel(request))
            spec = merge_subscription(
                command,
                existing.spec if existing else None,
                channel=self._channel(request),
                default_timezone=self.config.default_timezone,
                user=request.user,
            )
            next_run = next_run_after(spec, self.clock())
            sub = uow.subscriptions.upsert(spec, next_run_at=next_run)
        verb = "Updated" if existing else "Subscribed"
        return Reply(
            ReplyKind.SUBSCRIPTION,
            f"{verb}: {_digest_kind(sub.spec)} at {describe_subscription(sub)}. "
            f"Next digest: {local_time(next_run, spec.timezone)}.",
            notes=command.notes,
            title="Subscription",
        )

    def _unsubscribe(self, _command: Unsubscribe, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            removed = uow.subscriptions.remove(self._channel(request))
        if not removed:
            return Reply(ReplyKind.INFO, "This channel has no subscription.", title="Subscription")
        return Reply(
            ReplyKind.SUBSCRIPTION,
            "Unsubscribed: no more digests in this channel.",
            title="Subscription",
        )

    def _subscriptions(self, _command: Subscriptions, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            sub = uow.subscriptions.for_channel(self._channel(request))
        if sub is None:
            return Reply(
                ReplyKind.INFO,
                "This channel has no subscription. Try `/papers subscribe 09:00 UTC`.",
                title="Subscription",
            )
        text = f"This channel gets {_digest_kind(sub.spec)}: {describe_subscription(sub)}."
        if sub.next_run_at is not None and not sub.paused:
            text += f" Next digest: {local_time(sub.next_run_at, sub.spec.timezone)}."
        return Reply(ReplyKind.SUBSCRIPTION, text, title="Subscription")

    def paper_card(self, link_or_id: str) -> PaperCard | None:
        """The card of a known paper, for link unfurling; None if unknown."""
        paper_id = bare_arxiv_id(clean_text(link_or_id))
        if paper_id is None:
            return None
        with self.uow() as uow:
            paper = uow.papers.find_by_paper_id(paper_id)
        return PaperCard(paper=paper) if paper else None

    # -- Link memory (issue 14) -------------------------------------------------------

    def link_cards(
        self,
        text: str,
        *,
        channel: ChannelRef,
        user: str,
        at: datetime | None = None,
        remember: bool = True,
        limit: int = 10,
    ) -> list[tuple[PaperLink, PaperCard]]:
        """Cards of the papers `text` links to, fetched from arXiv when not stored yet.

        With `remember`, the share (by `user` at `at`, default now) is recorded for the
        channel; a card whose paper the channel saw before names its first share.
        """
        found: list[tuple[PaperLink, PaperCard]] = []
        when = at or self.clock()
        for link in find_paper_links(text)[:limit]:
            paper = resolve_paper(self.uow, link.url, self.reading.fetch)
            if isinstance(paper, str):
                continue
            first = None
            if remember:
                with self.uow() as uow:
                    recorded = uow.shares.record(channel, paper.key, user=user, now=when)
                if (recorded.shared_by, recorded.shared_at) != (user, when):
                    first = recorded
            found.append((link, PaperCard(paper=paper, first_share=first)))
        return found

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return self.search_engine.suggest(clean_text(prefix)[:100], limit=min(limit, 25))
