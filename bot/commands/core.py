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
from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.commands.help import HELP_TEXT
from bot.commands.parser import ParsedCommand, SubscribeArgs, parse_command
from bot.digests.schedule import next_run_after
from bot.metrics import command_label, observe_command, time_search
from bot.models import (
    ChannelRef,
    CommandRequest,
    PageCursor,
    PaperCard,
    Reply,
    ReplyKind,
    SearchResults,
    Subscription,
    SubscriptionSpec,
)
from bot.ports import SearchEngine, UnitOfWorkFactory
from bot.text import bare_arxiv_id, clean_text
from bot.trending.score import TrendingQuery, top_trending

log = logging.getLogger(__name__)

DEFAULT_AT = time(9, 0)
_DAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class CoreConfig:
    default_timezone: str = "UTC"
    max_query_length: int = 256
    page_size: int = 5
    trending_days: int = 3
    trending_default: int = 5


def describe_subscription(sub: Subscription) -> str:
    spec = sub.spec
    days = sorted(set(spec.weekdays))
    if days == list(range(7)):
        day_text = "every day"
    elif days == list(range(5)):
        day_text = "Mon–Fri"
    else:
        day_text = ", ".join(_DAY_LABELS[d] for d in days)
    text = f"{spec.at.strftime('%H:%M')} {spec.timezone}, {day_text}, top {spec.top_n}"
    if spec.keywords:
        text += f", keywords: {', '.join(spec.keywords)}"
    if spec.min_upvotes:
        text += f", at least {spec.min_upvotes} upvotes"
    if sub.paused:
        text += f" — PAUSED ({sub.paused_reason or 'repeated delivery failures'})"
    return text


