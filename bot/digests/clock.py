"""The clock of `papers-bot serve`: one APScheduler `AsyncIOScheduler` with three jobs.

- **digest tick** (about once a minute): `DigestRunner.run_due(now)`. The database holds
  the schedules; the tick only asks it what is due. There is deliberately no APScheduler
  job per channel: APScheduler 3 writes a job's next fire time before the job finishes
  (so a crash mid-run would lose that day) and its job store cannot be shared between
  replicas, whereas the ledger's claims are exactly-once across both.
- **HF daily papers** on `Settings.ingest_hf_cron` (hourly by default).
- **arXiv listings** on `Settings.ingest_arxiv_cron` (daily by default).

Ingestion runs in a worker thread (it uses blocking HTTP and SQL), then adds the changed
papers to the search index with `core.refresh_index()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.digests.runner import DigestRunner
from bot.models import Platform
from bot.ports import MessageSink
from storage.leases import WorkerLease

if TYPE_CHECKING:
    from bot.app import Core

log = logging.getLogger(__name__)

ARXIV_MAX_PER_CATEGORY = 200


def new_worker_id() -> str:
    """Unique per process and run: host, pid, and a random part (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def ingest_hf(core: Core) -> int:
    """Fetch the latest HF daily papers and store them. Returns how many records came."""
    import httpx

    from bot.ingest.fetch_hf import fetch_daily_papers
    from bot.ingest.hf_json import parse_hf_items
    from bot.ingest.service import store

    with httpx.Client(timeout=30, follow_redirects=True) as client:
        items = fetch_daily_papers(client, core.settings.hf_api_url)
    records = parse_hf_items(items)
    store(core.db.uow, records, now=datetime.now(UTC), source="hf")
    return len(records)


def ingest_arxiv(core: Core) -> int:
    """Fetch the newest papers of each configured arXiv category and store them."""
    import httpx

    from bot.ingest.errors import IngestError
    from bot.ingest.fetch_arxiv import fetch_arxiv
    from bot.ingest.service import store

    total = 0
    categories = [c.strip() for c in core.settings.ingest_arxiv_categories.split(",") if c.strip()]
    with httpx.Client(timeout=60, follow_redirects=True) as client:
        for category in categories:
            try:
                records = fetch_arxiv(
                    client,
                    core.settings.arxiv_api_url,
                    category=category,
                    max_results=ARXIV_MAX_PER_CATEGORY,
                )
            except IngestError as exc:
                # One failing category should not cost the others their update.
                log.warning("arXiv ingest of %s failed: %s", category, exc)
                continue
            store(core.db.uow, records, now=datetime.now(UTC), source="arxiv")
            total += len(records)
    return total


async def _ingest_job(core: Core, name: str, func: Any) -> None:
    count = 0
    try:
        count = await asyncio.to_thread(func, core)
    except Exception:  # a failed fetch must not stop the scheduler; the next run retries
        log.exception("%s ingest failed", name)
    # Refresh even after a failed fetch: papers also arrive through `papers-bot ingest`
    # run in another process, and the running bot should find them without a restart.
    try:
        added = await asyncio.to_thread(core.refresh_index)
    except Exception:  # the index stays as it was; the next job refreshes it
        log.exception("search index refresh after %s ingest failed", name)
        return
    log.info("%s ingest: %d records, %d papers (re)indexed", name, count, added)


async def _tick(runner: DigestRunner) -> None:
    # `run_due` counts its report in the metrics itself; counting here too would double it.
    try:
        await runner.run_due()
    except Exception:  # the next tick tries again; pending rows are recovered then
        log.exception("digest tick failed")


def start_clock(
    core: Core,
    sinks: Mapping[Platform, MessageSink],
    *,
    tick_seconds: float = 60,
    ingest: bool = True,
    runner: DigestRunner | None = None,
) -> AsyncIOScheduler:
    """Start the scheduler on the running event loop and return it (call `.shutdown()`).

    `sinks` is read on every tick, so a sink added later (Discord, once its client has
    logged in) is used from then on.
    """
    worker_id = runner.worker_id if runner else new_worker_id()
    lease = WorkerLease(core.db, worker_id)
    lease.acquire()
    if runner is None:
        runner = DigestRunner(core.db.uow, sinks, worker_id=worker_id, is_alive=lease.is_alive)
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _tick,
        IntervalTrigger(seconds=tick_seconds, timezone=UTC),
        args=[runner],
        id="digest-tick",
        name="digest tick",
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    if ingest:
        for name, cron, func in (
            ("hf", core.settings.ingest_hf_cron, ingest_hf),
            ("arxiv", core.settings.ingest_arxiv_cron, ingest_arxiv),
        ):
            scheduler.add_job(
                _ingest_job,
                CronTrigger.from_crontab(cron, timezone=UTC),
                args=[core, name, func],
                id=f"ingest-{name}",
                name=f"{name} ingest",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
            )

    def _on_shutdown(event: Any) -> None:
        lease.release()

    scheduler.add_listener(_on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.start()
    log.info("digest clock started: tick every %ss, worker %s", tick_seconds, worker_id)
    return scheduler
