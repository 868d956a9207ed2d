"""`papers-bot serve slack` stops on SIGTERM with exit 0 and no error in its log.

Socket Mode both connected and still connecting (the WebSocket handshake never answered:
the Socket Mode client's aiohttp session was left open then), and HTTP mode. The process
talks to the loopback fake Slack API through the real slack_sdk and bolt code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.served import (
    SilentPeer,
    free_port,
    serve_environment,
    serving,
    stop_cleanly,
    stop_while_connecting,
    wait_for_log,
)
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.adapters.slack.fake_slack import FakeSlack

pytestmark = pytest.mark.slow

APP_TOKEN = "xapp-1-A0PAPERS-1234-socketmodetoken"


def slack_environment(fake: FakeSlack, tmp_path: Path, **settings: str) -> dict[str, str]:
    return serve_environment(
        f"sqlite:///{tmp_path / 'papers.db'}",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        **settings,
    )


async def test_socket_mode_connected_stops_cleanly(fake: FakeSlack, tmp_path: Path) -> None:
    env = slack_environment(fake, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
    log = tmp_path / "serve.log"
    async with serving("slack", env, log) as proc:
        await fake.wait_for_calls("socket_connected", wait=120)
        records = await stop_cleanly(proc, log)
    assert records[-1]["msg"] == "stopped"


async def test_socket_mode_stopped_while_connecting_closes_its_session(
    fake: FakeSlack, tmp_path: Path
) -> None:
    async with SilentPeer() as peer:
        fake.socket_url = peer.url
        env = slack_environment(fake, tmp_path, SLACK_APP_TOKEN=APP_TOKEN)
        records = await stop_while_connecting("slack", env, peer, tmp_path / "serve.log")
    assert records[-1]["msg"] == "stopped"
    assert not fake.calls_to("socket_connected")


async def test_http_mode_stops_cleanly(fake: FakeSlack, tmp_path: Path) -> None:
    env = slack_environment(
        fake, tmp_path, SLACK_SIGNING_SECRET=SIGNING_SECRET, PORT=str(free_port())
    )
    log = tmp_path / "serve.log"
    async with serving("slack", env, log) as proc:
        await wait_for_log(proc, log, "Slack: serving HTTP")
        records = await stop_cleanly(proc, log)
    assert records[-1]["msg"] == "stopped"
