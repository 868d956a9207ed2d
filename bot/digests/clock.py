"""The clock of `papers-bot serve`: one APScheduler `AsyncIOScheduler` with its jobs.

- **digest tick** (about once a minute): `DigestRunner.run_due(now)`. The database holds
  the schedules; the tick only asks it what is due. There is deliberately no APScheduler
  job per channel: APScheduler 3 writes a job's next fire time before the job finishes
  (so a crash mid-run would lose that day) and its job store cannot be shared between
  replicas, whereas the ledger's claims are exactly-once across both.
- **ingest jobs** on their crontabs (HF daily papers hourly, arXiv listings daily by
  default), each followed by a refresh of the search index and an alert run.
- **alerts**: each tick, after the digests, an `AlertRunner.run()` plans batches of new
  papers queued by any process (so a `papers-bot ingest` run while serving is delivered
  here when it had no sink for a platform) and takes up alert retries and recoveries.

The clock builds nothing: the runtime hands it the runner (with its sinks and worker
lease), the ingest jobs and the index refresh, and releases the lease on `on_shutdown`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.alerts.runner import AlertRunner
from bot.digests.runner import DigestRunner

log = logging.getLogger(__name__)


def new_worker_id() -> str:
    """Unique per process and run: host, pid, and a random part (pids get reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class IngestJob:
    """A blocking fetch-and-store on a crontab (UTC); returns how many records came."""

    name: str
    cron: str
    fetch: Callable[[], int]


async def _run_alerts(alerts: AlertRunner | None) -> None:
    if alerts is None:
        return
    try:
        await alerts.run()
    except asyncio.CancelledError:
        log.info("alert run stopped by shutdown")
    except Exception:  # queued and pending rows are taken up by the next run
        log.exception("alert run failed")


async def _ingest_job(
    name: str,
    fetch: Callable[[], int],
    refresh_index: Callable[[], int],
    alerts: AlertRunner | None = None,
) -> None:
    count = 0
    try:
        count = await asyncio.to_thread(fetch)
    except asyncio.CancelledError:
        log.info("%s ingest stopped by shutdown", name)  # what it stored is committed
        return
    except Exception:  # a failed fetch must not stop the scheduler; the next run retries
        log.exception("%s ingest failed", name)
    # Refresh even after a failed fetch: papers also arrive through `papers-bot ingest`
    # run in another process, and the running bot should find them without a restart.
    try:
        added = await asyncio.to_thread(refresh_index)
    except asyncio.CancelledError:
        # Ctrl-C or SIGTERM while the refresh ran: its thread finishes before the loop
        # closes, and the index's state moves only once a catch-up is complete.
        log.info("search index refresh after %s ingest stopped by shutdown", name)
        return
    except Exception:  # the index stays as it was; the next job refreshes it
        log.exception("search index refresh after %s ingest failed", name)
    else:
        log.info("%s ingest: %d records, %d index updates", name, count, added)
    await _run_alerts(alerts)  # the batch the fetch enqueued, at once rather than next tick


async def _refresh(refresh_index: Callable[[], int]) -> None:
    # A cheap query when nothing changed; papers written by another process (a CLI
    # ingest that could not take the index's writer) arrive within one poll.
    try:
        added = await asyncio.to_thread(refresh_index)
    except asyncio.CancelledError:
        # Ctrl-C or SIGTERM during a poll (the first runs at start): not an error, and
        # APScheduler would log a traceback for it if it got through.
        log.info("search index refresh stopped by shutdown")
        return
    except Exception:  # the index stays as it was; the next poll tries again
        log.exception("search index refresh failed")
        return
    if added:
        # Papers indexed or removed, and vectors that came without a paper write.
        log.info("search index: %d changes applied", added)


async def _tick(runner: DigestRunner, alerts: AlertRunner | None = None) -> None:
    # `run_due` counts its report in the metrics itself; counting here too would double it.
    try:
        await runner.run_due()
    except asyncio.CancelledError:
        # Shutdown cut the run short after its grace period (`DigestRunner.stop`): its
        # unfinished rows stay pending, for recovery once this worker's lease is released.
        log.info("digest run stopped by shutdown")
    except Exception:  # the next tick tries again; pending rows are recovered then
        log.exception("digest tick failed")
    # Alert batches queued by any process (a CLI ingest while serving), and retries.
    await _run_alerts(alerts)


def start_clock(
    runner: DigestRunner,
    *,
    ingest_jobs: Sequence[IngestJob] = (),
    refresh_index: Callable[[], int] = lambda: 0,
    tick_seconds: float = 60,
    index_poll_seconds: float | None = None,
    on_shutdown: Callable[[], None] | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    alerts: AlertRunner | None = None,
) -> AsyncIOScheduler:
    """Start the scheduler on the running event loop and return it (call `.shutdown()`)."""
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.add_job(
        _tick,
        IntervalTrigger(seconds=tick_seconds, timezone=UTC),
        args=[runner, alerts],
        id="digest-tick",
        name="digest tick",
        next_run_time=now(),
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    if index_poll_seconds is not None:
        scheduler.add_job(
            _refresh,
            IntervalTrigger(seconds=index_poll_seconds, timezone=UTC),
            args=[refresh_index],
            id="index-refresh",
            name="search index refresh",
            next_run_time=now(),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
    for job in ingest_jobs:
        scheduler.add_job(
            _ingest_job,
            CronTrigger.from_crontab(job.cron, timezone=UTC),
            args=[job.name, job.fetch, refresh_index, alerts],
            id=f"ingest-{job.name}",
            name=f"{job.name} ingest",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=300,
        )
    if on_shutdown is not None:
        release = on_shutdown

        def _on_shutdown(event: Any) -> None:
            release()

        scheduler.add_listener(_on_shutdown, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.start()
    log.info("digest clock started: tick every %ss, worker %s", tick_seconds, runner.worker_id)
    return scheduler
