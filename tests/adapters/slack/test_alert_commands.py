"""Slack `/papers follow author`, `alert`, `following` and `unfollow` over the loopback fake."""

from __future__ import annotations

from tests.adapters.slack.conftest import Served
from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_app import run_command


async def test_follow_alert_following_unfollow(served: Served, fake: FakeSlack) -> None:
    call = await run_command(served, fake, 'follow author "Ada Lovelace"', "f1", channel="C0AL")
    assert "Following Ada Lovelace" in call.text_dump()
    call = await run_command(served, fake, "alert speech separation", "a1", channel="C0AL")
    assert "Alert saved" in call.text_dump()
    call = await run_command(served, fake, "following", "l1", channel="C0AL")
    assert "1. author Ada Lovelace" in call.text_dump()
    assert "2. search “speech separation”" in call.text_dump()
    call = await run_command(served, fake, "unfollow 2", "u1", channel="C0AL")
    assert "Removed alert 2" in call.text_dump()
    call = await run_command(served, fake, "following", "l2", channel="C0AL")
    assert "speech separation" not in call.text_dump()