class CommandCore:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        search: SearchEngine,
        config: CoreConfig,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.uow = uow
        self.search_engine = search
        self.config = config
        self.clock = clock or (lambda: datetime.now(UTC))

    async def dispatch(self, request: CommandRequest) -> Reply:
        """Answer one command. Never raises."""
        command = command_label(request.name, request.args)
        try:
            reply = await asyncio.to_thread(self.handle, request)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("command failed (ref %s): %s %r", ref, request.name, request.args[:200])
            observe_command(request.platform, command, "failed")
            return Reply(
                ReplyKind.ERROR,
                f"Sorry, something went wrong on our side (ref {ref}). Please try again.",
            )
        outcome = "rejected" if reply.kind is ReplyKind.ERROR else "ok"
        observe_command(request.platform, command, outcome)
        return reply

    def handle(self, request: CommandRequest) -> Reply:
        """Synchronous body of `dispatch`, for callers already off the event loop."""
        text = (
            f"{request.name} {request.args}".strip() if request.name != "papers" else request.args
        )
        parsed = parse_command(text, max_query_length=self.config.max_query_length)
        if parsed.error:
            return Reply(ReplyKind.ERROR, parsed.error, notes=parsed.notes)
        if parsed.verb == "search":
            return self._search(parsed, request.offset)
        if parsed.verb == "trending":
            return self._trending(parsed)
        if parsed.verb == "subscribe":
            return self._subscribe(parsed, request)
        if parsed.verb == "unsubscribe":
            return self._unsubscribe(request)
        if parsed.verb == "subscriptions":
            return self._subscriptions(request)
        return Reply(ReplyKind.HELP, HELP_TEXT, notes=parsed.notes, title="papers-bot help")

    def search_results(self, query: str, *, limit: int, offset: int = 0) -> SearchResults:
        return self.search_engine.search(query, limit=limit, offset=offset)

    def _search(self, parsed: ParsedCommand, offset: int) -> Reply:
        size = self.config.page_size
        offset = max(0, offset)
        with time_search():
            results = self.search_engine.search(parsed.query, limit=size, offset=offset)
        if not results.cards:
            text = f"No papers match “{parsed.query}”." if offset == 0 else "No more results."
            return Reply(ReplyKind.SEARCH, text, notes=parsed.notes, title="Search")
        shown_to = offset + len(results.cards)
        text = f"Results {offset + 1}–{shown_to} of {results.total} for “{parsed.query}”"
        cursor = PageCursor("search", parsed.query, offset, size, results.total)
        return Reply(
            ReplyKind.SEARCH,
            text,
            cards=results.cards,
            cursor=cursor,
            notes=parsed.notes,
            title="Search",
        )

    def _trending(self, parsed: ParsedCommand) -> Reply:
        limit = parsed.count or self.config.trending_default
        with self.uow() as uow:
            result = top_trending(
                uow, TrendingQuery(now=self.clock(), days=self.config.trending_days, limit=limit)
            )
        notes = list(parsed.notes)
        if result.widened:
            notes.append(
                f"Nothing new in the last {self.config.trending_days} days; "
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
            f"Top {len(result.cards)} trending papers",
            cards=result.cards,
            notes=tuple(notes),
            title="Trending papers",
        )

    def _channel(self, request: CommandRequest) -> ChannelRef:
        return ChannelRef(request.platform, request.channel, request.workspace)

    def _check_manage(self, request: CommandRequest) -> Reply | None:
        if request.is_direct_message and request.platform.value == "discord":
            return Reply(
                ReplyKind.ERROR,
                "Subscriptions belong to a server channel; run this in a channel, not a DM.",
            )
        if not request.can_manage:
            return Reply(
                ReplyKind.ERROR, "Only people who manage this channel can change its subscription."
            )
        return None

    def _subscribe(self, parsed: ParsedCommand, request: CommandRequest) -> Reply:
        denied = self._check_manage(request)
        if denied:
            return denied
        args = parsed.subscribe or SubscribeArgs()
        with self.uow() as uow:
            existing = uow.subscriptions.for_channel(self._channel(request))
            base = existing.spec if existing else None
            spec = SubscriptionSpec(
                channel=self._channel(request),
                at=args.at or (base.at if base else DEFAULT_AT),
                timezone=args.timezone
                or (base.timezone if base else None)
                or self.config.default_timezone,
                weekdays=args.weekdays,
                keywords=args.keywords,
                min_upvotes=args.min_upvotes
                if args.min_upvotes is not None
                else (base.min_upvotes if base else 0),
                top_n=args.top_n or (base.top_n if base else 5),
                created_by=request.user,
            )
            next_run = next_run_after(spec, self.clock())
            sub = uow.subscriptions.upsert(spec, next_run_at=next_run)
        verb = "Updated" if existing else "Subscribed"
        when = next_run.astimezone(ZoneInfo(spec.timezone)).strftime("%a %d %b %H:%M %Z")
        return Reply(
            ReplyKind.SUBSCRIPTION,
            f"{verb}: daily trending papers at {describe_subscription(sub)}. Next digest: {when}.",
            notes=parsed.notes,
            title="Subscription",
        )

    def _unsubscribe(self, request: CommandRequest) -> Reply:
        denied = self._check_manage(request)
        if denied:
            return denied
        with self.uow() as uow:
            removed = uow.subscriptions.remove(self._channel(request))
        if not removed:
            return Reply(ReplyKind.INFO, "This channel has no subscription.", title="Subscription")
        return Reply(
            ReplyKind.SUBSCRIPTION,
            "Unsubscribed: no more digests in this channel.",
            title="Subscription",
        )

    def _subscriptions(self, request: CommandRequest) -> Reply:
        with self.uow() as uow:
            sub = uow.subscriptions.for_channel(self._channel(request))
        if sub is None:
            return Reply(
                ReplyKind.INFO,
                "This channel has no subscription. Try `/papers subscribe 09:00 UTC`.",
                title="Subscription",
            )
        return Reply(
            ReplyKind.SUBSCRIPTION,
            f"This channel gets: {describe_subscription(sub)}.",
            title="Subscription",
        )

    def paper_card(self, link_or_id: str) -> PaperCard | None:
        """The card of a known paper, for link unfurling; None if unknown."""
        paper_id = bare_arxiv_id(clean_text(link_or_id))
        if paper_id is None:
            return None
        with self.uow() as uow:
            paper = uow.papers.find_by_paper_id(paper_id)
        return PaperCard(paper=paper) if paper else None

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return self.search_engine.suggest(clean_text(prefix)[:100], limit=min(limit, 25))
