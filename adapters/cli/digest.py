"""`papers-bot digest run`: deliver every digest due now, then exit."""

from __future__ import annotations

import typer

app = typer.Typer(help="Scheduled digests.", no_args_is_help=True)
