"""`papers-bot serve discord` stops on SIGTERM with exit 0 and no error in its log.

Once on the fake gateway (READY), and while the gateway handshake is still unanswered.
discord.py's own client, gateway and HTTP code run against the loopback fakes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.discord.conftest import CHANNEL_ID, GUILD_ID
from tests.adapters.discord.fake_discord import FakeDiscordAPI, FakeGateway
from tests.adapters.served import (
    SilentPeer,
    serve_environment,
    serving,
    stop_cleanly,
    stop_while_connecting,
    wait_or_exit,
)

pytestmark = pytest.mark.slow


def discord_environment(api: FakeDiscordAPI, gateway_url: str, tmp_path: Path) -> dict[str, str]:
    api.gateway_url = gateway_url
    return serve_environment(
        f"sqlite:///{tmp_path / 'papers.db'}",
        DISCORD_TOKEN="fake-token",
        DISCORD_API_URL=api.base_url,
        DISCORD_GATEWAY_URL=gateway_url,
    )


async def test_serve_discord_stops_cleanly_once_ready(
    fake_api: FakeDiscordAPI, tmp_path: Path
) -> None:
    gateway = FakeGateway(GUILD_ID, CHANNEL_ID)
    env = discord_environment(fake_api, await gateway.start(), tmp_path)
    log = tmp_path / "serve.log"
    try:
        async with serving("discord", env, log) as proc:
            await wait_or_exit(gateway.ready, proc, log)
            records = await stop_cleanly(proc, log)
    finally:
        await gateway.close()
    assert records[-1]["msg"] == "stopped"
    # The bot never joins voice: no "PyNaCl / davey is not installed" warning at start.
    assert [r["msg"] for r in records if r["level"] == "warning"] == []


async def test_serve_discord_stopped_while_connecting_stops_cleanly(
    fake_api: FakeDiscordAPI, tmp_path: Path
) -> None:
    async with SilentPeer() as peer:
        env = discord_environment(fake_api, peer.url, tmp_path)
        records = await stop_while_connecting("discord", env, peer, tmp_path / "serve.log")
    assert records[-1]["msg"] == "stopped"
