"""`papers-bot discord sync`: register the /papers app commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Discord administration.", no_args_is_help=True)
