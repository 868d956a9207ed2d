"""Slash commands, autocomplete and page buttons through discord.py's real code paths.

Each test feeds an INTERACTION_CREATE payload to the logged-in bot and asserts on the
requests that reach the fake REST API: discord.py parses, dispatches through its command
tree or view store, and serialises the response exactly as in production.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.discord import views
from adapters.discord.bot import PapersBot, create_bot
from bot.commands.help import HELP_TEXT
from bot.models import ChannelRef, PaperRecord, Platform
from bot.settings import Settings
from runtime.core import Core
from tests.adapters.discord.conftest import (
    CHANNEL_ID,
    GUILD_ID,
    MANAGER_PERMS,
    MEMBER_PERMS,
    autocomplete,
    command,
    feed,
    interaction,
)
from tests.adapters.discord.fake_discord import Call, FakeDiscordAPI

CALLBACK = r"^/interactions/\d+/[^/]+/callback$"
FOLLOWUP = r"^/webhooks/\d+/[^/]+$"
SURVEY = "Advances in Speech Separation: Techniques, Challenges, and Future Trends"
EPHEMERAL = 1 << 6


def buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in data.get("components", []) for c in row["components"]]


def button(data: dict[str, Any], label_part: str) -> dict[str, Any]:
    matches = [b for b in buttons(data) if label_part in b.get("label", "")]
    assert len(matches) == 1, buttons(data)
    return matches[0]


def all_text(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f["name"] + " " + f["value"] for f in embed.get("fields", [])]
    return "\n".join(parts)


async def run_command(
    bot: PapersBot, fake: FakeDiscordAPI, sub: str, *, n: int = 1, **kwargs: Any
) -> Call:
    options = kwargs.pop("options", {})
    feed(bot, interaction(2, command(sub, **options), **kwargs))
    return await fake.wait_for_call("POST", CALLBACK, n)


async def test_search_names_the_speech_separation_survey(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(bot, fake_api, "search", options={"query": "cocktail party problem"})
    assert call.json["type"] == 4  # CHANNEL_MESSAGE_WITH_SOURCE: answered directly
    data = call.json["data"]
    titles = [e.get("title", "") for e in data["embeds"]]
    assert any(SURVEY in t for t in titles), titles
    survey = next(e for e in data["embeds"] if SURVEY in e.get("title", ""))
    assert survey["description"]
    assert data["flags"] & EPHEMERAL
    assert data["allowed_mentions"] == {"parse": []}
    nxt = button(data, "Next")
    assert nxt["custom_id"] == "papers:page:search:5:q:cocktail party problem"
    assert call.headers["Content-Type"] == "application/json"


async def test_autocomplete_offers_at_most_25_titles(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    feed(bot, interaction(4, autocomplete("search", "query", "speech separ")))
    call = await fake_api.wait_for_call("POST", CALLBACK)
    assert call.json["type"] == 8  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    choices = call.json["data"]["choices"]
    assert 1 <= len(choices) <= 25
    assert any(c["name"] == SURVEY for c in choices)

    # A one-letter prefix matches many titles: still at most 25, each within 100 chars.
    feed(bot, interaction(4, autocomplete("search", "query", "a")))
    call = await fake_api.wait_for_call("POST", CALLBACK, 2)
    choices = call.json["data"]["choices"]
    assert 0 < len(choices) <= 25
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)


async def test_timezone_autocomplete(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    feed(bot, interaction(4, autocomplete("subscribe", "timezone", "berl")))
    call = await fake_api.wait_for_call("POST", CALLBACK)
    assert [c["value"] for c in call.json["data"]["choices"]] == ["Europe/Berlin"]


async def _press(
    bot: PapersBot, fake: FakeDiscordAPI, message_data: dict[str, Any], custom_id: str, n: int
) -> Call:
    message = fake.message(CHANNEL_ID, message_data, flags=EPHEMERAL)
    feed(
        bot,
        interaction(3, {"custom_id": custom_id, "component_type": 2}, message=message),
    )
    return await fake.wait_for_call("POST", CALLBACK, n)


async def test_next_and_previous_buttons_page_through_results(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    first = await run_command(bot, fake_api, "search", options={"query": "speech"})
    page1 = first.json["data"]
    assert "Results 1–5" in all_text(page1)

    call = await _press(bot, fake_api, page1, button(page1, "Next")["custom_id"], 2)
    assert call.json["type"] == 7  # UPDATE_MESSAGE: the same message now shows page 2
    page2 = call.json["data"]
    assert "Results 6–10" in all_text(page2)
    assert button(page2, "Previous")["custom_id"] == "papers:page:search:0:q:speech"
    assert page2["allowed_mentions"] == {"parse": []}
    titles1 = {e.get("title") for e in page1["embeds"][1:]}
    titles2 = {e.get("title") for e in page2["embeds"][1:]}
    assert not titles1 & titles2

    call = await _press(bot, fake_api, page2, button(page2, "Previous")["custom_id"], 3)
    assert "Results 1–5" in all_text(call.json["data"])


async def test_buttons_keep_working_after_a_restart(
    bot: PapersBot, core: Core, settings: Settings, fake_api: FakeDiscordAPI
) -> None:
    first = await run_command(bot, fake_api, "search", options={"query": "speech"})
    page1 = first.json["data"]
    await bot.close()

    # A new process: nothing in memory knows about the message the button sits on.
    restarted = create_bot(core.commands, settings, kv=core.kv)
    await restarted.login("fake-token")
    try:
        call = await _press(restarted, fake_api, page1, button(page1, "Next")["custom_id"], 2)
        assert "Results 6–10" in all_text(call.json["data"])
    finally:
        await restarted.close()


async def test_over_long_query_is_shortened_with_a_note_and_pages_via_the_database(
    bot: PapersBot, core: Core, settings: Settings, fake_api: FakeDiscordAPI
) -> None:
    query = "speech separation " + " ".join(f"word{i}" for i in range(300))
    call = await run_command(bot, fake_api, "search", options={"query": query})
    data = call.json["data"]
    text = all_text(data)
    assert "query was" in text.lower() or "first 256" in text, text
    for b in buttons(data):
        assert len(b["custom_id"]) <= 100
    nxt = button(data, "Next")["custom_id"]
    assert nxt.startswith("papers:page:search:5:h:")

    # The shortened query lives in kv_store, so a fresh bot can still serve page 2.
    await bot.close()
    restarted = create_bot(core.commands, settings, kv=core.kv)
    await restarted.login("fake-token")
    try:
        call = await _press(restarted, fake_api, data, nxt, 2)
        assert "Results 6–" in all_text(call.json["data"])
    finally:
        await restarted.close()


async def test_unknown_stored_query_says_the_list_expired(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    custom_id = "papers:page:search:5:h:" + "0" * 40
    row = {
        "type": 1,
        "components": [{"type": 2, "style": 2, "label": "Next", "custom_id": custom_id}],
    }
    call = await _press(bot, fake_api, {"content": "old", "components": [row]}, custom_id, 1)
    assert "expired" in all_text(call.json["data"])


async def test_title_with_everyone_mentions_nobody(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    with core.db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title="@everyone Zebrafish Acoustics @here <@&123>", source="test")],
            seen_at=datetime.now(UTC),
        )
    core.refresh_index()
    call = await run_command(bot, fake_api, "search", options={"query": "zebrafish acoustics"})
    data = call.json["data"]
    assert "@everyone Zebrafish" in all_text(data)
    assert data["allowed_mentions"]["parse"] == []
    assert not data["allowed_mentions"].get("users")
    assert not data["allowed_mentions"].get("roles")


async def test_rate_limited_callback_is_retried(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    fake_api.rate_limit_next("POST", CALLBACK, retry_after=0.05)
    call = await run_command(
        bot, fake_api, "search", n=2, options={"query": "cocktail party problem"}
    )
    attempts = fake_api.find("POST", CALLBACK)
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[0].path == attempts[1].path
    assert any(SURVEY in e.get("title", "") for e in call.json["data"]["embeds"])


async def test_trending_count(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    call = await run_command(bot, fake_api, "trending", options={"count": 3})
    embeds = call.json["data"]["embeds"]
    assert len(embeds) == 1 + 3


async def test_help(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    call = await run_command(bot, fake_api, "help")
    text = all_text(call.json["data"])
    assert "/papers search" in text
    # The core writes Slack mrkdwn (`*bold*`), which Discord would show in italics.
    assert "**papers-bot** finds and follows research papers." in text
    assert "*papers-bot*" not in text.replace("**papers-bot**", "")
    # Apart from the bold markers, the wording and line layout are the core's own.
    assert HELP_TEXT.replace("*papers-bot*", "**papers-bot**").rstrip() in text


def _subscription(core: Core) -> Any:
    with core.db.uow() as uow:
        return uow.subscriptions.for_channel(ChannelRef(Platform.DISCORD, CHANNEL_ID, GUILD_ID))


async def test_subscribe_with_manage_channels(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    options = {"time": "09:00", "timezone": "europe/berlin", "keywords": "diffusion, speech"}
    call = await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=options)
    assert "Subscribed" in all_text(call.json["data"])
    sub = _subscription(core)
    assert sub is not None
    assert sub.spec.timezone == "Europe/Berlin"
    assert sub.spec.at.strftime("%H:%M") == "09:00"
    assert sub.spec.keywords == ("diffusion", "speech")

    call = await run_command(bot, fake_api, "subscriptions", n=2)
    assert "Europe/Berlin" in all_text(call.json["data"])

    call = await run_command(bot, fake_api, "unsubscribe", n=3, permissions=MANAGER_PERMS)
    assert "Unsubscribed" in all_text(call.json["data"])
    assert _subscription(core) is None


async def test_subscribe_weekly_option_sets_a_weekly_digest(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    options = {"time": "16:00", "timezone": "Europe/Berlin", "weekly": "fri"}
    call = await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=options)
    assert "week" in all_text(call.json["data"])
    sub = _subscription(core)
    assert sub is not None and sub.spec.cadence.value == "weekly"
    assert [int(d) for d in sub.spec.weekdays] == [4]
    call = await run_command(bot, fake_api, "subscriptions", n=2)
    assert "weekly on Fri" in all_text(call.json["data"])


@pytest.mark.parametrize(
    ("keywords", "expected"),
    [("speech/audio, diffusion", ("speech/audio", "diffusion")), ("GMT", ("GMT",))],
)
async def test_subscribe_keywords_are_never_read_as_a_timezone(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI, keywords: str, expected: tuple[str]
) -> None:
    options = {"time": "07:30", "keywords": keywords}
    call = await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=options)
    assert "Subscribed" in all_text(call.json["data"])
    sub = _subscription(core)
    assert sub is not None
    assert sub.spec.keywords == expected
    assert sub.spec.timezone == "UTC"
    assert [int(d) for d in sub.spec.weekdays] == [0, 1, 2, 3, 4]


async def test_subscribe_without_manage_channels_is_refused(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(
        bot, fake_api, "subscribe", permissions=MEMBER_PERMS, options={"time": "09:00"}
    )
    assert "manage this channel" in all_text(call.json["data"])
    assert _subscription(core) is None


async def test_administrator_counts_as_manager(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    await run_command(
        bot, fake_api, "subscribe", permissions=1 << 3, options={"time": "7am", "timezone": "UTC"}
    )
    assert _subscription(core) is not None


async def test_subscribe_in_a_dm_gets_a_clear_message(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(bot, fake_api, "subscribe", guild=False, options={"time": "09:00"})
    assert "not a DM" in all_text(call.json["data"])
    call = await run_command(bot, fake_api, "subscriptions", n=2, guild=False)
    assert "not a DM" in all_text(call.json["data"])


async def test_subscribe_where_the_bot_is_not_installed(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(
        bot,
        fake_api,
        "subscribe",
        permissions=MANAGER_PERMS,
        guild_installed=False,
        options={"time": "09:00"},
    )
    assert "not a member of this server" in all_text(call.json["data"])
    assert _subscription(core) is None


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"time": "25:99"}, "not a time of day"),
        ({"time": "09:00", "timezone": "Mars/Olympus"}, "not a timezone"),
    ],
)
async def test_subscribe_rejects_bad_time_or_zone(
    bot: PapersBot,
    core: Core,
    fake_api: FakeDiscordAPI,
    options: dict[str, str],
    expected: str,
) -> None:
    call = await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=options)
    assert expected in all_text(call.json["data"])
    assert _subscription(core) is None


async def test_slow_answer_is_deferred_then_sent_as_follow_up(
    bot: PapersBot, fake_api: FakeDiscordAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No wait at all before deferring: the defer-then-follow-up path runs every time.
    monkeypatch.setattr(views, "DEFER_AFTER_SECONDS", 0)
    call = await run_command(bot, fake_api, "search", options={"query": "cocktail party problem"})
    assert call.json["type"] == 5  # DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
    assert call.json["data"]["flags"] & EPHEMERAL
    followup = await fake_api.wait_for_call("POST", FOLLOWUP)
    assert any(SURVEY in e.get("title", "") for e in followup.json["embeds"])
    assert followup.json["allowed_mentions"] == {"parse": []}


async def test_long_trending_list_continues_in_follow_ups(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(bot, fake_api, "trending", options={"count": 25})
    first = call.json["data"]

    def numbered(message: dict[str, Any]) -> int:
        return sum(e.get("title", "").split(". ", 1)[0].isdigit() for e in message["embeds"])

    # Wait for every follow-up: how many there are depends on how large the cards render.
    await fake_api.wait_for(
        lambda _c: (
            numbered(first) + sum(numbered(c.json) for c in fake_api.find("POST", FOLLOWUP)) >= 25
        )
    )
    messages = [first, *(c.json for c in fake_api.find("POST", FOLLOWUP))]
    cards = 0
    for message in messages:
        assert len(message["embeds"]) <= 10
        assert message["allowed_mentions"] == {"parse": []}
        size = 0
        for e in message["embeds"]:
            size += len(e.get("title", "")) + len(e.get("description", ""))
            size += sum(len(f["name"]) + len(f["value"]) for f in e.get("fields", []))
            size += len(e.get("footer", {}).get("text", ""))
            cards += e.get("title", "").split(". ", 1)[0].isdigit()
        assert size <= 6000
    assert cards == 25


async def test_keywords_cannot_override_the_typed_options(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    """Issue 16: `keywords` once went back through the text grammar, so `days=`, `top=` and
    `min=` typed there beat the chosen options. Typed options now never meet that text."""
    options = {
        "time": "09:00",
        "keywords": "diffusion days=daily top=9 min=50",
        "days": "weekends",
        "top": 3,
        "min_upvotes": 5,
    }
    call = await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=options)
    assert "Subscribed" in all_text(call.json["data"])
    spec = _subscription(core).spec
    assert [int(d) for d in spec.weekdays] == [5, 6]
    assert (spec.top_n, spec.min_upvotes) == (3, 5)
    assert spec.keywords == ("diffusion days=daily top=9 min=50",)


async def test_resubscribing_keeps_what_is_not_given(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    first = {"time": "09:00", "keywords": "speech", "days": "daily", "top": 3}
    await run_command(bot, fake_api, "subscribe", permissions=MANAGER_PERMS, options=first)
    again = {"time": "10:00"}
    call = await run_command(
        bot, fake_api, "subscribe", n=2, permissions=MANAGER_PERMS, options=again
    )
    assert "Updated" in all_text(call.json["data"])
    spec = _subscription(core).spec
    assert spec.at.strftime("%H:%M") == "10:00"
    assert (spec.keywords, spec.top_n, len(spec.weekdays)) == (("speech",), 3, 7)


async def test_forged_page_button_with_huge_offset_says_expired(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    first = await run_command(bot, fake_api, "search", options={"query": "speech"})
    page1 = first.json["data"]
    # discord.py dispatches only ids present on the message, so forge the message too.
    forged = "papers:page:search:999999999:q:speech"
    button(page1, "Next")["custom_id"] = forged
    call = await _press(bot, fake_api, page1, forged, 2)
    assert "expired" in all_text(call.json["data"])
