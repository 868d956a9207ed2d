"""Interaction → `CommandRequest`: the one place Discord identities and permissions are read.

Shared by the slash commands (`cog.py`) and the page buttons (`views.py`).
"""

from __future__ import annotations

from typing import Any

import discord

from bot.commands.types import Command
from bot.models import CommandRequest, Platform


def can_manage(interaction: discord.Interaction[Any]) -> bool:
    """Manage Channels (or Administrator) in this channel, as Discord resolved it.

    `interaction.permissions` comes from the member's `permissions` in the payload: the
    member's effective permissions in this channel, overwrites included, computed by
    Discord at the time of the interaction. `default_permissions` is only a hint.
    """
    if interaction.guild_id is None:
        return False
    perms = interaction.permissions
    return perms.manage_channels or perms.administrator


def build_request(
    interaction: discord.Interaction[Any], command: Command, *, offset: int = 0
) -> CommandRequest:
    guild_id = interaction.guild_id
    return CommandRequest(
        platform=Platform.DISCORD,
        channel=str(interaction.channel_id or ""),
        user=str(interaction.user.id),
        command=command,
        workspace=str(guild_id) if guild_id else None,
        can_manage=can_manage(interaction),
        is_direct_message=guild_id is None,
        offset=offset,
    )
