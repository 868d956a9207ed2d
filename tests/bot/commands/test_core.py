"""CommandCore.dispatch end to end over a real database, with a small fake search engine."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.commands.types import Search
from bot.models import (
    CommandRequest,
    Paper,
    PaperCard,
    PaperRecord,
    Platform,
    ReplyKind,
    SearchResults,
)
from storage.db import Database
from tests.storage.helpers import list_subscriptions

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


class SubstringEngine:
    """Matches papers whose title contains the query; enough to exercise paging."""

    def __init__(self, papers: Iterable[Paper]) -> None:
        self.papers = list(papers)

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        hits = [p for p in self.papers if query.lower() in p.title.lower()]
        cards = tuple(
            PaperCard(p, 1.0, offset + i + 1) for i, p in enumerate(hits[offset : offset + limit])
        )
        return SearchResults(cards, len(hits), query)

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return [(p.key, p.title) for p in self.papers if p.title.startswith(prefix)][:limit]

    def add(self, papers: Iterable[Paper]) -> None:
        self.papers.extend(papers)

    def __len__(self) -> int:
        return len(self.papers)


class Exploding(SubstringEngine):
    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        raise RuntimeError("index corrupted")


@pytest.fixture
def core(sqlite_db: Database) -> CommandCore:
    records = [
        PaperRecord(
            title=f"Diffusion paper {i}",
            source="test",
            paper_id=f"2411.{i:05d}",
            published=date(2026, 11, 19),
            upvotes=i,
        )
        for i in range(12)
    ]
    with sqlite_db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=NOW)
        papers = list(uow.papers.iter_all())
    return CommandCore(
        sqlite_db.uow, SubstringEngine(papers), CoreConfig(page_size=5), clock=lambda: NOW
    )


def request(
    args: str,
    *,
    manage: bool = True,
    offset: int = 0,
    dm: bool = False,
    platform: Platform = Platform.SLACK,
) -> CommandRequest:
    return CommandRequest(
        platform=platform,
        channel="C1",
        user="U1",
        command=parse(args),
        workspace="T1",
        can_manage=manage,
        offset=offset,
        is_direct_message=dm,
    )


async def test_search_pages(core: CommandCore) -> None:
    first = await core.dispatch(request("search diffusion"))
    assert first.kind is ReplyKind.SEARCH and len(first.cards) == 5
    assert first.cursor is not None and first.cursor.total == 12 and first.cursor.has_next
    third = await core.dispatch(request("search diffusion", offset=10))
    assert len(third.cards) == 2 and third.cursor is not None and not third.cursor.has_next
    none = await core.dispatch(request("search quantum"))
    assert none.cards == () and "No papers" in none.text


async def test_trending_orders_by_score(core: CommandCore) -> None:
    reply = await core.dispatch(request("trending 3"))
    assert [c.paper.upvotes for c in reply.cards] == [11, 10, 9]


async def test_subscription_lifecycle_and_permissions(
    core: CommandCore, sqlite_db: Database
) -> None:
    denied = await core.dispatch(request("subscribe 09:00 UTC", manage=False))
    assert denied.kind is ReplyKind.ERROR and "manage" in denied.text
    ok = await core.dispatch(request("subscribe 09:00 Europe/Berlin diffusion, speech"))
    assert ok.kind is ReplyKind.SUBSCRIPTION and "Europe/Berlin" in ok.text
    assert "Next digest" in ok.text
    with sqlite_db.uow() as uow:
        subs = list_subscriptions(uow)
        assert len(subs) == 1
        assert subs[0].next_run_at == datetime(2026, 11, 23, 8, tzinfo=UTC)  # Mon 09:00 CET
    listing = await core.dispatch(request("subscriptions", manage=False))
    assert "diffusion, speech" in listing.text
    gone = await core.dispatch(request("unsubscribe"))
    assert gone.kind is ReplyKind.SUBSCRIPTION
    again = await core.dispatch(request("unsubscribe"))
    assert "no subscription" in again.text


async def test_discord_dm_subscribe_is_refused(core: CommandCore) -> None:
    reply = await core.dispatch(request("subscribe", dm=True, platform=Platform.DISCORD))
    assert reply.kind is ReplyKind.ERROR and "DM" in reply.text


async def test_bad_input_gets_clear_errors(core: CommandCore) -> None:
    assert (await core.dispatch(request(""))).kind is ReplyKind.HELP
    assert "timezone" in (await core.dispatch(request("subscribe 09:00 Nowhere/City"))).text
    long = await core.dispatch(request("search " + "diffusion " * 600))
    assert long.notes and "characters long" in long.notes[0]


async def test_internal_failure_never_reaches_the_user_as_exception(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    broken = CommandCore(sqlite_db.uow, Exploding([]), CoreConfig(), clock=lambda: NOW)
    reply = await broken.dispatch(request("search x"))
    assert reply.kind is ReplyKind.ERROR and "ref" in reply.text
    assert "index corrupted" in caplog.text


def test_paper_card_for_links(core: CommandCore) -> None:
    card = core.paper_card("https://arxiv.org/abs/2411.00003v2")
    assert card is not None and card.paper.paper_id == "2411.00003"
    assert core.paper_card("https://huggingface.co/papers/2411.00004") is not None
    assert core.paper_card("https://example.com/") is None


# -- issue 15 item 11: `subscribe` changes only what is given -----------------------------


async def test_new_subscription_defaults_to_weekdays(
    core: CommandCore, sqlite_db: Database
) -> None:
    await core.dispatch(request("subscribe 09:00 UTC"))
    with sqlite_db.uow() as uow:
        (sub,) = list_subscriptions(uow)
    assert [int(d) for d in sub.spec.weekdays] == [0, 1, 2, 3, 4]
    assert (sub.spec.top_n, sub.spec.min_upvotes, sub.spec.keywords) == (5, 0, ())


async def test_resubscribe_changes_only_what_is_given(
    core: CommandCore, sqlite_db: Database
) -> None:
    await core.dispatch(request("subscribe 09:00 Europe/Berlin days=daily top=3 min=2 diffusion"))
    updated = await core.dispatch(request("subscribe 10:30"))
    assert updated.text.startswith("Updated")
    with sqlite_db.uow() as uow:
        (sub,) = list_subscriptions(uow)
    spec = sub.spec
    assert spec.at.strftime("%H:%M") == "10:30"
    assert spec.timezone == "Europe/Berlin"
    assert [int(d) for d in spec.weekdays] == list(range(7))
    assert (spec.top_n, spec.min_upvotes, spec.keywords) == (3, 2, ("diffusion",))
    await core.dispatch(request("subscribe keywords=none"))
    with sqlite_db.uow() as uow:
        (sub,) = list_subscriptions(uow)
    assert sub.spec.keywords == () and sub.spec.top_n == 3


async def test_subscriptions_shows_the_next_run_in_local_time(core: CommandCore) -> None:
    await core.dispatch(request("subscribe 09:00 Europe/Berlin"))
    listing = await core.dispatch(request("subscriptions", manage=False))
    assert "Next digest: Mon 23 Nov 09:00 CET" in listing.text


def test_help_states_the_subscribe_rule() -> None:
    from bot.commands.help import HELP_TEXT

    assert "changes only what you give" in HELP_TEXT


# -- issue 10 / issue 15 item 10: mistakes get an answer --------------------------------


async def test_typo_of_a_verb_is_answered_not_searched(core: CommandCore) -> None:
    reply = await core.dispatch(request("trendng"))
    assert reply.kind is ReplyKind.ERROR and "did you mean `trending`?" in reply.text


async def test_an_unknown_word_that_finds_nothing_says_it_was_searched(core: CommandCore) -> None:
    reply = await core.dispatch(request("frobnicate"))
    assert reply.kind is ReplyKind.SEARCH and not reply.cards
    assert "`frobnicate` is not a command" in reply.notes[-1]
    explicit = await core.dispatch(request("search frobnicate"))
    assert not explicit.notes


async def test_invalid_since_date_is_one_clear_line(core: CommandCore) -> None:
    reply = await core.dispatch(request("search diffusion since:2025-13-45"))
    assert reply.kind is ReplyKind.ERROR and "not a valid date" in reply.text
    # A search built from typed options (Discord) is checked the same way.
    typed = await core.dispatch(replace(request(""), command=Search(query="x since:2025-13-45")))
    assert typed.kind is ReplyKind.ERROR and "not a valid date" in typed.text


async def test_subscriptions_in_a_discord_dm_are_refused_once(core: CommandCore) -> None:
    reply = await core.dispatch(request("subscriptions", dm=True, platform=Platform.DISCORD))
    assert reply.kind is ReplyKind.ERROR and "not a DM" in reply.text


async def test_a_weekly_subscription_shows_its_day_and_next_run_in_its_own_time_zone(
    core: CommandCore,
) -> None:
    # NOW is Fri 20 Nov 12:00 UTC: 07:00 in New York, so this Friday's 16:00 is still ahead.
    await core.dispatch(request("subscribe weekly fri 16:00 America/New_York"))
    listing = await core.dispatch(request("subscriptions", manage=False))
    assert "weekly on Fri" in listing.text
    assert "Next digest: Fri 20 Nov 16:00 EST" in listing.text
    # 21:00 in Tokyo: this Friday's 09:00 has passed, so the next one is a week later.
    await core.dispatch(request("subscribe weekly fri 09:00 Asia/Tokyo"))
    listing = await core.dispatch(request("subscriptions", manage=False))
    assert "Next digest: Fri 27 Nov 09:00 JST" in listing.text
