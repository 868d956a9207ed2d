"""Delivers every digest that is due: recover, retry, claim, fan out, record.

One `run_due(now)` call does, in order:

1. **Recover** pending rows of dead workers and **retry** due `retrying` rows; both check
   the platform (`find_posted`) before any resend (`bot.digests.ledger`).
2. **Claim** due subscriptions in batches, each with its planned papers
   (`bot.digests.planning`) and its ledger row, in one transaction per batch.
3. **Fan out**: jobs are delivered concurrently under a semaphore as soon as their batch
   is claimed, each with bounded, paced attempts (`bot.digests.delivery`).
4. **Record**: outcomes stream to one writer task that commits them in batches
   (`RunLedger.record`) and counts them in the `RunReport` (`bot.digests.report`).

The platform-specific parts are the `MessageSink`s handed in; nothing here imports Slack
or Discord.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.digests.delivery import Attempts, ChannelPacer, Job, Outcome, RetryPolicy, Sleep
from bot.digests.ledger import RunLedger
from bot.digests.planning import Planner
from bot.digests.report import RunReport
from bot.digests.topics import TopicMatcher
from bot.metrics import count_digest_report
from bot.models import Platform
from bot.ports import MessageSink, UnitOfWorkFactory
from bot.taste.channel import TasteRanker

__all__ = ["DigestRunner", "RunReport"]

log = logging.getLogger(__name__)


class DigestRunner:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sinks: Mapping[Platform, MessageSink],
        *,
        worker_id: str,
        clock: Callable[[], datetime] | None = None,
        concurrency: int = 64,
        per_channel_interval: float = 1.0,
        retry: RetryPolicy | None = None,
        is_alive: Callable[[str], bool] | None = None,
        stale_after: timedelta = timedelta(minutes=30),
        claim_batch: int = 500,
        commit_batch: int = 200,
        pause_after: int = 3,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        topics: TopicMatcher | None = None,
        taste: TasteRanker | None = None,
    ) -> None:
        """`is_alive` tells whether another worker still runs (a `WorkerLease`); without
        it, a pending row counts as abandoned once `stale_after` old by `clock`."""
        self.uow_factory = uow_factory
        # Kept by reference: `serve` adds the Discord sink once its client has logged in.
        self.sinks = sinks
        self.worker_id = worker_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.concurrency = max(1, concurrency)
        self.per_channel_interval = per_channel_interval
        self.retry = retry or RetryPolicy()
        self.commit_batch = commit_batch
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.ledger = RunLedger(
            uow_factory,
            sinks,
            worker_id=worker_id,
            clock=self.clock,
            retry=self.retry,
            is_alive=is_alive,
            stale_after=stale_after,
            claim_batch=claim_batch,
            pause_after=pause_after,
            topics=topics,
            taste=taste,
        )
        self._running = asyncio.Lock()
        self._stopping = False
        self._given_up = 0
        self._current: asyncio.Task[object] | None = None

    async def stop(self, grace: float) -> int:
        """Take no new work, and give the run in progress up to `grace` seconds to finish.

        Jobs that have not started posting are given up at once; posts already in flight
        may finish and are recorded. What is still unfinished after `grace` is cancelled.
        Every job given up keeps its ledger row `pending` under this worker: once the
        caller releases the worker's lease, the next run of any worker recovers it,
        checking the platform (`find_posted`) before any resend. Returns how many jobs
        were given up.
        """
        self._stopping = True
        task = self._current
        if task is None or task.done():
            return self._given_up
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
            await asyncio.wait({task})
        return self._given_up

    async def run_due(self, now: datetime | None = None, *, dry_run: bool = False) -> RunReport:
        """Deliver everything due at `now` (default: the clock). Runs of one runner queue."""
        async with self._running:
            if self._stopping:
                return RunReport(now=now or self.clock(), worker=self.worker_id, dry_run=dry_run)
            self._current = asyncio.current_task()
            try:
                return await self._run_due(now, dry_run=dry_run)
            finally:
                self._current = None

    async def _run_due(self, now: datetime | None, *, dry_run: bool) -> RunReport:
        now = (now or self.clock()).astimezone(UTC)
        report = RunReport(now=now, worker=self.worker_id, dry_run=dry_run)
        if dry_run:
            report.planned = await asyncio.to_thread(self.ledger.plan_dry, now)
            return report
        semaphore = asyncio.Semaphore(self.concurrency)
        attempts = Attempts(
            self.sinks,
            self.retry,
            ChannelPacer(self.per_channel_interval, self.sleep),
            sleep=self.sleep,
            rng=self.rng,
        )
        outcomes: asyncio.Queue[Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(outcomes, report))
        tasks: list[asyncio.Task[None]] = []

        async def deliver(job: Job) -> None:
            async with semaphore:
                if self._stopping:
                    self._given_up += 1  # its row stays pending, for recovery
                    return
                outcome = await attempts.deliver(job)
            await outcomes.put(outcome)

        def launch(jobs: Sequence[Job]) -> None:
            tasks.extend(asyncio.create_task(deliver(job)) for job in jobs)

        try:
            launch(await asyncio.to_thread(self.ledger.recover, now, report))
            launch(await asyncio.to_thread(self.ledger.take_retries, now, report))
            # Ranks once per run, shared by all claim batches.
            planner = Planner(now, self.ledger.taste, topics=self.ledger.topics)
            while True:
                jobs, more = await asyncio.to_thread(self.ledger.claim, now, report, planner)
                launch(jobs)
                if not more or self._stopping:
                    break
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                # Cancelled (a shutdown cancelled the gather) or never finished: given up.
                if task.cancelled() or not task.done():
                    self._given_up += 1
                    task.cancel()
            await outcomes.put(None)
            await writer
        log.info("digest run at %s by %s: %s", now.isoformat(), self.worker_id, report.summary())
        count_digest_report(report)
        return report

    async def _writer(self, queue: asyncio.Queue[Outcome | None], report: RunReport) -> None:
        """Commits outcomes in batches of up to `commit_batch` while posts go on."""
        done = False
        while not done:
            batch: list[Outcome] = []
            item = await queue.get()
            if item is None:
                done = True
            else:
                batch.append(item)
            while not queue.empty() and len(batch) < self.commit_batch:
                nxt = queue.get_nowait()
                if nxt is None:
                    done = True
                    break
                batch.append(nxt)
            if batch:
                try:
                    await asyncio.to_thread(self.ledger.record, batch, report)
                except Exception:
                    # The rows stay pending; the next run resolves them via find_posted.
                    log.exception("could not record %d digest outcomes", len(batch))
