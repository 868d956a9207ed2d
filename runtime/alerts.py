"""Alert delivery wiring, shared by `papers-bot ingest …` and `serve`.

`papers-bot ingest` ends with `deliver_after_ingest`: one batch of the papers the run
brought, then a full alert run with every configured sink (Slack, Discord over HTTP, the
console on stdout, or stderr under `--json`), also when the run brought nothing new but
earlier deliveries wait (queued, retrying, or left pending by a crash). `papers-bot
alerts run` is that run alone (`deliver_pending`). What this process has no sink for
stays queued: the clock of a running `serve` picks it up at its next tick.

Saved searches are matched without typo corrections here: the speller is the search
index's vocabulary, which only `serve` holds; building it would cost these short-lived
commands a read of every paper. `serve`'s runner passes it.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from rich.console import Console

from bot.alerts.ledger import AlertReport, enqueue_new_papers
from bot.alerts.models import AlertStatus
from bot.alerts.runner import AlertRunner
from bot.digests.clock import new_worker_id
from bot.follow.matching import Speller
from bot.follow.speller import VocabularySpeller
from bot.models import Platform
from bot.ports import MessageSink
from bot.settings import Settings
from runtime.settings import load_settings
from runtime.sinks import build_sinks, discord_poster
from storage.db import Database
from storage.kv_store import SqlKeyValueStore
from storage.leases import WorkerLease

if TYPE_CHECKING:
    from bot.search.engine import PaperIndex


def build_alert_runner(
    database: Database,
    sinks: Mapping[Platform, MessageSink],
    lease: WorkerLease,
    *,
    concurrency: int = 64,
    speller: Callable[[], Speller | None] | None = None,
) -> AlertRunner:
    """The alert runner of this process, holding `lease` (acquired by the caller).
    `speller` gives typo fixes for saved searches (`search_speller` where an index is)."""
    return AlertRunner(
        database.uow,
        sinks,
        worker_id=lease.worker_id,
        concurrency=concurrency,
        is_alive=lease.is_alive,
        speller=speller,
    )


def search_speller(index: Callable[[], PaperIndex]) -> Callable[[], Speller]:
    """Typo fixes from the search index's vocabulary, read when a batch is matched, so a
    saved search tolerates the typos its `search` would."""
    return lambda: VocabularySpeller(index().word_counts())


def has_pending_work(database: Database) -> bool:
    """Whether an alert run has anything to do: a batch not yet matched, or a delivery
    queued, retrying or left pending. Read-only, so an idle ingest logs in nowhere."""
    with database.uow() as uow:
        ledger = uow.alert_ledger
        if ledger.next_batch() is not None:
            return True
        waiting = (AlertStatus.QUEUED, AlertStatus.RETRYING, AlertStatus.PENDING)
        return any(ledger.count(status) for status in waiting)


async def deliver_pending(
    settings: Settings, database: Database, console: Console, *, concurrency: int = 64
) -> AlertReport:
    """One alert run with every sink this process can build: plan unmatched batches,
    recover, retry and post every queued message, then return what it did."""
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
            runner = build_alert_runner(database, sinks, lease, concurrency=concurrency)
            return await runner.run()


def deliver_after_ingest(database: Database, *, since: datetime, as_json: bool) -> None:
    """The ingest hook: batch the papers first seen since `since`, then deliver alerts,
    including earlier deliveries still waiting when the run brought nothing new.

    A failure here is one line on stderr: the papers are stored, and the batch (once
    enqueued) is delivered by the next alert run of any process.
    """
    enqueued = enqueue_new_papers(database.uow, since=since, now=datetime.now(UTC))
    if enqueued is None and not has_pending_work(database):
        return
    console = Console(file=sys.stderr if as_json else sys.stdout)
    try:
        report = asyncio.run(deliver_pending(load_settings(), database, console))
    except Exception as exc:  # noqa: BLE001 - one line, exit as ingested; the batch stays queued
        print(f"alert delivery failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return
    done = (report.planned, report.sent, report.failed, report.held, report.retrying)
    if any(done) or report.unresolved:
        print(report.summary(), file=sys.stderr)
