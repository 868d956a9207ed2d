"""`papers-bot discord sync`: commands are registered over HTTP only, globally or per guild."""

from __future__ import annotations

from adapters.discord.registration import describe, sync_commands
from bot.settings import Settings
from tests.adapters.discord.fake_discord import APP_ID, FakeDiscordAPI

SUBCOMMANDS = {"search", "trending", "subscribe", "unsubscribe", "subscriptions", "help"}


async def test_global_sync(settings: Settings, fake_api: FakeDiscordAPI) -> None:
    synced = await sync_commands(settings.model_copy(update={"discord_api_url": fake_api.base_url}))
    (call,) = fake_api.find("PUT", rf"^/applications/{APP_ID}/commands$")
    (group,) = call.body
    assert group["name"] == "papers"
    assert {o["name"] for o in group["options"]} == SUBCOMMANDS
    search = next(o for o in group["options"] if o["name"] == "search")
    assert search["options"][0]["autocomplete"] is True
    assert describe(synced[0]).startswith("/papers (search, trending")
    # HTTP only: no gateway lookup, and nothing but login, app info and the sync.
    assert not fake_api.find("GET", r"^/gateway")


async def test_guild_sync(settings: Settings, fake_api: FakeDiscordAPI) -> None:
    url = fake_api.base_url
    await sync_commands(settings.model_copy(update={"discord_api_url": url}), 123456789012345678)
    (call,) = fake_api.find("PUT", rf"^/applications/{APP_ID}/guilds/123456789012345678/commands$")
    assert [c["name"] for c in call.body] == ["papers"]
