"""Alert delivery wiring, shared by `papers-bot ingest …` and `serve`.

`papers-bot ingest` ends with `deliver_after_ingest`: one batch of the papers the run
brought, then a full alert run with every configured sink (Slack, Discord over HTTP, the
console on stdout, or stderr under `--json`). What this process has no sink for stays
queued: the clock of a running `serve` picks it up at its next tick, as it picks up a
batch whose delivery was cut short here.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime

from rich.console import Console

from bot.alerts.ledger import AlertReport, enqueue_new_papers
from bot.alerts.runner import AlertRunner
from bot.digests.clock import new_worker_id
from bot.models import Platform
from bot.ports import MessageSink
from bot.settings import Settings
from runtime.settings import load_settings
from runtime.sinks import build_sinks, discord_poster
from storage.db import Database
from storage.kv_store import SqlKeyValueStore
from storage.leases import WorkerLease


def build_alert_runner(
    database: Database,
    sinks: Mapping[Platform, MessageSink],
    lease: WorkerLease,
    *,
    concurrency: int = 64,
) -> AlertRunner:
    """The alert runner of this process, holding `lease` (acquired by the caller)."""
    return AlertRunner(
        database.uow,
        sinks,
        worker_id=lease.worker_id,
        concurrency=concurrency,
        is_alive=lease.is_alive,
    )


async def _deliver(settings: Settings, database: Database, console: Console) -> AlertReport:
    async with AsyncExitStack() as stack:
        client = await discord_poster(settings, stack)
        sinks = build_sinks(
            settings,
            SqlKeyValueStore(database),
            console=console,
            slack=True,
            discord_client=client,
        )
        with WorkerLease(database, new_worker_id()) as lease:
            return await build_alert_runner(database, sinks, lease).run()


def deliver_after_ingest(database: Database, *, since: datetime, as_json: bool) -> None:
    """The ingest hook: batch the papers first seen since `since`, then deliver alerts.

    A failure here is one line on stderr: the papers are stored, and the batch (once
    enqueued) is delivered by the next alert run of any process.
    """
    if enqueue_new_papers(database.uow, since=since, now=datetime.now(UTC)) is None:
        return
    console = Console(file=sys.stderr if as_json else sys.stdout)
    try:
        report = asyncio.run(_deliver(load_settings(), database, console))
    except Exception as exc:  # noqa: BLE001 - one line, exit as ingested; the batch stays queued
        print(f"alert delivery failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return
    if report.planned or report.sent or report.failed or report.retrying or report.unresolved:
        print(report.summary(), file=sys.stderr)
