"""`papers-bot digest run [--now ISO8601] [--dry-run]`: deliver every digest due now, then exit.

Sinks are built by `runtime.sinks`, as for `serve`, for every configured platform: Slack,
Discord (a discord.py client logged in over HTTP only: no gateway connection is needed to
post), and the console, which prints digests of console subscriptions to stdout. The run
holds a worker lease (`storage.leases`) so that a concurrent run, or the next one after a
crash, can tell whether this run's pending deliveries are still in flight. The search
index is never loaded.
"""

from __future__ import annotations

import asyncio
import json
import sys
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from bot.settings import Settings
from bot.text import plural
from runtime.cli.errors import CliError, UsageError
from runtime.core import build_core
from runtime.settings import load_settings

if TYPE_CHECKING:
    from bot.digests.report import RunReport

app = typer.Typer(help="Scheduled digests.", no_args_is_help=True)


def parse_now(text: str | None) -> datetime:
    """`--now` as an aware UTC datetime; a value without an offset is taken as UTC."""
    if text is None:
        return datetime.now(UTC)
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise UsageError(
            f"--now {text!r} is not an ISO 8601 time (e.g. 2026-03-10T09:05:00Z)"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


async def _run(
    settings: Settings, now: datetime, *, dry_run: bool, concurrency: int, console: Console
) -> RunReport:
    # No search index here: a digest reads the database only.
    from bot.digests.clock import new_worker_id
    from runtime.sinks import build_runner, build_sinks, discord_poster
    from storage.leases import WorkerLease

    core = build_core(settings)
    try:
        database = core.db  # migrated first: a database error is reported before any login
        async with AsyncExitStack() as stack:
            client = await discord_poster(settings, stack)
            sinks = build_sinks(
                settings, core.kv, console=console, slack=True, discord_client=client
            )
            with WorkerLease(database, new_worker_id()) as lease:
                runner = build_runner(database, sinks, lease, concurrency=concurrency)
                return await runner.run_due(now, dry_run=dry_run)
    finally:
        core.close()


def _print_plan(report: RunReport) -> None:
    for item in report.planned:
        when = item.digest_date.isoformat() if item.digest_date else "-"
        typer.echo(
            f"{item.action:7} {item.channel.key} {when} ({plural(len(item.papers), 'paper')})"
        )
        for paper in item.papers:
            typer.echo(f"          - {paper.title}")


@app.command("run")
def run(
    now: Annotated[
        str | None,
        typer.Option("--now", help="Deliver what is due at this ISO 8601 time (default: now)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be sent; claim and post nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, max=1000, help="Posts in flight at once.")
    ] = 64,
) -> None:
    """Deliver every digest due now (or at --now), print a summary, and exit."""
    from sqlalchemy.exc import SQLAlchemyError

    when = parse_now(now)
    settings = load_settings()
    # Console digests go to stdout; with --json, stdout is reserved for the summary.
    console = Console(file=sys.stderr if as_json else sys.stdout)
    try:
        report = asyncio.run(
            _run(settings, when, dry_run=dry_run, concurrency=concurrency, console=console)
        )
    except SQLAlchemyError:
        raise  # run_cli prints database errors in its own one-line form
    except Exception as exc:  # e.g. a rejected Discord token: one line, exit code 1
        raise CliError(f"digest run failed: {type(exc).__name__}: {exc}") from exc
    if as_json:
        data = report.as_dict()
        if dry_run:
            data["planned"] = [
                {
                    "action": p.action,
                    "channel": p.channel.key,
                    "date": p.digest_date.isoformat() if p.digest_date else None,
                    "papers": [paper.paper_id or paper.title for paper in p.papers],
                }
                for p in report.planned
            ]
        typer.echo(json.dumps(data))
        return
    if dry_run:
        _print_plan(report)
    typer.echo(report.summary())
