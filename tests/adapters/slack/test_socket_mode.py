"""Socket Mode: `serve_slack` with SLACK_APP_TOKEN connects over WebSocket, no HTTP port.

The fake answers `apps.connections.open` with its own WebSocket URL, says hello, and
pushes a slash-command envelope; the real slack_sdk Socket Mode client and bolt handle it.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qsl

from adapters.slack.runner import serve_slack
from runtime.core import build_core
from tests.adapters.slack.conftest import SURVEY, make_settings, slash_body
from tests.adapters.slack.fake_slack import FakeSlack


async def test_socket_mode_answers_a_slash_command(fake: FakeSlack, seeded_url: str) -> None:
    settings = make_settings(
        fake,
        seeded_url,
        SLACK_APP_TOKEN="xapp-1-A0PAPERS-1234-socketmodetoken",
        SLACK_SIGNING_SECRET="",
    )
    core = build_core(settings)
    task = asyncio.create_task(serve_slack(core.commands, settings, kv=core.kv, port=0))
    try:
        await fake.wait_for_calls("socket_connected")
        payload = dict(
            parse_qsl(slash_body("cocktail party problem", response_url=fake.response_url("ws")))
        )
        await fake.socket_send(
            {
                "envelope_id": "env-1",
                "type": "slash_commands",
                "payload": payload,
                "accepts_response_payload": True,
            }
        )
        frames = await fake.wait_for(
            lambda calls: [
                c for c in calls if c.method == "socket_frame" and c.params.get("envelope_id")
            ]
        )
        assert frames[0].params["envelope_id"] == "env-1"
        (answer,) = await fake.wait_for_calls("response_url")
        assert SURVEY in answer.text_dump()
        opened = fake.calls_to("apps.connections.open")[0]
        assert opened.headers["Authorization"].startswith("Bearer xapp-")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        core.db.dispose()
