"""Digest sinks and the digest runner, built the same way for `serve` and `digest run`.

Every sink exists before the runner does, and the runner gets a mapping nobody changes
afterwards: Discord's sink needs a logged-in client, so the caller logs in first (over
HTTP only for `digest run`, the served bot for `serve`) and passes the client here.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import MappingProxyType
from typing import TYPE_CHECKING

from rich.console import Console

from bot.digests.runner import DigestRunner
from bot.models import Platform
from bot.ports import KeyValueStore, MessageSink
from bot.settings import Settings
from storage.db import Database
from storage.leases import WorkerLease

if TYPE_CHECKING:
    import discord


def build_sinks(
    settings: Settings,
    kv: KeyValueStore,
    *,
    console: Console | None,
    slack: bool,
    discord_client: discord.Client | None,
) -> Mapping[Platform, MessageSink]:
    """The sinks of the platforms asked for; a platform without tokens gets none."""
    sinks: dict[Platform, MessageSink] = {}
    if console is not None:
        from adapters.console.sink import ConsoleSink

        sinks[Platform.CONSOLE] = ConsoleSink(console)
    if slack and settings.slack_enabled:
        from adapters.slack.sink import build_slack_sink

        # In OAuth mode the sink reads each workspace's token from the installation store.
        slack_sink = build_slack_sink(settings, kv)
        if slack_sink is not None:
            sinks[Platform.SLACK] = slack_sink
    if discord_client is not None:
        from adapters.discord.sink import build_discord_sink

        discord_sink = build_discord_sink(settings, discord_client)
        if discord_sink is not None:
            sinks[Platform.DISCORD] = discord_sink
    return MappingProxyType(sinks)


async def discord_poster(settings: Settings, stack: AsyncExitStack) -> discord.Client | None:
    """A discord.py client logged in over HTTP only (no gateway): enough to post digests."""
    if not settings.discord_enabled:
        return None
    import discord

    from adapters.discord.runner import configure_endpoints, require_token

    configure_endpoints(settings)
    client = discord.Client(intents=discord.Intents.none())
    await stack.enter_async_context(client)
    await client.login(require_token(settings))
    return client


def build_runner(
    database: Database,
    sinks: Mapping[Platform, MessageSink],
    lease: WorkerLease,
    *,
    concurrency: int = 64,
) -> DigestRunner:
    """The digest runner of this process, holding `lease` (acquired by the caller)."""
    from runtime.dense import taste_ranker, topic_matcher

    return DigestRunner(
        database.uow,
        sinks,
        worker_id=lease.worker_id,
        concurrency=concurrency,
        is_alive=lease.is_alive,
        topics=topic_matcher(),
        taste=taste_ranker(database.uow),
    )
