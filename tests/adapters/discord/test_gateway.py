"""End to end over a fake gateway: the bot connects, identifies, and answers an interaction.

`serve_discord` runs in-process, and `papers-bot serve discord` as a subprocess (DESIGN.md
§5): both reach the fake gateway through `DISCORD_GATEWAY_URL` and the fake REST API
through `DISCORD_API_URL`, so everything between the socket and the reply is real.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import discord.gateway
import discord.http
import pytest

from adapters.discord.bot import PapersBot, ShardedPapersBot, create_bot
from adapters.discord.runner import serve_discord
from adapters.discord.sink import DiscordSink
from bot.models import Platform
from bot.ports import MessageSink
from bot.settings import Settings
from runtime.core import Core
from tests.adapters.discord.conftest import CHANNEL_ID, GUILD_ID, command, interaction
from tests.adapters.discord.fake_discord import HANG_GUARD_SECONDS, FakeDiscordAPI, FakeGateway

CALLBACK = r"^/interactions/\d+/[^/]+/callback$"
SURVEY = "Advances in Speech Separation: Techniques, Challenges, and Future Trends"


@pytest.fixture
async def gateway(fake_api: FakeDiscordAPI) -> AsyncIterator[FakeGateway]:
    fake = FakeGateway(GUILD_ID, CHANNEL_ID)
    fake_api.gateway_url = await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


def titles(call_json: dict[str, object]) -> list[str]:
    data = call_json["data"]
    assert isinstance(data, dict)
    return [e.get("title", "") for e in data["embeds"]]


async def test_serve_discord_in_process(
    core: Core,
    settings: Settings,
    fake_api: FakeDiscordAPI,
    gateway: FakeGateway,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # serve_discord sets these process-wide; have monkeypatch restore them afterwards.
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    monkeypatch.setattr(
        discord.gateway.DiscordWebSocket,
        "DEFAULT_GATEWAY",
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    served = settings.model_copy(
        update={"discord_api_url": fake_api.base_url, "discord_gateway_url": gateway.url}
    )
    sinks: dict[Platform, MessageSink] = {}
    task = asyncio.create_task(serve_discord(core.commands, served, kv=core.kv, sinks=sinks))
    try:
        await asyncio.wait_for(gateway.ready.wait(), HANG_GUARD_SECONDS)
        assert gateway.identify is not None
        # GUILDS | GUILD_MESSAGE_REACTIONS (channel taste): no privileged intents.
        assert gateway.identify["intents"] == 1 | 1 << 10
        assert isinstance(sinks[Platform.DISCORD], DiscordSink)

        await gateway.dispatch(
            "INTERACTION_CREATE",
            interaction(2, command("search", query="cocktail party problem")),
        )
        call = await fake_api.wait_for_call("POST", CALLBACK)
        assert any(SURVEY in t for t in titles(call.json))
        await asyncio.wait_for(gateway.heartbeat_acked.wait(), HANG_GUARD_SECONDS)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert Platform.DISCORD not in sinks


def _papers_bot() -> list[str]:
    exe = shutil.which("papers-bot", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "runtime.cli.main"]


@pytest.mark.slow
async def test_papers_bot_serve_discord_subprocess(
    core: Core,
    settings: Settings,
    fake_api: FakeDiscordAPI,
    gateway: FakeGateway,
    tmp_path: Path,
) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_URL": fake_api.base_url,
        "DISCORD_GATEWAY_URL": gateway.url,
        # Scheduled ingestion must never reach the real internet from a test.
        "PAPERS_HF_API_URL": fake_api.base_url + "/hf",
        "PAPERS_ARXIV_API_URL": fake_api.base_url + "/arxiv",
        "PAPERS_LOG_FORMAT": "text",
    }
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_CLIENT_ID", "DISCORD_SHARDS"):
        env.pop(name, None)
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            *_papers_bot(), "serve", "discord", env=env, cwd=tmp_path, stdout=out, stderr=out
        )
    try:
        ready = asyncio.ensure_future(gateway.ready.wait())
        exited = asyncio.ensure_future(proc.wait())
        await asyncio.wait({ready, exited}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        exited.cancel()
        assert gateway.ready.is_set(), log.read_text()[-3000:]

        await gateway.dispatch(
            "INTERACTION_CREATE",
            interaction(2, command("search", query="cocktail party problem")),
        )
        call = await fake_api.wait_for_call("POST", CALLBACK)
        assert any(SURVEY in t for t in titles(call.json)), log.read_text()[-3000:]
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(proc.wait(), HANG_GUARD_SECONDS)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_sharded_bot_uses_the_configured_gateway(
    core: Core, settings: Settings, fake_api: FakeDiscordAPI
) -> None:
    sharded = create_bot(
        core.commands,
        settings.model_copy(
            update={"discord_shards": "auto", "discord_gateway_url": "ws://127.0.0.1:9/"}
        ),
    )
    assert isinstance(sharded, ShardedPapersBot)
    await sharded.login("fake-token")
    try:
        # The shard count came from /gateway/bot, so discord.py will connect to
        # DEFAULT_GATEWAY (the override) instead of the URL Discord names.
        assert sharded.shard_count == 1
        assert fake_api.find("GET", r"^/gateway/bot$")
        assert sharded.allowed_mentions is not None
        assert sharded.allowed_mentions.to_dict() == {"parse": []}
    finally:
        await sharded.close()


def test_shard_setting_is_validated(core: Core, settings: Settings) -> None:
    assert isinstance(create_bot(core.commands, settings, kv=core.kv), PapersBot)
    fixed = create_bot(core.commands, settings.model_copy(update={"discord_shards": "3"}))
    assert isinstance(fixed, ShardedPapersBot) and fixed.shard_count == 3
    with pytest.raises(ValueError, match="DISCORD_SHARDS"):
        create_bot(core.commands, settings.model_copy(update={"discord_shards": "many"}))
