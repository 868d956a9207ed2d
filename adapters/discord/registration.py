"""Registers the /papers app commands with Discord (`papers-bot discord sync`).

Registration is a separate, deliberate step rather than part of every start: Discord
rate-limits command updates tightly, and global commands take a while to propagate. A
guild sync shows up at once, which suits development. Only the HTTP API is used (login,
then a bulk overwrite); the gateway is never opened.
"""

from __future__ import annotations

import discord

from adapters.discord.bot import create_bot
from adapters.discord.config import DiscordSettings
from adapters.discord.runner import configure_endpoints, require_token


def describe(command: discord.app_commands.AppCommand) -> str:
    subs = [o.name for o in command.options if isinstance(o, discord.app_commands.AppCommandGroup)]
    names = f" ({', '.join(subs)})" if subs else ""
    return f"/{command.name}{names} id={command.id}"


async def sync_commands(
    settings: DiscordSettings, guild_id: int | None = None
) -> list[discord.app_commands.AppCommand]:
    """Log in over HTTP and overwrite the commands, globally or in one guild.

    Raises RuntimeError without a token, `discord.LoginFailure` for a rejected token and
    `discord.HTTPException` when Discord refuses the commands.
    """
    token = require_token(settings)
    configure_endpoints(settings)
    # No core: syncing needs only the command definitions, not the database or the index.
    bot = create_bot(None, settings)
    async with bot:
        await bot.login(token)
        if guild_id is None:
            return await bot.tree.sync()
        guild = discord.Object(id=guild_id)
        bot.tree.copy_global_to(guild=guild)
        return await bot.tree.sync(guild=guild)
