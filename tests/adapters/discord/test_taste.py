"""Channel taste on Discord (issue 13): 👍/👎 buttons on digest and search cards, raw thumbs
reactions on a digest, `/papers taste`, reset and the guild going away, through the real
discord.py client (its component dispatch, gateway event parsing and HTTP) against the
loopback fake."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from adapters.discord.bot import PapersBot
from adapters.discord.sink import DiscordSink
from bot.models import ChannelRef, Platform
from runtime.core import Core
from tests.adapters.discord.conftest import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGER_PERMS,
    USER_ID,
    command,
    feed,
    interaction,
)
from tests.adapters.discord.fake_discord import Call, FakeDiscordAPI, FakeGateway
from tests.adapters.discord.test_commands import (
    CALLBACK,
    EPHEMERAL,
    FOLLOWUP,
    _press,
    all_text,
    buttons,
    run_command,
)
from tests.adapters.taste_helpers import (
    DIGEST_AT,
    add_papers,
    deliver_digest,
    last_digest,
    stored_votes,
)

CHANNEL = ChannelRef(Platform.DISCORD, CHANNEL_ID, GUILD_ID)
MESSAGES = rf"^/channels/{CHANNEL_ID}/messages$"
OTHER_USER = "600000000000000002"


def votes(core: Core) -> list[tuple[int, str, int, str]]:
    return stored_votes(core.db, CHANNEL)


def vote_ids(data: dict[str, Any], way: str) -> list[str]:
    return [
        b["custom_id"] for b in buttons(data) if b["custom_id"].startswith(f"papers:vote:{way}:")
    ]


def reaction(message_id: str, emoji: str, user: str = OTHER_USER) -> dict[str, Any]:
    """A MESSAGE_REACTION_ADD / _REMOVE payload as the gateway sends it."""
    return {
        "user_id": user,
        "channel_id": CHANNEL_ID,
        "message_id": message_id,
        "guild_id": GUILD_ID,
        "emoji": {"id": None, "name": emoji},
        "burst": False,
        "type": 0,
    }


async def answer(fake_api: FakeDiscordAPI, call: Call) -> dict[str, Any]:
    """The answer an interaction got: the callback's, or the follow-up after a deferral
    (a loaded machine may take longer than the 2 s after which the bot defers)."""
    if call.json["type"] != 5:
        return dict(call.json["data"])
    followups = len(fake_api.find("POST", FOLLOWUP))
    return dict((await fake_api.wait_for_call("POST", FOLLOWUP, followups or 1)).json)


async def until(predicate: Any) -> None:
    import asyncio

    for _ in range(500):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


async def test_digest_buttons_vote_and_a_changed_vote_replaces(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot))
    (post,) = fake_api.find("POST", MESSAGES)
    digest = post.json
    ups, downs = vote_ids(digest, "up"), vote_ids(digest, "down")
    _message_id, keys = last_digest(core.db)
    assert len(ups) == len(downs) == len(keys) == 5, "👍 and 👎 for every digest card"

    noted = await answer(fake_api, await _press(bot, fake_api, digest, ups[0], 1))
    assert "👍 noted" in all_text(noted) and noted["flags"] & EPHEMERAL
    assert votes(core) == [(keys[0], USER_ID, 1, "button")]
    changed = await answer(fake_api, await _press(bot, fake_api, digest, downs[0], 2))
    assert "Changed your vote" in all_text(changed)
    assert votes(core) == [(keys[0], USER_ID, -1, "button")]

    # Search result cards carry them too.
    found = await run_command(bot, fake_api, "search", n=3, options={"query": "speech"})
    assert vote_ids(found.json["data"], "up")


async def test_reactions_on_the_digest_vote_and_are_taken_back(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot))
    message_id, keys = last_digest(core.db)
    state = bot._connection

    state.parse_message_reaction_add(reaction(message_id, "👍🏽"))  # type: ignore[arg-type]
    await until(lambda: len(votes(core)) == len(keys))
    assert {(v[1], v[2], v[3]) for v in votes(core)} == {(OTHER_USER, 1, "reaction")}

    state.parse_message_reaction_remove(reaction(message_id, "👍🏽"))  # type: ignore[arg-type]
    await until(lambda: votes(core) == [])

    # Other emoji, other messages and the bot's own reactions do not vote.
    state.parse_message_reaction_add(reaction(message_id, "🎉"))  # type: ignore[arg-type]
    state.parse_message_reaction_add(reaction("1234567890", "👎"))  # type: ignore[arg-type]
    state.parse_message_reaction_add(reaction(message_id, "👎"))  # type: ignore[arg-type]
    await until(lambda: len(votes(core)) == len(keys))
    assert {v[2] for v in votes(core)} == {-1}


async def test_taste_command_reset_and_guild_removal(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot))
    (post,) = fake_api.find("POST", MESSAGES)
    for n, custom_id in enumerate(vote_ids(post.json, "up"), start=1):
        await _press(bot, fake_api, post.json, custom_id, n)
    assert len(votes(core)) == 5

    shown = await answer(fake_api, await run_command(bot, fake_api, "taste", n=6))
    text = all_text(shown)
    assert "5 votes 👍 and 0 👎 on 5 papers" in text and USER_ID not in text

    feed(bot, interaction(2, command("taste", action="reset")))
    refused = await answer(fake_api, await fake_api.wait_for_call("POST", CALLBACK, 7))
    assert "Only people who manage this channel" in all_text(refused)
    assert len(votes(core)) == 5
    feed(bot, interaction(2, command("taste", action="reset"), permissions=MANAGER_PERMS))
    done = await answer(fake_api, await fake_api.wait_for_call("POST", CALLBACK, 8))
    assert "Forgot this channel's 5 votes" in all_text(done)
    assert votes(core) == []

    await _press(bot, fake_api, post.json, vote_ids(post.json, "down")[0], 9)
    assert len(votes(core)) == 1
    # The bot is removed from the server: GUILD_CREATE, then GUILD_DELETE, as the gateway
    # sends them; discord.py dispatches on_guild_remove and the votes go.
    bot._connection.parse_guild_create(FakeGateway(GUILD_ID, CHANNEL_ID).guild_payload())  # type: ignore[arg-type]
    bot._connection.parse_guild_delete({"id": GUILD_ID})  # type: ignore[arg-type]
    await until(lambda: votes(core) == [])


async def test_the_next_digest_is_ordered_by_the_votes(
    bot: PapersBot, fake_api: FakeDiscordAPI, core: Core
) -> None:
    add_papers(core.db, DIGEST_AT.date(), "d1")
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot))
    (first,) = fake_api.find("POST", MESSAGES)
    titles = [e["title"] for e in first.json["embeds"]]
    assert "Speech" in titles[0] and "Protein" in titles[-1], "trending order"
    pairs = zip(vote_ids(first.json, "up"), first.json["embeds"], strict=True)
    for n, (custom_id, embed) in enumerate(pairs, start=1):
        way = "up" if "Protein" in embed["title"] else "down"
        await _press(bot, fake_api, first.json, custom_id.replace(":up:", f":{way}:"), n)

    # Two more members voted the same way (the fake feeds one user's interactions).
    with core.db.uow() as uow:
        for vote in uow.votes.for_channel(CHANNEL):
            for user in (OTHER_USER, "600000000000000003"):
                uow.votes.put(replace(vote, user=user))
    next_day = DIGEST_AT + timedelta(days=1)
    add_papers(core.db, next_day.date(), "d2")
    await deliver_digest(core.db, CHANNEL, DiscordSink(bot), next_day)
    second = fake_api.find("POST", MESSAGES)[1].json
    embeds = second["embeds"]
    assert all("Protein" in e["title"] for e in embeds[:4])
    assert "Speech" in embeds[4]["title"] and "exploring" in embeds[4]["description"]
    assert all("like “" in e["description"] or "taste for" in e["description"] for e in embeds[:4])
