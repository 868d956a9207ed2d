"""`papers-bot ingest …`: seeds, files, and the live HF and arXiv fetchers."""

from __future__ import annotations

import typer

app = typer.Typer(help="Ingest papers from files or live sources.", no_args_is_help=True)
