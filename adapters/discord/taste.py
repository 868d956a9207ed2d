"""Channel taste on Discord (issue 13): `/papers taste`, 👍/👎 reactions on digest messages,
and deleting a server's votes when the bot leaves it.

Reactions arrive as raw gateway events (`on_raw_reaction_add` / `_remove`), which need the
`guild_reactions` intent (not privileged) and no message cache: the core looks the message
up in the delivery ledger, so only reactions on our own digests count.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.commands.types import Command, ResetTaste, SetTaste, ShowTaste
from bot.models import ChannelRef, Platform

if TYPE_CHECKING:
    from adapters.discord.bot import PapersBot, ShardedPapersBot

log = logging.getLogger(__name__)

Run = Callable[[discord.Interaction[Any], Command], Awaitable[None]]
_THUMBS = {"👍": 1, "👎": -1}
# Skin-tone modifiers (U+1F3FB..U+1F3FF) and the emoji presentation selector.
_MODIFIERS = "".join(chr(c) for c in range(0x1F3FB, 0x1F400)) + "\ufe0f"


def reaction_vote(emoji: str) -> int | None:
    """+1 / -1 for a thumbs emoji, with or without a skin-tone modifier; else None."""
    return _THUMBS.get(emoji.rstrip(_MODIFIERS))


def taste_command(action: str | None) -> Command:
    """The typed `/papers taste` option as a taste command."""
    if action == "reset":
        return ResetTaste()
    if action in {"off", "on"}:
        return SetTaste(enabled=action == "on")
    return ShowTaste()


def taste_app_command(run: Run) -> app_commands.Command[Any, Any, None]:
    """`/papers taste [action]`, answered through the cog's `run` like every subcommand."""

    @app_commands.command(name="taste", description="What this channel's votes taught its digest")
    @app_commands.describe(action="What to do (default: show the channel's taste)")
    @app_commands.choices(
        action=[
            app_commands.Choice(name="Show", value="show"),
            app_commands.Choice(name="Reset (forget every vote)", value="reset"),
            app_commands.Choice(name="Off (plain trending)", value="off"),
            app_commands.Choice(name="On", value="on"),
        ]
    )
    async def taste(
        interaction: discord.Interaction[Any],
        action: app_commands.Choice[str] | None = None,
    ) -> None:
        await run(interaction, taste_command(action.value if action else None))

    return taste


class TasteListeners(commands.Cog):
    """Thumbs reactions on digests vote; leaving a server deletes its votes."""

    def __init__(self, bot: PapersBot | ShardedPapersBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, payload: discord.RawReactionActionEvent) -> None:
        await self._reaction(payload, added=False)

    async def _reaction(self, payload: discord.RawReactionActionEvent, *, added: bool) -> None:
        value = reaction_vote(str(payload.emoji.name or ""))
        me = self.bot.user
        handler = self.bot.handler
        if value is None or payload.guild_id is None or handler is None:
            return
        if me is not None and payload.user_id == me.id:
            return
        channel = ChannelRef(Platform.DISCORD, str(payload.channel_id), str(payload.guild_id))
        await asyncio.to_thread(
            handler.taste.react,
            channel,
            str(payload.message_id),
            str(payload.user_id),
            value,
            added=added,
        )

    @commands.Cog.listener()
    async def on_guild_remove(self, guild: discord.Guild) -> None:
        """The bot left or was removed from a server: its channels' votes are deleted."""
        handler = self.bot.handler
        if handler is None:
            return
        gone = await asyncio.to_thread(handler.taste.forget_workspace, "discord", str(guild.id))
        log.info("removed from guild %s: deleted %d votes", guild.id, gone)
