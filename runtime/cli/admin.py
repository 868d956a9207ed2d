"""`papers-bot db upgrade` and `papers-bot stats`."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.models import DeliveryStatus
from runtime.core import open_database

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Create or migrate the schema to the newest revision (alembic)."""
    database = open_database(upgrade=False)
    try:
        before, after = database.upgrade()
    finally:
        database.dispose()
    typer.echo(upgrade_summary(database.dialect, database.location, before, after), err=True)


def upgrade_summary(
    dialect: str, location: str, before: tuple[str, ...], after: tuple[str, ...]
) -> str:
    """One line saying what `db upgrade` did: created, upgraded, or nothing to do."""
    now = ", ".join(after) or "none"
    if not before:
        return f"created {dialect} database {location} at revision {now}"
    if before == after:
        return f"{dialect} database {location} is already up to date (revision {now})"
    return f"upgraded {dialect} database {location} from revision {', '.join(before)} to {now}"


def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Counts of papers, subscriptions and deliveries."""
    database = open_database()
    with database.uow() as uow:
        data = {
            "papers": uow.papers.count(),
            "subscriptions": uow.subscriptions.count(),
            "deliveries": uow.deliveries.count(),
            "subscriptions_paused": uow.subscriptions.count_paused(),
            "deliveries_by_status": {
                status.value: uow.deliveries.count(status) for status in DeliveryStatus
            },
        }
    if as_json:
        typer.echo(json.dumps(data))
        return
    table = Table(title="papers-bot")
    table.add_column("what")
    table.add_column("count", justify="right")
    for name in ("papers", "subscriptions", "subscriptions_paused", "deliveries"):
        table.add_row(name, str(data[name]))
    for status, count in data["deliveries_by_status"].items():  # type: ignore[attr-defined]
        table.add_row(f"  {status}", str(count))
    Console().print(table)
