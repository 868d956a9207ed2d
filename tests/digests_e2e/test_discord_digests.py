"""`papers-bot digest run` posting to Discord through the real `DiscordSink` (discord.py
logged in over HTTP only, no gateway) against the Discord adapter's loopback fake REST API:
one digest per channel despite a 429, and a 403 recorded as a permanent failure."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.commands.parser import parse
from bot.models import CommandRequest, DeliveryStatus, Platform
from bot.settings import Settings
from bot.testing.fakes import seed_papers
from runtime.core import build_core
from storage.db import Database
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.digests_e2e.conftest import REPO
from tests.runtime.cli.helpers import bot_environment
from tests.storage.helpers import list_subscriptions

GUILD = "800000000000000001"
CHANNELS = [f"70000000000000{i:04d}" for i in range(4)]
FORBIDDEN = CHANNELS[-1]
TOKEN = "discord-digest-test-token"


@pytest.fixture
async def discord_api() -> AsyncIterator[FakeDiscordAPI]:
    fake = FakeDiscordAPI()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


async def test_discord_digests_once_per_channel_and_403_is_permanent(
    discord_api: FakeDiscordAPI, database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    db.upgrade()
    seed_papers(db, (datetime.now(UTC) + timedelta(days=1)).date(), per_day=6, days=5)
    core = build_core(Settings(_env_file=None, DATABASE_URL=database_url))  # type: ignore[call-arg]
    for channel in CHANNELS:
        reply = await core.commands.dispatch(
            CommandRequest(
                platform=Platform.DISCORD,
                channel=channel,
                user="600000000000000001",
                command=parse("subscribe 09:00 UTC days=daily"),
                workspace=GUILD,
                can_manage=True,
            )
        )
        assert "Subscribed" in reply.text, reply.text
    core.db.dispose()
    discord_api.rate_limit_next("POST", rf"/channels/{CHANNELS[0]}/messages", retry_after=0.1)
    discord_api.fail_next(
        "POST",
        rf"/channels/{FORBIDDEN}/messages",
        403,
        {"message": "Missing Access", "code": 50001},
        times=5,
    )
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    env = bot_environment(
        DATABASE_URL=database_url,
        DISCORD_TOKEN=TOKEN,
        DISCORD_API_URL=discord_api.base_url,
        PAPERS_LOG_FORMAT="text",
        PYTHONPATH=str(REPO),
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runtime.cli.main",
        "digest",
        "run",
        "--now",
        f"{tomorrow.isoformat()}T09:05:00Z",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-3000:]
    assert "sent 3, failed 1" in out.decode()
    for channel in CHANNELS[:-1]:
        posted = discord_api.channels.get(channel, [])
        assert len(posted) == 1, channel
    assert discord_api.channels.get(FORBIDDEN, []) == []
    assert len(discord_api.find("POST", rf"/channels/{CHANNELS[0]}/messages")) == 2  # 429, then ok
    # The gateway was never needed: only REST calls reached the fake.
    assert not discord_api.find("GET", r"^/gateway")
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == 3
        assert uow.deliveries.count(DeliveryStatus.FAILED) == 1
        subs = {s.channel.channel: s for s in list_subscriptions(uow)}
        assert subs[FORBIDDEN].consecutive_failures == 1
    db.dispose()
