"""The console sink prints a console subscription's digest; the clock ticks the runner and
schedules the ingest jobs from settings, with no job per channel."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
from datetime import UTC, datetime, timedelta
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest
from rich.console import Console

from adapters.console.sink import ConsoleSink
from bot.digests import clock
from bot.digests.runner import DigestRunner
from bot.models import ChannelRef, DeliveryStatus, Platform
from bot.settings import Settings
from bot.testing.fakes import seed_papers, subscribe
from runtime.serve import ingest_jobs
from storage.db import Database


async def test_console_subscription_gets_its_digest_printed(db: Database) -> None:
    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    seed_papers(db, now.date())
    sub = subscribe(db, "terminal", platform=Platform.CONSOLE, created=now - timedelta(days=1))
    out = io.StringIO()
    sink = ConsoleSink(Console(file=out, width=120, force_terminal=False))
    runner = DigestRunner(db.uow, {Platform.CONSOLE: sink}, worker_id="console")
    report = await runner.run_due(now)
    assert report.sent == 1
    text = out.getvalue()
    assert "Trending papers" in text and "Paper " in text
    assert await sink.find_posted(sub.channel, 1) is not None
    assert await sink.find_posted(ChannelRef(Platform.CONSOLE, "other"), 1) is None


async def test_clock_ticks_run_due_and_schedules_ingest_jobs(sqlite_db: Database) -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        DATABASE_URL=sqlite_db.url,
        PAPERS_INGEST_HF_CRON="15 * * * *",
        PAPERS_INGEST_ARXIV_CRON="30 6 * * *",
    )
    ticked = asyncio.Event()

    class Recording(DigestRunner):
        async def run_due(self, now: datetime | None = None, *, dry_run: bool = False) -> Any:
            ticked.set()
            return await super().run_due(now, dry_run=dry_run)

    runner = Recording(sqlite_db.uow, {}, worker_id=clock.new_worker_id())
    scheduler = clock.start_clock(
        runner, ingest_jobs=ingest_jobs(settings, sqlite_db.uow), tick_seconds=60
    )
    try:
        await asyncio.wait_for(ticked.wait(), 30)  # the first tick runs at start
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"digest-tick", "ingest-hf", "ingest-arxiv"}
        assert jobs["digest-tick"].max_instances == 1
        assert "minute='15'" in str(jobs["ingest-hf"].trigger)
        assert "hour='6'" in str(jobs["ingest-arxiv"].trigger)
    finally:
        scheduler.shutdown(wait=False)
    with sqlite_db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.PENDING) == 0


async def test_ingest_job_refreshes_the_index_and_survives_failures() -> None:
    refreshed: list[int] = []
    core: Any = SimpleNamespace(refresh_index=lambda: refreshed.append(1) or 3)

    def fetch(_core: Any) -> int:
        return 7

    def broken(_core: Any) -> int:
        raise OSError("network down")

    await clock._ingest_job("hf", partial(fetch, core), core.refresh_index)
    assert refreshed == [1]
    await clock._ingest_job("hf", partial(broken, core), core.refresh_index)  # logged, not raised
    # Still refreshed: papers may have come in through `papers-bot ingest` meanwhile.
    assert refreshed == [1, 1]


async def test_a_clock_tick_counts_its_digests_in_the_metrics_once(db: Database) -> None:
    from bot import metrics

    now = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
    seed_papers(db, now.date())
    subscribe(db, "terminal", platform=Platform.CONSOLE, created=now - timedelta(days=1))
    sink = ConsoleSink(Console(file=io.StringIO(), width=120, force_terminal=False))
    runner = DigestRunner(db.uow, {Platform.CONSOLE: sink}, worker_id="w1", clock=lambda: now)

    def sent() -> float:
        return metrics.REGISTRY.get_sample_value("papers_digests_total", {"status": "sent"}) or 0.0

    before = sent()
    await clock._tick(runner)
    assert sent() == before + 1


async def test_shutdown_during_an_index_refresh_or_ingest_logs_no_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Ctrl-C in the console cancels every task, APScheduler's running jobs included; the
    # first index poll runs at start, so a quick Ctrl-C used to print APScheduler's ERROR
    # traceback of a CancelledError.
    started = threading.Event()
    release = threading.Event()

    def slow_refresh() -> int:
        started.set()
        release.wait(10)
        return 0

    def slow_fetch() -> int:
        release.wait(10)
        return 0

    runner = DigestRunner(lambda: None, {}, worker_id="test")  # type: ignore[arg-type,return-value]
    caplog.set_level(logging.INFO)
    scheduler = clock.start_clock(
        runner,
        ingest_jobs=[clock.IngestJob("hf", "* * * * *", slow_fetch)],
        refresh_index=slow_refresh,
        tick_seconds=3600,
        index_poll_seconds=3600,
    )
    try:
        scheduler.get_job("digest-tick").pause()
        await asyncio.to_thread(started.wait, 10)
        ingest = scheduler.get_job("ingest-hf")
        ingest.modify(next_run_time=datetime.now(UTC))
        scheduler.wakeup()
        await asyncio.sleep(0.3)
        jobs = [
            t
            for t in asyncio.all_tasks()
            if t is not asyncio.current_task() and "run_coroutine_job" in repr(t.get_coro())
        ]
        assert len(jobs) == 2  # the index poll and the ingest, both waiting on their thread
        for task in jobs:
            task.cancel()
        await asyncio.gather(*jobs, return_exceptions=True)
    finally:
        release.set()
        scheduler.shutdown(wait=False)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    messages = [r.getMessage() for r in caplog.records]
    assert "search index refresh stopped by shutdown" in messages
    assert "hf ingest stopped by shutdown" in messages
