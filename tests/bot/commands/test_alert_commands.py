"""`follow author`, `alert`, `following` and `unfollow` through `CommandCore.dispatch`.

The core runs on the in-memory fakes with the real search index over a few papers, so a
followed name is looked up the way it is in production.
"""

from __future__ import annotations

from datetime import date

import pytest

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.commands.types import AlertSearch, FollowAuthor, Following, Invalid, Unfollow
from bot.models import CommandRequest, Paper, Platform, ReplyKind
from bot.search.engine import PaperIndex
from bot.testing.fakes import FakeDatabase

PAPERS = [
    Paper(1, "Deep learning", authors=("Yann LeCun", "Yoshua Bengio"), published=date(2015, 5, 1)),
    Paper(2, "Energy-based models", authors=("Y. LeCun",), published=date(2024, 3, 1)),
    Paper(3, "Graph transformers", authors=("Yi Wang", "Ana Silva"), published=date(2025, 1, 2)),
    Paper(4, "Speech tokens", authors=("Yu Wang",), published=date(2025, 2, 3)),
    Paper(5, "Vision agents", authors=("Yi Wang",), published=date(2025, 3, 4)),
    Paper(6, "Quantum cats", authors=("Erwin Schrödinger",), published=date(1935, 1, 1)),
]


@pytest.fixture
def core() -> CommandCore:
    return CommandCore(FakeDatabase().uow, PaperIndex.build(PAPERS), CoreConfig())


def request(text: str, *, manage: bool = True, channel: str = "C1") -> CommandRequest:
    return CommandRequest(
        platform=Platform.SLACK,
        channel=channel,
        workspace="T1",
        user="U1",
        command=parse(text),
        can_manage=manage,
    )


def test_parse_follow_alert_following_unfollow() -> None:
    assert parse('follow author "Yann LeCun"') == FollowAuthor(name="Yann LeCun")
    assert parse("follow author Yi Wang #2") == FollowAuthor(name="Yi Wang", choice=2)
    assert parse("follow LeCun, Yann") == FollowAuthor(name="LeCun, Yann")
    assert parse("alert diffusion speech") == AlertSearch(query="diffusion speech")
    assert parse("following") == Following() and parse("alerts") == Following()
    assert parse("unfollow 3") == Unfollow(number=3)
    for bad in ("follow author", "alert", "unfollow x", "alert since:2025-13-45"):
        assert isinstance(parse(bad), Invalid), bad
    assert FollowAuthor.needs_manage and AlertSearch.needs_manage and Unfollow.needs_manage


async def test_follow_one_person_across_spellings(core: CommandCore) -> None:
    reply = await core.dispatch(request("follow author Y. LeCun"))
    assert reply.kind is ReplyKind.SUBSCRIPTION and "Following Yann LeCun" in reply.text
    again = await core.dispatch(request('follow author "LeCun, Yann"'))
    assert "already follows Yann LeCun" in again.text
    folded = await core.dispatch(request("follow author Erwin Schrodinger"))
    assert "Following Erwin Schrödinger" in folded.text


async def test_an_ambiguous_name_lists_candidates_then_number_picks_one(
    core: CommandCore,
) -> None:
    asked = await core.dispatch(request("follow author Y. Wang"))
    assert asked.kind is ReplyKind.INFO and "may mean 2 people" in asked.text
    assert "#1 Yi Wang — 2 papers" in asked.text and "Vision agents" in asked.text
    assert "#2 Yu Wang" in asked.text and "#N" in asked.text
    picked = await core.dispatch(request("follow author Y. Wang #2"))
    assert "Following Yu Wang" in picked.text
    too_far = await core.dispatch(request("follow author Y. Wang #3"))
    assert too_far.kind is ReplyKind.ERROR and "only 2 people" in too_far.text


async def test_unknown_author_is_followed_as_typed(core: CommandCore) -> None:
    reply = await core.dispatch(request("follow author Ada Lovelace"))
    assert "Following Ada Lovelace" in reply.text and "No paper by them" in reply.text


async def test_following_numbers_alerts_and_unfollow_removes_one(core: CommandCore) -> None:
    assert "no alerts" in (await core.dispatch(request("following"))).text
    await core.dispatch(request("follow author Yann LeCun"))
    saved = await core.dispatch(request('alert "state space" author:Gu'))
    assert "Alert saved" in saved.text
    listed = await core.dispatch(request("following"))
    assert "1. author Yann LeCun" in listed.text
    assert '2. search “"state space" author:Gu”' in listed.text
    other = await core.dispatch(request("following", channel="C2"))
    assert "no alerts" in other.text
    removed = await core.dispatch(request("unfollow 1"))
    assert "Removed alert 1: author Yann LeCun" in removed.text
    assert "1. search" in (await core.dispatch(request("following"))).text
    missing = await core.dispatch(request("unfollow 5"))
    assert missing.kind is ReplyKind.ERROR and "no alert 5" in missing.text


async def test_alerts_need_channel_managers_and_words(core: CommandCore) -> None:
    for text in ("follow author Yann LeCun", "alert diffusion", "unfollow 1"):
        denied = await core.dispatch(request(text, manage=False))
        assert denied.kind is ReplyKind.ERROR and "manage" in denied.text
    listed = await core.dispatch(request("following", manage=False))
    assert listed.kind is not ReplyKind.ERROR
    empty = await core.dispatch(request("alert the of"))
    assert empty.kind is ReplyKind.ERROR or "Alert saved" in empty.text


async def test_paused_alerts_show_in_following_and_adding_an_alert_resumes_them(
    core: CommandCore,
) -> None:
    from datetime import UTC, datetime

    from bot.models import ChannelRef

    await core.dispatch(request("alert diffusion"))
    with core.uow() as uow:
        uow.alerts.pause(
            ChannelRef(Platform.SLACK, "C1", "T1"),
            "is_archived",
            now=datetime(2026, 3, 10, tzinfo=UTC),
        )
    listed = await core.dispatch(request("following", manage=False))
    assert "PAUSED since 10 Mar 2026: posting here failed (is_archived)" in listed.text
    again = await core.dispatch(request("alert diffusion"))
    assert "already has the alert" in again.text
    assert "paused since 10 Mar 2026 because posting failed (is_archived)" in again.text
    assert "PAUSED" not in (await core.dispatch(request("following"))).text
