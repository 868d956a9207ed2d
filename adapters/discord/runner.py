"""Runs the Discord bot: `papers-bot serve discord` awaits `serve_discord(core, settings)`.

`DISCORD_API_URL` and `DISCORD_GATEWAY_URL` are applied to discord.py's class-level
endpoints (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`), which is how the bot runs
behind a proxy or against the loopback fakes in the tests. Commands are never synced here.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING

import discord.gateway
import discord.http
import yarl

from adapters.discord.bot import PapersBot, ShardedPapersBot, create_bot
from adapters.discord.sink import build_discord_sink
from bot.models import Platform
from bot.ports import MessageSink
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)


def configure_endpoints(settings: Settings) -> None:
    """Point discord.py at the configured REST base and gateway (process-wide settings)."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def require_token(settings: Settings) -> str:
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    if not token:
        raise RuntimeError("DISCORD_TOKEN is not set")
    return token


async def serve_discord(
    core: Core,
    settings: Settings,
    *,
    sinks: MutableMapping[Platform, MessageSink] | None = None,
    bot: PapersBot | ShardedPapersBot | None = None,
) -> None:
    """Connect and answer interactions until cancelled; closes the client on the way out.

    When `sinks` is given, the Discord digest sink is added to it as soon as the client
    has logged in (it posts over the same client, so it shares its rate-limit state), and
    removed again when the client closes.
    """
    token = require_token(settings)
    configure_endpoints(settings)
    client = bot or create_bot(core, settings)
    async with client:
        log.info("discord: logging in (api %s)", discord.http.Route.BASE)
        await client.login(token)
        sink = build_discord_sink(settings, client)
        if sinks is not None and sink is not None:
            sinks[Platform.DISCORD] = sink
        try:
            await client.connect(reconnect=True)
        finally:
            if sinks is not None and sinks.get(Platform.DISCORD) is sink:
                del sinks[Platform.DISCORD]
