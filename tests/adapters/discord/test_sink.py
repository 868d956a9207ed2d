"""`DiscordSink` against the fake REST API: nonce, mentions, rate limits and error reasons."""

from __future__ import annotations

from datetime import date

from adapters.discord.bot import PapersBot
from adapters.discord.sink import DiscordSink, build_discord_sink, digest_nonce
from bot.models import ChannelRef, Digest, PaperCard, Platform
from bot.settings import Settings
from runtime.core import Core
from tests.adapters.discord.conftest import GUILD_ID
from tests.adapters.discord.fake_discord import FakeDiscordAPI

CHANNEL = "710000000000000001"
MESSAGES = rf"^/channels/{CHANNEL}/messages$"


def make_digest(core: Core, delivery_id: int = 41, n: int = 5) -> Digest:
    with core.db.uow() as uow:
        papers = [p for _, p in zip(range(n), uow.papers.iter_all(), strict=False)]
    return Digest(
        delivery_id=delivery_id,
        channel=ChannelRef(Platform.DISCORD, CHANNEL, GUILD_ID),
        digest_date=date(2025, 11, 7),
        cards=tuple(PaperCard(p, rank=i + 1) for i, p in enumerate(papers)),
        title="Trending papers @everyone",
        more_url="https://huggingface.co/papers",
    )


async def test_posts_with_nonce_and_no_mentions(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    sink = DiscordSink(bot)
    result = await sink.post_digest(make_digest(core))
    assert result.ok, result
    (call,) = fake_api.find("POST", MESSAGES)
    body = call.json
    assert body["nonce"] == digest_nonce(41) and body["enforce_nonce"] is True
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["embeds"]) == 5
    assert "Trending papers" in body["content"]
    assert result.message_id == fake_api.channels[CHANNEL][0]["id"]


async def test_resend_of_the_same_delivery_is_deduplicated_by_nonce(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    sink = DiscordSink(bot)
    first = await sink.post_digest(make_digest(core))
    again = await sink.post_digest(make_digest(core))
    assert first.ok and again.ok
    assert first.message_id == again.message_id
    assert len(fake_api.channels[CHANNEL]) == 1


async def test_find_posted_recognises_the_delivery_in_history(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    sink = DiscordSink(bot)
    channel = ChannelRef(Platform.DISCORD, CHANNEL, GUILD_ID)
    assert await sink.find_posted(channel, 41) is None
    posted = await sink.post_digest(make_digest(core, delivery_id=41))
    await sink.post_digest(make_digest(core, delivery_id=4))
    assert await sink.find_posted(channel, 41) == posted.message_id
    assert await sink.find_posted(channel, 5) is None


async def test_rate_limited_post_is_retried_by_discord_py(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    fake_api.rate_limit_next("POST", MESSAGES, retry_after=0.05)
    result = await DiscordSink(bot).post_digest(make_digest(core))
    assert result.ok
    assert [c.status for c in fake_api.find("POST", MESSAGES)] == [429, 200]
    assert len(fake_api.channels[CHANNEL]) == 1


async def test_forbidden_is_permanent_with_reason(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    fake_api.fail_next("POST", MESSAGES, 403, {"message": "Missing Access", "code": 50001})
    result = await DiscordSink(bot).post_digest(make_digest(core))
    assert not result.ok and result.permanent
    assert result.reason == "forbidden: Missing Access (code 50001)"


async def test_not_found_is_permanent_with_reason(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    fake_api.fail_next("POST", MESSAGES, 404, {"message": "Unknown Channel", "code": 10003})
    result = await DiscordSink(bot).post_digest(make_digest(core))
    assert not result.ok and result.permanent
    assert result.reason == "not_found: Unknown Channel (code 10003)"


async def test_server_error_is_not_permanent(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    # 503 is not in discord.py's own retry set (500/502/504/524), so it surfaces at once.
    fake_api.fail_next("POST", MESSAGES, 503, {"message": "Service Unavailable", "code": 0})
    result = await DiscordSink(bot).post_digest(make_digest(core))
    assert not result.ok and not result.permanent
    assert result.reason is not None and result.reason.startswith("server_error: 503")


async def test_more_than_ten_cards_split_into_messages(
    bot: PapersBot, core: Core, fake_api: FakeDiscordAPI
) -> None:
    result = await DiscordSink(bot).post_digest(make_digest(core, n=14))
    assert result.ok
    calls = fake_api.find("POST", MESSAGES)
    assert [len(c.json["embeds"]) for c in calls] == [10, 4]
    assert [c.json["nonce"] for c in calls] == [digest_nonce(41, 0), digest_nonce(41, 1)]
    assert result.message_id == fake_api.channels[CHANNEL][0]["id"]


def test_build_sink_needs_a_token(settings: Settings, bot: PapersBot) -> None:
    assert isinstance(build_discord_sink(settings, bot), DiscordSink)
    no_token = settings.model_copy(update={"discord_token": None})
    assert build_discord_sink(no_token, bot) is None
    assert build_discord_sink(settings, None) is None
