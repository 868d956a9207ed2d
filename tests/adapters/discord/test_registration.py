"""`papers-bot discord sync`: commands are registered over HTTP only, globally or per guild."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from adapters.discord.registration import describe, sync_commands
from bot.settings import Settings
from tests.adapters.discord.fake_discord import APP_ID, HANG_GUARD_SECONDS, FakeDiscordAPI
from tests.runtime.cli.helpers import bot_environment

SUBCOMMANDS = {"search", "trending", "subscribe", "unsubscribe", "subscriptions", "help"}
ALERT_SUBCOMMANDS = {"follow", "alert", "following", "unfollow"}
# Reading list, citations and link memory (issue 14).
SUBCOMMANDS |= {"save", "list", "cite"}
# More like this (issue 12).
SUBCOMMANDS |= {"similar"}
# Channel taste (issue 13).
SUBCOMMANDS |= {"taste"}
MESSAGE_MENU = {"name": "Paper card", "type": 3}


async def test_global_sync(settings: Settings, fake_api: FakeDiscordAPI) -> None:
    synced = await sync_commands(settings.model_copy(update={"discord_api_url": fake_api.base_url}))
    (call,) = fake_api.find("PUT", rf"^/applications/{APP_ID}/commands$")
    group, menu = call.body
    assert group["name"] == "papers"
    assert {o["name"] for o in group["options"]} == SUBCOMMANDS | ALERT_SUBCOMMANDS
    assert {k: menu[k] for k in MESSAGE_MENU} == MESSAGE_MENU
    search = next(o for o in group["options"] if o["name"] == "search")
    assert search["options"][0]["autocomplete"] is True
    assert describe(synced[0]).startswith("/papers (search, trending")
    # HTTP only: no gateway lookup, and nothing but login, app info and the sync.
    assert not fake_api.find("GET", r"^/gateway")


async def test_guild_sync(settings: Settings, fake_api: FakeDiscordAPI) -> None:
    url = fake_api.base_url
    await sync_commands(settings.model_copy(update={"discord_api_url": url}), 123456789012345678)
    (call,) = fake_api.find("PUT", rf"^/applications/{APP_ID}/guilds/123456789012345678/commands$")
    assert [c["name"] for c in call.body] == ["papers", "Paper card"]


async def _cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "papers-bot"),
        *args,
        env=bot_environment(**env),
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), HANG_GUARD_SECONDS * 4)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_discord_sync(fake_api: FakeDiscordAPI, tmp_path: Path) -> None:
    env = {"DISCORD_TOKEN": "fake-token", "DISCORD_API_URL": fake_api.base_url}
    code, out, err = await _cli("discord", "sync", "--guild", "42", env=env, cwd=tmp_path)
    assert code == 0, err
    assert "registered 2 command(s) in guild 42" in out
    assert "/papers (search, trending, subscribe, unsubscribe, subscriptions, help" in out
    assert "follow, alert, following, unfollow" in out
    assert "save, list, cite" in out
    assert "/Paper card" in out
    assert fake_api.find("PUT", rf"^/applications/{APP_ID}/guilds/42/commands$")


async def test_cli_discord_sync_without_token_is_a_usage_error(tmp_path: Path) -> None:
    code, _out, err = await _cli("discord", "sync", env={}, cwd=tmp_path)
    assert code == 2
    assert err.strip() == "error: DISCORD_TOKEN is not set"


async def test_cli_discord_sync_rejected_token(fake_api: FakeDiscordAPI, tmp_path: Path) -> None:
    fake_api.fail_next("GET", r"^/users/@me$", 401, {"message": "401: Unauthorized", "code": 0})
    env = {"DISCORD_TOKEN": "bad", "DISCORD_API_URL": fake_api.base_url}
    code, _out, err = await _cli("discord", "sync", env=env, cwd=tmp_path)
    assert code == 1
    assert err.startswith("error: Discord rejected the token")
    assert len(err.strip().splitlines()) == 1
