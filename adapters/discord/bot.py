"""The discord.py client: a `commands.Bot` (or `AutoShardedBot`) carrying the `/papers` cog.

- Intents are minimal: `guilds`, which slash commands and channel resolution need, and
  `guild_reactions` (channel taste, issue 13: 👍/👎 reactions on digests arrive as raw
  reaction events). Neither is privileged; the bot reads no message content and no
  member lists.
- `AllowedMentions.none()` is the client default, so no paper title, abstract or user
  input can ever ping `@everyone`, a role or a user.
- The cog and the persistent page buttons are registered in `setup_hook`, which runs on
  `login`, before the gateway connects. Commands are *not* synced here: registration is
  `papers-bot discord sync`, since syncing on every start hits a tight rate limit.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from adapters.discord.cog import PapersCog
from adapters.discord.config import DiscordSettings
from adapters.discord.taste import TasteListeners
from adapters.discord.views import AlertsAllButton, PageButton, SaveButton, SimilarButton
from adapters.discord.vote_buttons import VoteButton, VoteMenu
from bot.commands.core import CommandCore
from bot.ports import KeyValueStore

log = logging.getLogger(__name__)


def bot_options() -> dict[str, object]:
    # papers-bot never joins a voice channel, so discord.py's warnings at every start that
    # the voice libraries (PyNaCl, davey) are missing are noise to an operator.
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    return {
        # Slash commands only; a mention prefix keeps discord.ext happy without the
        # privileged message-content intent.
        "command_prefix": commands.when_mentioned,
        "intents": intents,
        "allowed_mentions": discord.AllowedMentions.none(),
        "help_command": None,
    }


async def _setup(bot: PapersBot | ShardedPapersBot) -> None:
    await bot.add_cog(PapersCog(bot))
    await bot.add_cog(TasteListeners(bot))
    # Page buttons carry their state in the custom_id, so registering the DynamicItem
    # template is all it takes for buttons on old messages to work after a restart.
    bot.add_dynamic_items(
        PageButton, SaveButton, AlertsAllButton, SimilarButton, VoteButton, VoteMenu
    )


class PapersBot(commands.Bot):
    """`handler` answers commands (None only for `discord sync`); `kv` keeps long queries."""

    def __init__(
        self, handler: CommandCore | None, *, kv: KeyValueStore | None = None, **options: object
    ) -> None:
        super().__init__(**{**bot_options(), **options})  # type: ignore[arg-type]
        self.handler = handler
        self.kv = kv

    async def setup_hook(self) -> None:
        await _setup(self)


class ShardedPapersBot(commands.AutoShardedBot):
    def __init__(
        self,
        handler: CommandCore | None,
        *,
        kv: KeyValueStore | None = None,
        gateway_override: bool = False,
        **options: object,
    ) -> None:
        super().__init__(**{**bot_options(), **options})  # type: ignore[arg-type]
        self.handler = handler
        self.kv = kv
        self.gateway_override = gateway_override

    async def setup_hook(self) -> None:
        await _setup(self)
        # discord.py annotates shard_count as int, but it is None until a count is known.
        if self.gateway_override and getattr(self, "shard_count", None) is None:
            # With no shard count, discord.py would connect to the URL that /gateway/bot
            # names and ignore DISCORD_GATEWAY_URL; asking for the count ourselves makes it
            # use DiscordWebSocket.DEFAULT_GATEWAY (the override) instead.
            count, _url, _limits = await self.http.get_bot_gateway()
            self.shard_count = count
            log.info("sharding over %d shards via the configured gateway", count)


def create_bot(
    handler: CommandCore | None, settings: DiscordSettings, *, kv: KeyValueStore | None = None
) -> PapersBot | ShardedPapersBot:
    """`DISCORD_SHARDS` unset: one connection; `auto`: Discord's count; `N`: N shards."""
    shards = (settings.discord_shards or "").strip().lower()
    if not shards:
        return PapersBot(handler, kv=kv)
    override = bool(settings.discord_gateway_url)
    if shards == "auto":
        return ShardedPapersBot(handler, kv=kv, gateway_override=override)
    try:
        count = int(shards)
    except ValueError as exc:
        raise ValueError(f"DISCORD_SHARDS must be 'auto' or a number, not {shards!r}") from exc
    if count < 1:
        raise ValueError("DISCORD_SHARDS must be at least 1")
    return ShardedPapersBot(handler, kv=kv, gateway_override=override, shard_count=count)
