"""Delivers alert messages: plan new batches, recover, retry, claim, fan out, record.

One `run(now)` call matches every batch of new papers not yet planned, then posts every
queued delivery of the platforms it has sinks for, concurrently under a semaphore, with
the digest machinery's bounded, paced attempts (`bot.digests.delivery.Attempts`: 429
Retry-After, backoff on 5xx, a look for an earlier post before any resend). Outcomes
stream to one writer that records them in batches. A channel with more than
`burst_after` papers gets one summary with a "show all" button instead of a flood.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from bot.alerts.ledger import NO_PAPERS_LEFT, AlertJob, AlertReport, AlertRunLedger
from bot.alerts.models import AlertPost
from bot.digests.delivery import Attempts, ChannelPacer, RetryPolicy, Sleep, Verdict
from bot.follow.matching import Speller
from bot.models import DeliveryStatus, Platform
from bot.ports import MessageSink, UnitOfWorkFactory

__all__ = ["AlertReport", "AlertRunner"]

log = logging.getLogger(__name__)

BURST_AFTER = 10  # more new papers than this in one channel: a summary, not a list
SUMMARY_SHOWN = 3  # papers a summary names before its "show all" button


def alert_post(job: AlertJob, *, burst_after: int = BURST_AFTER) -> AlertPost:
    """The message of one job: every paper, or a summary of the first few when a burst."""
    shown = len(job.items) if len(job.items) <= burst_after else SUMMARY_SHOWN
    return AlertPost(job.delivery.id, job.channel, job.items, shown)


class AlertRunner:
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
        burst_after: int = BURST_AFTER,
        give_up_after: timedelta = timedelta(hours=24),
        speller: Callable[[], Speller | None] | None = None,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """`is_alive` tells whether another worker still runs (a `WorkerLease`); without
        it a pending row counts as abandoned once `stale_after` old. `speller` gives the
        typo fixes saved searches are compiled with (None: exact words)."""
        self.sinks = sinks
        self.worker_id = worker_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.concurrency = max(1, concurrency)
        self.per_channel_interval = per_channel_interval
        self.retry = retry or RetryPolicy()
        self.commit_batch = commit_batch
        self.burst_after = burst_after
        self.sleep = sleep
        self.rng = rng or random.Random()
        self.ledger = AlertRunLedger(
            uow_factory,
            sinks,
            worker_id=worker_id,
            clock=self.clock,
            retry=self.retry,
            is_alive=is_alive,
            stale_after=stale_after,
            claim_batch=claim_batch,
            give_up_after=give_up_after,
            speller=speller,
        )
        self._running = asyncio.Lock()
        self._stopping = False
        self._current: asyncio.Task[object] | None = None

    async def stop(self, grace: float) -> None:
        """Take no new work; give the run in progress `grace` seconds, then cancel it.
        What it did not finish stays pending, for recovery by the next run of any worker."""
        self._stopping = True
        task = self._current
        if task is None or task.done():
            return
        done, _ = await asyncio.wait({task}, timeout=grace)
        if not done:
            task.cancel()
            await asyncio.wait({task})

    async def run(self, now: datetime | None = None) -> AlertReport:
        """Plan new batches and deliver every queued message. Runs of one runner queue."""
        async with self._running:
            now = (now or self.clock()).astimezone(UTC)
            report = AlertReport(now=now, worker=self.worker_id)
            if self._stopping:
                return report
            self._current = asyncio.current_task()
            try:
                await self._run(now, report)
            finally:
                self._current = None
            log.info("alert run at %s by %s: %s", now.isoformat(), self.worker_id, report.summary())
            return report

    async def _run(self, now: datetime, report: AlertReport) -> None:
        await asyncio.to_thread(self.ledger.plan, now, report)
        if not self.sinks:
            return
        semaphore = asyncio.Semaphore(self.concurrency)
        attempts = Attempts(
            self.sinks,
            self.retry,
            ChannelPacer(self.per_channel_interval, self.sleep),
            sleep=self.sleep,
            rng=self.rng,
        )
        outcomes: asyncio.Queue[tuple[AlertJob, Verdict] | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(outcomes, now, report))
        tasks: list[asyncio.Task[None]] = []

        async def deliver(job: AlertJob) -> None:
            async with semaphore:
                if self._stopping:
                    return  # its row stays pending, for recovery
                if not job.items:
                    # Its papers merged into ones an earlier alert named (a title-only
                    # record and its arXiv record, storage/merge_follow.py): no post.
                    gone = Verdict(DeliveryStatus.FAILED, reason=NO_PAPERS_LEFT, permanent=True)
                    await outcomes.put((job, gone))
                    return
                sink = self.sinks[job.channel.platform]
                post = alert_post(job, burst_after=self.burst_after)
                verdict = await attempts.run(
                    job.delivery.id,
                    job.channel.key,
                    lambda: sink.post_alerts(post),
                    lambda: sink.find_alert_posted(job.channel, job.delivery.id),
                    recovering=job.recovering,
                )
            await outcomes.put((job, verdict))

        def launch(jobs: Sequence[AlertJob]) -> None:
            tasks.extend(asyncio.create_task(deliver(job)) for job in jobs)

        try:
            launch(await asyncio.to_thread(self.ledger.recover, now))
            launch(await asyncio.to_thread(self.ledger.take_retries, now))
            while not self._stopping:
                jobs, more = await asyncio.to_thread(self.ledger.claim, now)
                launch(jobs)
                if not more:
                    break
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                if not task.done():
                    task.cancel()
            await outcomes.put(None)
            await writer

    async def _writer(
        self,
        queue: asyncio.Queue[tuple[AlertJob, Verdict] | None],
        now: datetime,
        report: AlertReport,
    ) -> None:
        """Commits outcomes in batches of up to `commit_batch` while posts go on."""
        done = False
        while not done:
            batch: list[tuple[AlertJob, Verdict]] = []
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
                    await asyncio.to_thread(self.ledger.record, batch, now, report)
                except Exception:
                    # The rows stay pending; the next run resolves them via find_alert_posted.
                    log.exception("could not record %d alert outcomes", len(batch))
