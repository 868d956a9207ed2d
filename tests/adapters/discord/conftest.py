"""Fixtures for the Discord adapter tests: the fake REST API, a core with the seeds, a bot.

The bot is the real `PapersBot` logged in against the fake (HTTP only: `login` runs
`setup_hook`, so the cog and the page buttons are registered); interactions are fed in
through `client._connection.parse_interaction_create`, as the gateway would.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime
from typing import Any

import discord.http
import pytest

from adapters.discord.bot import PapersBot, create_bot
from bot.ingest.service import ingest_seeds
from bot.settings import Settings
from runtime.core import Core, build_core
from storage.db import Database
from tests.adapters.discord.fake_discord import APP_ID, FakeDiscordAPI

GUILD_ID = "800000000000000001"
CHANNEL_ID = "700000000000000001"
DM_CHANNEL_ID = "700000000000000099"
USER_ID = "600000000000000001"
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_CHANNELS = 1 << 4
MEMBER_PERMS = VIEW_CHANNEL | SEND_MESSAGES
MANAGER_PERMS = MEMBER_PERMS | MANAGE_CHANNELS
SEEDS_AS_OF = date(2025, 11, 7)

_ids = itertools.count(1_100_000_000_000_000_001)


def user_payload() -> dict[str, Any]:
    return {
        "id": USER_ID,
        "username": "ada",
        "discriminator": "0",
        "global_name": "Ada",
        "avatar": None,
    }


def interaction(
    type_: int,
    data: dict[str, Any],
    *,
    guild: bool = True,
    permissions: int = MEMBER_PERMS,
    message: dict[str, Any] | None = None,
    guild_installed: bool = True,
) -> dict[str, Any]:
    """An INTERACTION_CREATE payload as the gateway delivers it."""
    n = next(_ids)
    payload: dict[str, Any] = {
        "id": str(n),
        "application_id": APP_ID,
        "type": type_,
        "token": f"itoken-{n}",
        "version": 1,
        "locale": "en-US",
        "entitlements": [],
        "attachment_size_limit": 10_485_760,
        "app_permissions": str(MEMBER_PERMS | (1 << 14) | (1 << 16)),
        "data": data,
    }
    if guild:
        payload.update(
            {
                "guild_id": GUILD_ID,
                "guild_locale": "en-US",
                "channel_id": CHANNEL_ID,
                "channel": {
                    "id": CHANNEL_ID,
                    "type": 0,
                    "guild_id": GUILD_ID,
                    "name": "papers",
                    "position": 0,
                    "permission_overwrites": [],
                    "nsfw": False,
                    "parent_id": None,
                    "topic": None,
                    "last_message_id": None,
                    "rate_limit_per_user": 0,
                },
                "member": {
                    "user": user_payload(),
                    "roles": [],
                    "joined_at": "2024-01-01T00:00:00+00:00",
                    "deaf": False,
                    "mute": False,
                    "flags": 0,
                    "permissions": str(permissions),
                },
                "authorizing_integration_owners": (
                    {"0": GUILD_ID} if guild_installed else {"1": USER_ID}
                ),
                "context": 0,
            }
        )
    else:
        payload.update(
            {
                "channel_id": DM_CHANNEL_ID,
                "channel": {
                    "id": DM_CHANNEL_ID,
                    "type": 1,
                    "recipients": [user_payload()],
                    "last_message_id": None,
                },
                "user": user_payload(),
                "authorizing_integration_owners": {"0": "0"},
                "context": 1,
            }
        )
    if message is not None:
        payload["message"] = message
    return payload


def command(sub: str, **options: Any) -> dict[str, Any]:
    """`data` of a `/papers <sub> …` invocation (type 2)."""
    opts = [
        {"name": k, "type": 4 if isinstance(v, int) else 3, "value": v} for k, v in options.items()
    ]
    return {
        "id": "990000000000000001",
        "name": "papers",
        "type": 1,
        "options": [{"name": sub, "type": 1, "options": opts}],
    }


def autocomplete(sub: str, option: str, current: str) -> dict[str, Any]:
    """`data` of an autocomplete request (type 4) with `option` focused."""
    data = command(sub, **{option: current})
    data["options"][0]["options"][0]["focused"] = True
    return data


@pytest.fixture
def settings(sqlite_url: str) -> Settings:
    return Settings(_env_file=None, DATABASE_URL=sqlite_url, DISCORD_TOKEN="fake-token")  # type: ignore[call-arg]


@pytest.fixture
def core(settings: Settings) -> Iterator[Core]:
    db = Database(settings.database_url)
    db.upgrade()
    ingest_seeds(db.uow, as_of=SEEDS_AS_OF, now=datetime(2025, 11, 7, 12, tzinfo=UTC))
    db.dispose()
    built = build_core(settings)
    try:
        yield built
    finally:
        built.db.dispose()


@pytest.fixture
async def fake_api(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscordAPI]:
    fake = FakeDiscordAPI()
    base = await fake.start()
    monkeypatch.setattr(discord.http.Route, "BASE", base)
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def bot(core: Core, settings: Settings, fake_api: FakeDiscordAPI) -> AsyncIterator[PapersBot]:
    client = create_bot(core.commands, settings, kv=core.kv)
    assert isinstance(client, PapersBot)
    await client.login("fake-token")
    try:
        yield client
    finally:
        await client.close()


def feed(bot: discord.Client, payload: dict[str, Any]) -> None:
    """Hand an INTERACTION_CREATE to discord.py as its gateway reader would."""
    bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]
