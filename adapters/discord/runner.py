"""Runs the Discord bot: `open_discord` logs it in, `serve_discord` also connects it.

`DISCORD_API_URL` and `DISCORD_GATEWAY_URL` are applied to discord.py's class-level
endpoints (`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`), which is how the bot runs
behind a proxy or against the loopback fakes in the tests. Commands are never synced here.
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from contextlib import AsyncExitStack

import discord.gateway
import discord.http
import yarl

from adapters.discord.bot import PapersBot, ShardedPapersBot, create_bot
from adapters.discord.config import DiscordSettings
from adapters.discord.sink import build_discord_sink
from bot.commands.core import CommandCore
from bot.models import Platform
from bot.ports import KeyValueStore, MessageSink

log = logging.getLogger(__name__)


def configure_endpoints(settings: DiscordSettings) -> None:
    """Point discord.py at the configured REST base and gateway (process-wide settings)."""
    discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)


def require_token(settings: DiscordSettings) -> str:
    token = settings.discord_token.get_secret_value() if settings.discord_token else ""
    if not token:
        raise RuntimeError("DISCORD_TOKEN is not set")
    return token


async def open_discord(
    handler: CommandCore,
    settings: DiscordSettings,
    stack: AsyncExitStack,
    *,
    kv: KeyValueStore | None = None,
    bot: PapersBot | ShardedPapersBot | None = None,
) -> PapersBot | ShardedPapersBot:
    """The bot, logged in over HTTP (not yet on the gateway); `stack` closes it.

    Logging in first lets the caller build the digest sink on this very client (so posts
    share its rate-limit state) before anything runs; `client.connect()` comes after.
    """
    token = require_token(settings)
    configure_endpoints(settings)
    client = bot or create_bot(handler, settings, kv=kv)
    await stack.enter_async_context(client)
    log.info("discord: logging in (api %s)", discord.http.Route.BASE)
    await client.login(token)
    return client


async def serve_discord(
    handler: CommandCore,
    settings: DiscordSettings,
    *,
    kv: KeyValueStore | None = None,
    sinks: MutableMapping[Platform, MessageSink] | None = None,
    bot: PapersBot | ShardedPapersBot | None = None,
) -> None:
    """Connect and answer interactions until cancelled; closes the client on the way out.

    When `sinks` is given, the Discord digest sink is added to it as soon as the client
    has logged in, and removed again when the client closes. (`papers-bot serve` does not
    use this: `runtime.serve` builds every sink before the digest runner.)
    """
    async with AsyncExitStack() as stack:
        client = await open_discord(handler, settings, stack, kv=kv, bot=bot)
        sink = build_discord_sink(settings, client)
        if sinks is not None and sink is not None:
            sinks[Platform.DISCORD] = sink
        try:
            await client.connect(reconnect=True)
        finally:
            if sinks is not None and sinks.get(Platform.DISCORD) is sink:
                del sinks[Platform.DISCORD]
