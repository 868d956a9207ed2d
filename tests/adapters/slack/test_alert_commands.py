"""Slack `/papers follow author`, `alert`, `following` and `unfollow` over the loopback fake."""

from __future__ import annotations

import pytest

from tests.adapters.alert_papers import store_namesakes
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


@pytest.fixture
def seeded_url(seeded_url: str) -> str:
    store_namesakes(seeded_url)
    return seeded_url


async def test_a_name_of_several_people_lists_them_and_a_number_picks_one(
    served: Served, fake: FakeSlack
) -> None:
    call = await run_command(served, fake, 'follow author "Y. Wang"', "w1", channel="C0AL")
    asked = call.text_dump()
    assert "“Y. Wang” may mean 2 people. Which one?" in asked
    assert "#1 Yi Wang — 2 papers: Vision agents that plan" in asked
    assert "#2 Yu Wang — 1 paper: Speech tokens at scale" in asked
    call = await run_command(served, fake, 'follow author "Y. Wang" #1', "w2", channel="C0AL")
    assert "Following Yi Wang (2 papers so far" in call.text_dump()
    call = await run_command(served, fake, "following", "w3", channel="C0AL")
    assert "1. author Yi Wang" in call.text_dump()
