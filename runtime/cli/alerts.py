"""`papers-bot alerts run [--json]`: deliver every waiting alert message now, then exit.

What it does is what ends every `papers-bot ingest`: match the batches of new papers not
yet matched, take over deliveries a crashed run left pending, retry those due, and post
every queued message, with every sink this process can build (`runtime.alerts`). It
prints one summary line (or JSON) and exits 0; a run that cannot start (a database or
token error) is one line on stderr and exit code 1. Failed messages are counted in the
summary, as `digest run` counts failed digests.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console

from runtime.cli.errors import CliError
from runtime.settings import load_settings

app = typer.Typer(help="Alert delivery (follow, alert).", no_args_is_help=True)


@app.command("run")
def run(
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=1000, help="Posts in flight at once.")
    ] = 64,
) -> None:
    """Deliver every waiting alert message now, print a summary, and exit."""
    # Imported here: alert matching loads the search analyser and the platform clients.
    from sqlalchemy.exc import SQLAlchemyError

    from runtime.alerts import deliver_pending
    from runtime.core import open_database

    settings = load_settings()
    # Console alerts go to stdout; with --json, stdout is reserved for the summary.
    console = Console(file=sys.stderr if as_json else sys.stdout)
    database = open_database(settings)
    try:
        report = asyncio.run(deliver_pending(settings, database, console, concurrency=concurrency))
    except SQLAlchemyError:
        raise  # run_cli prints database errors in its own one-line form
    except Exception as exc:  # e.g. a rejected Discord token: one line, exit code 1
        raise CliError(f"alerts run failed: {type(exc).__name__}: {exc}") from exc
    finally:
        database.dispose()
    typer.echo(json.dumps(report.as_dict()) if as_json else report.summary())
