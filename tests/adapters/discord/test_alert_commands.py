"""Discord `/papers follow`, `alert`, `following` and `unfollow`, through the real discord.py."""

from __future__ import annotations

import pytest

from adapters.discord.bot import PapersBot
from bot.settings import Settings
from storage.db import Database
from tests.adapters.alert_papers import store_namesakes
from tests.adapters.discord.conftest import MANAGER_PERMS, MEMBER_PERMS
from tests.adapters.discord.fake_discord import FakeDiscordAPI
from tests.adapters.discord.test_commands import all_text, run_command


async def test_follow_alert_following_unfollow(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    call = await run_command(
        bot, fake_api, "follow", permissions=MANAGER_PERMS, options={"author": "Ada Lovelace"}
    )
    assert "Following Ada Lovelace" in all_text(call.json["data"])
    call = await run_command(
        bot,
        fake_api,
        "alert",
        n=2,
        permissions=MANAGER_PERMS,
        options={"query": "speech separation"},
    )
    assert "Alert saved" in all_text(call.json["data"])
    call = await run_command(bot, fake_api, "following", n=3, permissions=MEMBER_PERMS)
    listed = all_text(call.json["data"])
    assert "1. author Ada Lovelace" in listed and "2. search “speech separation”" in listed
    call = await run_command(
        bot, fake_api, "unfollow", n=4, permissions=MANAGER_PERMS, options={"number": 1}
    )
    assert "Removed alert 1: author Ada Lovelace" in all_text(call.json["data"])


async def test_follow_needs_manage_channels(bot: PapersBot, fake_api: FakeDiscordAPI) -> None:
    call = await run_command(
        bot, fake_api, "follow", permissions=MEMBER_PERMS, options={"author": "Ada Lovelace"}
    )
    assert "manage" in all_text(call.json["data"])


@pytest.fixture
def settings(settings: Settings) -> Settings:
    database = Database(settings.database_url)
    database.upgrade()
    database.dispose()
    store_namesakes(settings.database_url)
    return settings


async def test_a_name_of_several_people_lists_them_and_choice_picks_one(
    bot: PapersBot, fake_api: FakeDiscordAPI
) -> None:
    call = await run_command(
        bot, fake_api, "follow", permissions=MANAGER_PERMS, options={"author": "Y. Wang"}
    )
    asked = all_text(call.json["data"])
    assert "“Y. Wang” may mean 2 people. Which one?" in asked
    assert "#1 Yi Wang — 2 papers: Vision agents that plan" in asked
    assert "#2 Yu Wang — 1 paper: Speech tokens at scale" in asked
    call = await run_command(
        bot,
        fake_api,
        "follow",
        n=2,
        permissions=MANAGER_PERMS,
        options={"author": "Y. Wang", "choice": 2},
    )
    assert "Following Yu Wang (1 paper so far" in all_text(call.json["data"])
    call = await run_command(bot, fake_api, "following", n=3, permissions=MEMBER_PERMS)
    assert "1. author Yu Wang" in all_text(call.json["data"])
