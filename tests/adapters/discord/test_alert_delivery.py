"""Alert messages on Discord through discord.py's real code paths against the fake REST
API: the message of a few papers, the burst summary whose "Show all" is the dynamic
button `papers:alerts:<delivery id>`, sent both by the served bot and by the HTTP-only
client `papers-bot ingest` logs in with, and the press answered to the clicker only."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import discord

from adapters.discord.bot import PapersBot
from adapters.discord.sink import DiscordSink
from bot.alerts.ledger import AlertReport
from bot.alerts.runner import AlertRunner
from bot.follow.matching import AlertKind
from bot.models import ChannelRef, Platform
from bot.settings import Settings
from runtime.core import Core
from runtime.sinks import discord_poster
from tests.adapters.alert_papers import QUERY, ingest_matching
from tests.adapters.discord.conftest import CHANNEL_ID, GUILD_ID, feed, interaction
from tests.adapters.discord.fake_discord import Call, FakeDiscordAPI
from tests.adapters.discord.test_commands import CALLBACK, EPHEMERAL, FOLLOWUP, all_text, buttons

MESSAGES = rf"^/channels/{CHANNEL_ID}/messages$"
CHANNEL = ChannelRef(Platform.DISCORD, CHANNEL_ID, GUILD_ID)


def add_papers(core: Core, count: int) -> list[str]:
    with core.db.uow() as uow:
        uow.alerts.add(CHANNEL, AlertKind.SEARCH, QUERY, created_by="U1")
    return ingest_matching(core, count)


async def deliver(core: Core, client: discord.Client) -> AlertReport:
    runner = AlertRunner(
        core.db.uow,
        {Platform.DISCORD: DiscordSink(client)},
        worker_id="w-test",
        per_channel_interval=0.0,
    )
    return await runner.run()


def press(bot: PapersBot, fake_api: FakeDiscordAPI, custom_id: str, **kw: Any) -> None:
    """Press a button of the channel's alert message, as the gateway delivers it."""
    message = fake_api.channels[CHANNEL_ID][0]
    feed(bot, interaction(3, {"custom_id": custom_id, "component_type": 2}, message=message, **kw))


async def answer_of_press(fake_api: FakeDiscordAPI, followups: int) -> list[dict[str, Any]]:
    """The interaction's answer: the callback, then the follow-ups of a longer reply."""
    first = (await fake_api.wait_for_call("POST", CALLBACK)).json["data"]
    if followups:
        await fake_api.wait_for_call("POST", FOLLOWUP, followups)
    return [first, *(c.json for c in fake_api.find("POST", FOLLOWUP))]


async def post_once(
    core: Core, client: discord.Client, fake_api: FakeDiscordAPI, count: int
) -> tuple[list[str], Call]:
    """`count` new matching papers delivered: their titles and the one message posted."""
    titles = add_papers(core, count)
    report = await deliver(core, client)
    assert (report.planned, report.sent) == (1, 1)
    (post,) = fake_api.find("POST", MESSAGES)
    return titles, post


def show_all_ids(call: Call) -> list[str]:
    return [
        b["custom_id"] for b in buttons(call.json) if b["custom_id"].startswith("papers:alerts:")
    ]


async def test_a_few_papers_are_embeds_naming_the_alert(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    titles, post = await post_once(core, bot, fake_api, 2)
    text = all_text(post.json)
    assert "2 new papers match" in text and all(t in text for t in titles)
    assert text.count("Matched search “quasiparticle braiding”") == 2
    assert post.json["allowed_mentions"] == {"parse": []}
    assert post.json["enforce_nonce"] is True
    assert not show_all_ids(post)


async def test_burst_show_all_button_answers_the_clicker_with_every_paper(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    titles, post = await post_once(core, bot, fake_api, 13)
    assert "…and 10 more" in all_text(post.json)
    (custom_id,) = show_all_ids(post)
    assert custom_id.startswith("papers:alerts:")
    (button,) = buttons(post.json)
    assert button["label"] == "Show all 13"

    press(bot, fake_api, custom_id)
    answers = await answer_of_press(fake_api, 1)
    assert all(a["flags"] & EPHEMERAL for a in answers)
    text = "\n".join(all_text(a) for a in answers)
    assert "All 13 new papers" in text and all(t in text for t in titles)
    assert len(fake_api.find("POST", MESSAGES)) == 1  # nothing new in the channel


async def test_http_only_client_of_the_cli_sends_the_dynamic_button(
    core: Core, settings: Settings, fake_api: FakeDiscordAPI, bot: PapersBot
) -> None:
    """The CLI's client has no gateway and no dynamic items registered: the button goes
    out in the message's components all the same, and the served bot (which registered
    `AlertsAllButton`) answers a press of it later."""
    add_papers(core, 12)
    cli_settings = settings.model_copy(update={"discord_api_url": fake_api.base_url})
    async with AsyncExitStack() as stack:
        client = await discord_poster(cli_settings, stack)
        assert client is not None and not isinstance(client, PapersBot)
        report = await deliver(core, client)
    assert (report.planned, report.sent) == (1, 1)
    (post,) = fake_api.find("POST", MESSAGES)
    (custom_id,) = show_all_ids(post)
    press(bot, fake_api, custom_id)
    answers = await answer_of_press(fake_api, 1)
    assert all(a["flags"] & EPHEMERAL for a in answers)
    assert "All 12 new papers" in all_text(answers[0])


async def test_show_all_from_another_channel_is_refused(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    add_papers(core, 12)
    await deliver(core, bot)
    (custom_id,) = show_all_ids(fake_api.find("POST", MESSAGES)[0])
    press(bot, fake_api, custom_id, guild=False)
    answer = (await fake_api.wait_for_call("POST", CALLBACK)).json["data"]
    assert "no longer known" in all_text(answer) and "Quasiparticle" not in all_text(answer)
