"""`papers-bot discord sync [--guild ID]`: register the /papers app commands.

The work is in `adapters.discord.registration`; this maps its outcome onto the CLI
contract (exit 2 without a token, 1 when Discord refuses, a summary on stdout).
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from runtime.cli.errors import CliError, UsageError
from runtime.settings import load_settings

app = typer.Typer(help="Discord administration.", no_args_is_help=True)


@app.command("sync")
def sync(
    guild: Annotated[
        int | None,
        typer.Option("--guild", help="Register in this guild only (instant; for development)."),
    ] = None,
) -> None:
    """Register the /papers commands globally, or in one guild with --guild."""
    # discord.py is imported only when this command runs, so every other CLI command
    # starts without paying for it.
    import discord

    from adapters.discord.registration import describe, sync_commands

    settings = load_settings()
    try:
        synced = asyncio.run(sync_commands(settings, guild))
    except RuntimeError as exc:
        raise UsageError(str(exc)) from exc
    except discord.LoginFailure as exc:
        raise CliError(f"Discord rejected the token: {exc}") from exc
    except discord.HTTPException as exc:
        raise CliError(f"Discord refused the sync: {exc.status} {exc.text}") from exc
    where = f"in guild {guild}" if guild is not None else "globally (may take up to an hour)"
    typer.echo(f"registered {len(synced)} command(s) {where}:")
    for command in synced:
        typer.echo(f"  {describe(command)}")
