"""👍 / 👎 on cards past the fifth: a list too long for vote buttons gets one select menu
where a row is free (a digest's row 0), driven through discord.py's own component
dispatch (INTERACTION_CREATE type 3, component type 3) against the loopback fake."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

from adapters.discord.bot import PapersBot
from adapters.discord.sink import DiscordSink
from adapters.discord.views import reply_view
from adapters.discord.vote_buttons import VOTE_MENU_CARDS, VoteMenu
from bot.digests.schedule import next_run_after
from bot.models import (
    PageCursor,
    Paper,
    PaperCard,
    Reply,
    ReplyKind,
    SubscriptionSpec,
    Weekday,
)
from runtime.core import Core
from tests.adapters.discord.conftest import CHANNEL_ID, feed, interaction
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import CALLBACK, EPHEMERAL, all_text, run_command
from tests.adapters.discord.test_taste import CHANNEL, MESSAGES, answer, vote_ids, votes
from tests.adapters.taste_helpers import DIGEST_AT, add_papers, deliver_digest, last_digest


def menus(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in data.get("components", []) for c in row["components"] if c["type"] == 3]


def choose(bot: PapersBot, fake_api: FakeDiscordAPI, message: dict[str, Any], value: str) -> None:
    """Pick one option of the message's vote menu, as the gateway delivers it."""
    posted = fake_api.message(CHANNEL_ID, message)
    data = {"custom_id": "papers:votes", "component_type": 3, "values": [value]}
    feed(bot, interaction(3, data, message=posted))


async def test_a_digest_of_eight_votes_on_its_eighth_card_through_the_menu(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    spec = SubscriptionSpec(
        channel=CHANNEL, at=time(9, 0), timezone="UTC", weekdays=tuple(Weekday), top_n=8
    )
    with core.db.uow() as uow:
        uow.subscriptions.upsert(spec, next_run_at=next_run_after(spec, DIGEST_AT - timedelta(1)))
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot))
    (post,) = fake_api.find("POST", MESSAGES)
    digest = post.json
    _message_id, keys = last_digest(core.db)
    assert len(keys) == 8 and vote_ids(digest, "up") == []  # no room for vote buttons
    (menu,) = menus(digest)
    assert menu["custom_id"] == "papers:votes"
    values = [o["value"] for o in menu["options"]]
    assert values == [f"{way}:{k}" for k in keys for way in ("up", "down")]
    assert menu["options"][14]["label"].startswith("👍 8 · ")
    assert len(digest["components"]) == 5

    choose(bot, fake_api, digest, f"up:{keys[7]}")
    noted = await answer(fake_api, await fake_api.wait_for_call("POST", CALLBACK, 1))
    assert "👍 noted" in all_text(noted) and noted["flags"] & EPHEMERAL
    assert [(v[0], v[2], v[3]) for v in votes(core)] == [(keys[7], 1, "button")]

    # A forged option votes for nothing.
    choose(bot, fake_api, digest, "up:not-a-paper")
    refused = await answer(fake_api, await fake_api.wait_for_call("POST", CALLBACK, 2))
    assert "expired" in all_text(refused) and len(votes(core)) == 1


async def test_five_cards_keep_buttons_and_trending_25_votes_on_its_first_twelve(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    five = (await run_command(bot, fake_api, "search", options={"query": "speech"})).json["data"]
    assert vote_ids(five, "up") and menus(five) == []
    many = await run_command(bot, fake_api, "trending", n=2, options={"count": 25})
    data = many.json["data"]
    (menu,) = menus(data)
    assert len(menu["options"]) == 2 * VOTE_MENU_CARDS and len(data["components"]) == 5


def test_a_message_with_no_free_row_gets_no_menu() -> None:
    """Paging in row 0 and four rows of Save buttons (20 of 25 cards): nothing else fits."""
    cards = tuple(PaperCard(Paper(key=k, title=f"Paper {k}"), rank=k) for k in range(1, 26))
    cursor = PageCursor("trending", "", 0, 25, 60)
    view = reply_view(Reply(ReplyKind.TRENDING, "", cards=cards, cursor=cursor))
    assert view is not None
    assert not any(isinstance(item, VoteMenu) for item in view.children)
    assert len(view.to_components()) == 5
