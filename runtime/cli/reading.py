"""`papers-bot cite ID` and `papers-bot list export --channel …`: citations from the shell.

Neither loads the search index: both read the database only. A channel is named the way
the bot stores it, `PLATFORM:WORKSPACE:CHANNEL` (`ChannelRef.key`): `slack:T0123:C0456`,
`discord:GUILD_ID:CHANNEL_ID`, `console:local:console`, with `-` for no workspace (a DM).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from bot.cite.bibtex import bibtex_entry
from bot.commands.reading import ReadingListCommands, resolve_paper
from bot.commands.types import ExportList
from bot.models import ChannelRef, CommandRequest, Platform
from runtime.cli.errors import CliError, UsageError
from runtime.core import open_database

list_app = typer.Typer(help="A channel's reading list.", no_args_is_help=True)


def parse_channel(text: str) -> ChannelRef:
    """`PLATFORM:WORKSPACE:CHANNEL` as a channel; a usage error says what is wrong."""
    parts = text.split(":")
    if len(parts) != 3 or not all(parts):
        raise UsageError(
            f"--channel {text!r} is not PLATFORM:WORKSPACE:CHANNEL, "
            "e.g. slack:T0123:C0456 (use - for no workspace)"
        )
    platform, workspace, channel = parts
    try:
        kind = Platform(platform.lower())
    except ValueError:
        names = ", ".join(p.value for p in Platform)
        raise UsageError(f"--channel: unknown platform {platform!r}; use one of {names}") from None
    return ChannelRef(kind, channel, None if workspace == "-" else workspace)


def cite(
    paper: Annotated[str, typer.Argument(help="An arXiv or ACL Anthology id, or a paper link.")],
) -> None:
    """Print the BibTeX entry of one paper."""
    database = open_database()
    try:
        found = resolve_paper(database.uow, paper)
    finally:
        database.dispose()
    if isinstance(found, str):
        raise CliError(found)
    typer.echo(bibtex_entry(found), nl=False)


@list_app.command("export")
def export(
    channel: Annotated[
        str,
        typer.Option(
            "--channel", help="PLATFORM:WORKSPACE:CHANNEL, e.g. slack:T0123:C0456 (- for none)."
        ),
    ],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the .bib here (default: stdout).")
    ] = None,
) -> None:
    """Export a channel's reading list as BibTeX."""
    ref = parse_channel(channel)
    database = open_database()
    try:
        handlers = ReadingListCommands(database.uow, lambda: datetime.now(UTC))
        request = CommandRequest(
            ref.platform, ref.channel, "cli", ExportList(), workspace=ref.workspace
        )
        reply = handlers.export(ExportList(), request)
    finally:
        database.dispose()
    if reply.attachment is None:
        raise CliError(f"the reading list of {channel} is empty")
    if output is None:
        typer.echo(reply.attachment.content.decode("utf-8"), nl=False)
        return
    try:
        output.write_bytes(reply.attachment.content)
    except OSError as exc:
        raise CliError(f"cannot write {output}: {exc.strerror or exc}") from None
    typer.echo(f"wrote {output} ({len(reply.attachment.content)} bytes)", err=True)
