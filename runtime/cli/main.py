"""Entry point of the `papers-bot` console script.

Sub-command groups live in their own modules (ingest, query, admin, serve, digest,
discord) and are mounted here. Exit codes follow DESIGN.md §2: 0 success, 2 usage error,
1 runtime error, with errors on stderr in one line.
"""

from __future__ import annotations

import sys

import typer

from runtime.cli import admin, alerts, digest, discord_cmd, index_cmd, ingest, query, reading, serve, similar
from runtime.cli.errors import run_cli

app = typer.Typer(
    name="papers-bot",
    help="Track new research papers in Slack, Discord or a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(ingest.app, name="ingest")
app.add_typer(admin.db_app, name="db")
app.add_typer(digest.app, name="digest")
app.add_typer(alerts.app, name="alerts")
app.add_typer(index_cmd.app, name="index")
app.add_typer(discord_cmd.app, name="discord")
app.command("search")(query.search)
app.command("trending")(query.trending)
app.command("stats")(admin.stats)
app.command("serve")(serve.serve)
# Reading list and citations (issue 14).
app.command("cite")(reading.cite)
app.add_typer(reading.list_app, name="list")
# More like this (issue 12).
app.command("similar")(similar.similar)


def main() -> None:
    sys.exit(run_cli(app))


if __name__ == "__main__":
    main()
