"""Delivers every digest that is due: recover, claim, build, fan out, record.

One `run_due(now)` call does, in order:

1. **Recover.** `pending` rows whose worker is dead (see `storage.leases`) are taken over.
   Each is first looked up on the platform (`MessageSink.find_posted`: Slack message
   metadata, Discord nonce); if the post landed it is marked `sent`, otherwise the same
   planned papers are sent again, if it is still that digest's local day (otherwise it is
   recorded as `skipped`, like any missed day). Nothing is ever re-sent before this check.
2. **Claim.** Due subscriptions are read in batches with `due(lock=True)` (SKIP LOCKED on
   PostgreSQL), and in the same transaction each gets its ledger row (insert on conflict
   do nothing against `UNIQUE(subscription, digest_date)`), its planned papers, and its
   advanced `next_run_at`. A missed digest is delivered if it is still the same local day,
   otherwise recorded as `skipped`. A digest with nothing to show is recorded as `empty`.
3. **Fan out.** Posts run concurrently under a semaphore, at most one attempt per channel
   per `per_channel_interval`; 429s wait for Retry-After, 5xx and timeouts retry with
   exponential backoff and jitter (after checking the ambiguous attempt did not land),
   permanent errors fail at once.
4. **Record.** Outcomes are committed in batches; permanent failures count towards
   pausing the subscription, a success resets the count. A delivery whose bounded
   retries all failed transiently (5xx, timeouts, too many 429s) is not terminal: it is
   recorded as `retrying` with a `retry_at` a few minutes on (doubling each round), or as
   `failed` if that would fall after the end of its local day.

Between steps 1 and 2, **Retry** takes the `retrying` rows that are due (SKIP LOCKED on
PostgreSQL) and moves them back to `pending` for this worker; from there they go through
the same path as recovered rows (`find_posted` first, then the same planned papers), so
the earlier ambiguous attempts can never turn into a second post. A row whose local day
is over by then is recorded as `failed` with its last reason instead.

The platform-specific parts are the `MessageSink`s handed in; nothing here imports Slack
or Discord.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from bot.digests.schedule import local_date, local_day_end, next_run_after
from bot.metrics import count_digest_report
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    Digest,
    Paper,
    PaperCard,
    Platform,
    PostResult,
    Subscription,
    SubscriptionSpec,
)
from bot.ports import ClaimRequest, FinishRequest, MessageSink, UnitOfWork, UnitOfWorkFactory
from bot.trending.score import TrendingQuery, matches_keywords, top_trending

log = logging.getLogger(__name__)

MORE_URL = "https://huggingface.co/papers"
# Enough ranked candidates that keyword filters and the "never twice" rule still leave N.
_CANDIDATES = 100_000
_MAX_CATCH_UP_STEPS = 5_000


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard one delivery tries before it is recorded as failed."""

    max_attempts: int = 5  # attempts that end in 5xx, a timeout or a dropped connection
    base_delay: float = 0.5  # seconds; doubles each time, with jitter
    max_delay: float = 30.0
    max_rate_limited: int = 10  # 429 answers tolerated per delivery
    max_retry_after: float = 300.0  # cap on a Retry-After we are willing to honour
    post_timeout: float = 30.0
    # When all of a run's attempts failed transiently, a later tick tries again this long
    # after the run (doubling each round, capped) while it is still the digest's local day.
    later_delay: float = 300.0
    later_max_delay: float = 3600.0

    def backoff(self, failures: int, rng: random.Random) -> float:
        """Exponential backoff with "equal jitter": half fixed, half random."""
        delay = min(self.max_delay, self.base_delay * 2.0 ** max(0, failures - 1))
        return delay / 2 + rng.uniform(0, delay / 2)

    def later(self, rounds: int) -> timedelta:
        """How long after a run whose `rounds`-th delivery round failed to try again."""
        delay = min(self.later_max_delay, self.later_delay * 2.0 ** max(0, rounds - 1))
        return timedelta(seconds=delay)


@dataclass(frozen=True, slots=True)
class Occurrence:
    """What a due subscription should do now: deliver one date, or skip, and when next."""

    deliver: date | None
    skipped: tuple[date, ...]
    next_run_at: datetime


def plan_occurrence(spec: SubscriptionSpec, next_run_at: datetime, now: datetime) -> Occurrence:
    """Catch-up rule: the latest missed fire time is delivered if it is still its local day.

    Older missed fire times, and the latest one once its local day is over, are skipped.
    """
    fire = next_run_at
    latest: datetime | None = None
    skipped: list[date] = []
    steps = 0
    while fire <= now and steps < _MAX_CATCH_UP_STEPS:
        if latest is not None:
            skipped.append(local_date(latest, spec.timezone))
        latest = fire
        fire = next_run_after(spec, fire)
        steps += 1
    upcoming = fire if fire > now else next_run_after(spec, now)
    if latest is None:
        return Occurrence(None, (), upcoming)
    latest_day = local_date(latest, spec.timezone)
    if latest_day == local_date(now, spec.timezone):
        return Occurrence(latest_day, tuple(skipped), upcoming)
    return Occurrence(None, (*skipped, latest_day), upcoming)


def window_calendar_days(day: date, window_days: int) -> int:
    """Calendar days back from `day` that cover `window_days` weekdays.

    Papers are not announced at weekends, so Monday's 3-day window reaches back to
    Thursday rather than showing only Monday's handful.
    """
    window_days = max(1, window_days)
    span = 0
    weekdays = 0
    current = day
    while weekdays < window_days:
        if current.weekday() < 5:
            weekdays += 1
        span += 1
        current -= timedelta(days=1)
    return span


def digest_title(day: date) -> str:
    return f"Trending papers · {day.strftime('%a %d %b %Y')}"


@dataclass(frozen=True, slots=True)
class PlannedDigest:
    """One line of a run's plan, for reports and `--dry-run`."""

    subscription_id: int
    channel: ChannelRef
    digest_date: date | None
    action: Literal["send", "empty", "skip", "taken", "resend", "retry", "no-sink"]
    papers: tuple[Paper, ...] = ()
    note: str = ""


@dataclass
class RunReport:
    now: datetime
    worker: str
    dry_run: bool = False
    sent: int = 0
    failed: int = 0
    empty: int = 0
    skipped: int = 0
    recovered: int = 0  # pending rows of dead workers found already posted
    resent: int = 0  # pending rows of dead workers that had to be sent again
    taken: int = 0  # due, but another run had already claimed that date
    unresolved: int = 0  # left pending: the platform could not say whether it was posted
    retrying: int = 0  # failed transiently; a later tick the same local day tries again
    retried: int = 0  # earlier transient failures taken up again by this run
    paused: list[int] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    planned: list[PlannedDigest] = field(default_factory=list)

    def summary(self) -> str:
        head = "dry run: " if self.dry_run else ""
        if self.dry_run:
            counts = {a: 0 for a in ("send", "empty", "skip", "taken", "no-sink")}
            for item in self.planned:
                counts[item.action] = counts.get(item.action, 0) + 1
            return head + ", ".join(f"{k} {v}" for k, v in counts.items())
        parts = [
            f"sent {self.sent}",
            f"failed {self.failed}",
            f"empty {self.empty}",
            f"skipped {self.skipped}",
        ]
        if self.recovered or self.resent:
            parts.append(f"recovered {self.recovered} (resent {self.resent})")
        if self.taken:
            parts.append(f"already claimed {self.taken}")
        if self.unresolved:
            parts.append(f"left pending {self.unresolved}")
        if self.retried:
            parts.append(f"retried {self.retried}")
        if self.retrying:
            parts.append(f"retry later {self.retrying}")
        if self.paused:
            parts.append(f"paused {len(self.paused)}")
        return head + ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "now": self.now.isoformat(),
            "worker": self.worker,
            "dry_run": self.dry_run,
            "sent": self.sent,
            "failed": self.failed,
            "empty": self.empty,
            "skipped": self.skipped,
            "recovered": self.recovered,
            "resent": self.resent,
            "taken": self.taken,
            "unresolved": self.unresolved,
            "retrying": self.retrying,
            "retried": self.retried,
            "paused": list(self.paused),
            "failures": dict(self.failures),
        }


@dataclass(slots=True)
class _Job:
    delivery_id: int
    subscription_id: int
    channel: ChannelRef
    digest_date: date
    papers: tuple[Paper, ...]
    timezone: str  # the subscription's: its digest may be retried until its local day ends
    recovering: bool = False  # look for an earlier post (find_posted) before posting
    retry: bool = False  # taken up again after an earlier run's transient failure
    rounds: int = 1  # this is the delivery's n-th round (run) of attempts
    day_over: bool = False  # recovering a digest whose local day has ended: never re-send


def _resend_job(
    uow: UnitOfWork,
    delivery: Delivery,
    sub: Subscription,
    report: RunReport,
    *,
    kind: Literal["resend", "retry"],
    day_over: bool = False,
) -> _Job:
    """A job that sends an existing ledger row again, with exactly the papers it planned.

    Recovery and retries both go through `find_posted` first (`recovering=True`), so a
    post that landed unseen is never sent twice.
    """
    papers = tuple(uow.papers.get_many(list(delivery.paper_keys)))
    report.planned.append(PlannedDigest(sub.id, sub.channel, delivery.digest_date, kind, papers))
    return _Job(
        delivery.id,
        sub.id,
        sub.channel,
        delivery.digest_date,
        papers,
        sub.spec.timezone,
        recovering=True,
        retry=kind == "retry",
        rounds=delivery.attempts + 1,
        day_over=day_over,
    )


@dataclass(frozen=True, slots=True)
class _Outcome:
    job: _Job
    status: DeliveryStatus
    message_id: str | None = None
    reason: str | None = None
    permanent: bool = False
    recovered: bool = False
    retry_at: datetime | None = None


class _ChannelPacer:
    """At most one post attempt per channel per `interval` (Slack allows ~1 msg/s)."""

    def __init__(self, interval: float, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.interval = interval
        self.sleep = sleep
        self._next: dict[str, float] = {}

    async def wait(self, channel: str) -> None:
        now = time.monotonic()
        ready = self._next.get(channel, now)
        self._next[channel] = max(ready, now) + self.interval
        if ready > now:
            await self.sleep(ready - now)

    def hold(self, channel: str, seconds: float) -> None:
        """The platform asked us to keep off this channel for `seconds`."""
        self._next[channel] = max(self._next.get(channel, 0.0), time.monotonic() + seconds)


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
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        """`is_alive` tells whether another worker still runs (a `WorkerLease`); without
        it, a pending row counts as abandoned once `stale_after` old (wall-clock)."""
        self.uow_factory = uow_factory
        # Kept by reference: `serve` adds the Discord sink once its client has logged in.
        self.sinks = sinks
        self.worker_id = worker_id
        self.clock = clock or (lambda: datetime.now(UTC))
        self.concurrency = max(1, concurrency)
        self.per_channel_interval = per_channel_interval
        self.retry = retry or RetryPolicy()
        self.is_alive = is_alive
        self.stale_after = stale_after
        self.claim_batch = claim_batch
        self.commit_batch = commit_batch
        self.pause_after = pause_after
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._running = asyncio.Lock()

    def _other_alive(self, worker: str) -> bool:
        # Our own pending rows are orphans of an earlier run: runs never overlap (`_running`).
        return worker != self.worker_id and self.is_alive is not None and self.is_alive(worker)

    # ------------------------------------------------------------------ public entry point
    async def run_due(self, now: datetime | None = None, *, dry_run: bool = False) -> RunReport:
        """Deliver everything due at `now` (default: the clock). Runs of one runner queue."""
        async with self._running:
            return await self._run_due(now, dry_run=dry_run)

    async def _run_due(self, now: datetime | None, *, dry_run: bool) -> RunReport:
        now = (now or self.clock()).astimezone(UTC)
        report = RunReport(now=now, worker=self.worker_id, dry_run=dry_run)
        if dry_run:
            report.planned = await asyncio.to_thread(self._plan_dry, now)
            return report
        semaphore = asyncio.Semaphore(self.concurrency)
        pacer = _ChannelPacer(self.per_channel_interval, self.sleep)
        outcomes: asyncio.Queue[_Outcome | None] = asyncio.Queue()
        writer = asyncio.create_task(self._writer(outcomes, report))
        tasks: list[asyncio.Task[None]] = []

        def launch(jobs: Sequence[_Job]) -> None:
            for job in jobs:
                tasks.append(asyncio.create_task(self._deliver(job, semaphore, pacer, outcomes)))

        try:
            launch(await asyncio.to_thread(self._recover, now, report))
            launch(await asyncio.to_thread(self._take_retries, now, report))
            ranking = _Ranking(None, now)  # ranked once per run, shared by all batches
            while True:
                jobs, more = await asyncio.to_thread(self._claim_batch, now, report, ranking)
                launch(jobs)
                if not more:
                    break
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await outcomes.put(None)
            await writer
        log.info("digest run at %s by %s: %s", now.isoformat(), self.worker_id, report.summary())
        count_digest_report(report)
        return report

    # ---------------------------------------------------------------------- recover phase
    def _recover(self, now: datetime, report: RunReport) -> list[_Job]:
        jobs: list[_Job] = []
        with self.uow_factory() as uow:
            stale = uow.deliveries.reclaim_stale(
                worker=self.worker_id,
                older_than=datetime.now(UTC) - self.stale_after,
                is_alive=self._other_alive if self.is_alive else None,
            )
            for delivery in stale:
                sub = uow.subscriptions.get(delivery.subscription_id)
                if sub is None:
                    continue
                if sub.channel.platform not in self.sinks:
                    # Leave it pending for a run that has this platform's sink.
                    log.warning(
                        "pending delivery %d for %s: no %s sink in this run",
                        delivery.id,
                        sub.channel.key,
                        sub.channel.platform.value,
                    )
                    continue
                log.info(
                    "recovering pending delivery %d (%s, %s) left by %s",
                    delivery.id,
                    sub.channel.key,
                    delivery.digest_date,
                    delivery.claimed_by,
                )
                day_over = delivery.digest_date != local_date(now, sub.spec.timezone)
                jobs.append(
                    _resend_job(uow, delivery, sub, report, kind="resend", day_over=day_over)
                )
        return jobs

    # -------------------------------------------------------------------------- retry phase
    def _take_retries(self, now: datetime, report: RunReport) -> list[_Job]:
        """Due `retrying` rows: re-send them if their local day is not over, else fail them."""
        jobs: list[_Job] = []
        expired: list[FinishRequest] = []
        with self.uow_factory() as uow:
            taken = uow.deliveries.take_retries(
                worker=self.worker_id, now=now, platforms=[p.value for p in self.sinks]
            )
            for delivery in taken:
                sub = uow.subscriptions.get(delivery.subscription_id)
                if sub is None:
                    continue
                reason = delivery.reason or "transient"
                if sub.paused or delivery.digest_date != local_date(now, sub.spec.timezone):
                    log.info(
                        "not retrying digest %d for %s on %s: %s",
                        delivery.id,
                        sub.channel.key,
                        delivery.digest_date,
                        "subscription paused" if sub.paused else "that local day is over",
                    )
                    expired.append(
                        FinishRequest(
                            delivery.id,
                            DeliveryStatus.FAILED,
                            sub.channel.key,
                            reason=reason,
                            paper_keys=delivery.paper_keys,
                        )
                    )
                    continue
                log.info(
                    "retrying digest %d for %s (%s), round %d, after %s",
                    delivery.id,
                    sub.channel.key,
                    delivery.digest_date,
                    delivery.attempts + 1,
                    reason,
                )
                jobs.append(_resend_job(uow, delivery, sub, report, kind="retry"))
            uow.deliveries.finish_many(expired, now=datetime.now(UTC))
        report.retried += len(jobs)
        for request in expired:
            report.failed += 1
            reason = request.reason or "transient"
            report.failures[reason] = report.failures.get(reason, 0) + 1
        return jobs

    # ------------------------------------------------------------------------ claim phase
    def _claim_batch(
        self, now: datetime, report: RunReport, ranking: _Ranking
    ) -> tuple[list[_Job], bool]:
        """Claim one batch of due subscriptions in one transaction. Returns (jobs, more?).

        Locking the due rows, inserting their ledger rows and advancing `next_run_at` all
        commit together: a replica either sees the subscription still due and locked (and
        skips it), or already advanced. The ledger's unique key backs this up.
        """
        platforms = [p.value for p in self.sinks]
        with self.uow_factory() as uow:
            subs = uow.subscriptions.due(
                now, limit=self.claim_batch, lock=True, platforms=platforms
            )
            if not subs:
                return [], False
            ranking.uow = uow
            # Papers of the channel's unfinished digests (being recovered or retried, maybe
            # already posted) are as good as sent: today's digest must not repeat them.
            # Read before the sent papers: a recovery committing in between (row no longer
            # pending, its papers now sent) is then seen by the second read, not missed by
            # both (each statement has its own snapshot under READ COMMITTED).
            unfinished = uow.deliveries.unfinished_paper_keys_many([s.id for s in subs])
            sent = uow.deliveries.sent_paper_keys_many([s.channel.key for s in subs])
            zones = {sub.id: sub.spec.timezone for sub in subs}
            next_runs: dict[int, datetime] = {}
            requests: list[ClaimRequest] = []
            plans: list[PlannedDigest] = []
            for sub in subs:
                assert sub.next_run_at is not None  # due() only returns scheduled rows
                occurrence = plan_occurrence(sub.spec, sub.next_run_at, now)
                next_runs[sub.id] = occurrence.next_run_at
                for day in occurrence.skipped:
                    log.info(
                        "skipping missed digest for %s on %s: that local day (%s) is over",
                        sub.channel.key,
                        day,
                        sub.spec.timezone,
                    )
                if occurrence.deliver is None:
                    # Record the latest missed day, so `stats` shows it; older ones are logged.
                    last = occurrence.skipped[-1]
                    requests.append(
                        ClaimRequest(sub.id, last, DeliveryStatus.SKIPPED, "missed; day over")
                    )
                    plans.append(PlannedDigest(sub.id, sub.channel, last, "skip"))
                    continue
                day = occurrence.deliver
                exclude = sent.get(sub.channel.key, set()) | unfinished.get(sub.id, set())
                papers = ranking.pick(sub, day, exclude=exclude)
                requests.append(
                    ClaimRequest(
                        sub.id,
                        day,
                        DeliveryStatus.PENDING if papers else DeliveryStatus.EMPTY,
                        None if papers else "no paper qualifies",
                        tuple(p.key for p in papers),
                    )
                )
                action: Literal["send", "empty"] = "send" if papers else "empty"
                plans.append(PlannedDigest(sub.id, sub.channel, day, action, papers))
            claimed = uow.deliveries.claim_many(requests, worker=self.worker_id, now=now)
            uow.subscriptions.set_next_runs(next_runs)
        jobs: list[_Job] = []
        for plan in plans:
            delivery_id = claimed.get(plan.subscription_id)
            if delivery_id is None:
                plan = PlannedDigest(plan.subscription_id, plan.channel, plan.digest_date, "taken")
                report.taken += 1
            elif plan.action == "send" and plan.digest_date is not None:
                jobs.append(
                    _Job(
                        delivery_id,
                        plan.subscription_id,
                        plan.channel,
                        plan.digest_date,
                        plan.papers,
                        zones[plan.subscription_id],
                    )
                )
            elif plan.action == "empty":
                report.empty += 1
            elif plan.action == "skip":
                report.skipped += 1
            report.planned.append(plan)
        return jobs, len(subs) >= self.claim_batch

    def _plan_dry(self, now: datetime) -> list[PlannedDigest]:
        """What a run at `now` would do, without writing anything."""
        plan: list[PlannedDigest] = []
        with self.uow_factory() as uow:
            ranking = _Ranking(uow, now)
            for sub in uow.subscriptions.due(now):
                if sub.channel.platform not in self.sinks:
                    plan.append(PlannedDigest(sub.id, sub.channel, None, "no-sink"))
                    continue
                assert sub.next_run_at is not None
                occurrence = plan_occurrence(sub.spec, sub.next_run_at, now)
                if occurrence.deliver is None:
                    last = occurrence.skipped[-1] if occurrence.skipped else None
                    plan.append(PlannedDigest(sub.id, sub.channel, last, "skip"))
                    continue
                exclude = uow.deliveries.sent_paper_keys(sub.channel)
                papers = ranking.pick(sub, occurrence.deliver, exclude=exclude)
                action: Literal["send", "empty"] = "send" if papers else "empty"
                plan.append(PlannedDigest(sub.id, sub.channel, occurrence.deliver, action, papers))
            uow.rollback()
        return plan

    # ---------------------------------------------------------------------- fan-out phase
    async def _deliver(
        self,
        job: _Job,
        semaphore: asyncio.Semaphore,
        pacer: _ChannelPacer,
        outcomes: asyncio.Queue[_Outcome | None],
    ) -> None:
        async with semaphore:
            outcome = await self._attempts(job, pacer)
        await outcomes.put(outcome)

    async def _find_posted(self, sink: MessageSink, job: _Job) -> tuple[bool, str | None]:
        """(known, message id). Not known means the platform could not be asked: posting
        then might duplicate the digest, so the caller must not post."""
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                found = await asyncio.wait_for(
                    sink.find_posted(job.channel, job.delivery_id), self.retry.post_timeout
                )
            except Exception as exc:  # lookup failures are retried; a guess could duplicate
                log.warning(
                    "find_posted for delivery %d failed (%s), attempt %d",
                    job.delivery_id,
                    type(exc).__name__,
                    attempt,
                    exc_info=True,
                )
                await self.sleep(self.retry.backoff(attempt, self.rng))
                continue
            return True, found
        return False, None

    def _unconfirmed(self, job: _Job) -> _Outcome:
        return _Outcome(job, DeliveryStatus.PENDING, reason="could not check for an earlier post")

    async def _attempts(self, job: _Job, pacer: _ChannelPacer) -> _Outcome:
        sink = self.sinks[job.channel.platform]
        if job.recovering:
            known, found = await self._find_posted(sink, job)
            if found is not None:
                return _Outcome(job, DeliveryStatus.SENT, message_id=found, recovered=True)
            if not known:
                return self._unconfirmed(job)
            if job.day_over:
                return _Outcome(job, DeliveryStatus.SKIPPED, reason="missed; day over")
        digest = Digest(
            delivery_id=job.delivery_id,
            channel=job.channel,
            digest_date=job.digest_date,
            cards=tuple(PaperCard(paper=p, rank=i + 1) for i, p in enumerate(job.papers)),
            title=digest_title(job.digest_date),
            more_url=MORE_URL,
        )
        failures = 0
        limited = 0
        ambiguous = False
        while True:
            if ambiguous:
                # The last attempt may have been posted even though it reported an error.
                known, found = await self._find_posted(sink, job)
                if found is not None:
                    return _Outcome(job, DeliveryStatus.SENT, message_id=found)
                if not known:
                    return self._unconfirmed(job)
            await pacer.wait(job.channel.key)
            try:
                result = await asyncio.wait_for(sink.post_digest(digest), self.retry.post_timeout)
            except Exception as exc:  # timeouts and transport errors are transient
                log.warning(
                    "post of delivery %d to %s raised %s",
                    job.delivery_id,
                    job.channel.key,
                    type(exc).__name__,
                    exc_info=True,
                )
                result = PostResult(ok=False, reason=f"error: {type(exc).__name__}")
            if result.ok:
                return _Outcome(job, DeliveryStatus.SENT, message_id=result.message_id)
            if result.permanent:
                return _Outcome(
                    job, DeliveryStatus.FAILED, reason=result.reason or "permanent", permanent=True
                )
            if result.retry_after is not None:
                limited += 1
                if limited > self.retry.max_rate_limited:
                    return _Outcome(job, DeliveryStatus.FAILED, reason="rate_limited")
                wait = min(max(0.0, result.retry_after), self.retry.max_retry_after)
                pacer.hold(job.channel.key, wait)
                ambiguous = False
                continue
            failures += 1
            ambiguous = True
            if failures >= self.retry.max_attempts:
                # Last check before giving up, so a late success is not reported as failed.
                _, found = await self._find_posted(sink, job)
                if found is not None:
                    return _Outcome(job, DeliveryStatus.SENT, message_id=found)
                return _Outcome(job, DeliveryStatus.FAILED, reason=result.reason or "transient")
            await self.sleep(self.retry.backoff(failures, self.rng))

    # ----------------------------------------------------------------------- record phase
    async def _writer(self, queue: asyncio.Queue[_Outcome | None], report: RunReport) -> None:
        done = False
        while not done:
            batch: list[_Outcome] = []
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
                    await asyncio.to_thread(self._commit, batch, report)
                except Exception:
                    # The rows stay pending; the next run resolves them via find_posted.
                    log.exception("could not record %d digest outcomes", len(batch))

    def _retry_later(self, outcome: _Outcome, now: datetime) -> _Outcome:
        """A transient failure waits for a later tick if that is still on its local day."""
        if outcome.status is not DeliveryStatus.FAILED or outcome.permanent:
            return outcome
        job = outcome.job
        retry_at = now + self.retry.later(job.rounds)
        if retry_at >= local_day_end(job.digest_date, job.timezone):
            return outcome
        return dataclasses.replace(outcome, status=DeliveryStatus.RETRYING, retry_at=retry_at)

    def _commit(self, batch: list[_Outcome], report: RunReport) -> None:
        now = datetime.now(UTC)
        batch = [self._retry_later(o, report.now) for o in batch]
        paused: list[int] = []
        finished = [o for o in batch if o.status is not DeliveryStatus.PENDING]
        with self.uow_factory() as uow:
            uow.deliveries.finish_many(
                [
                    FinishRequest(
                        o.job.delivery_id,
                        o.status,
                        o.job.channel.key,
                        message_id=o.message_id,
                        reason=o.reason,
                        paper_keys=tuple(p.key for p in o.job.papers),
                        retry_at=o.retry_at,
                        attempts=o.job.rounds,
                    )
                    for o in finished
                ],
                now=now,
            )
            uow.subscriptions.reset_failures(
                [o.job.subscription_id for o in finished if o.status is DeliveryStatus.SENT]
            )
            for outcome in finished:
                if outcome.permanent and uow.subscriptions.record_outcome(
                    outcome.job.subscription_id,
                    permanent_failure=True,
                    reason=outcome.reason,
                    pause_after=self.pause_after,
                ):
                    paused.append(outcome.job.subscription_id)
                    log.warning(
                        "subscription %d (%s) paused after %d permanent failures: %s",
                        outcome.job.subscription_id,
                        outcome.job.channel.key,
                        self.pause_after,
                        outcome.reason,
                    )
        # Count only once committed, so the report never claims more than the ledger holds.
        for outcome in batch:
            if outcome.status is DeliveryStatus.PENDING:
                report.unresolved += 1
            elif outcome.status is DeliveryStatus.SKIPPED:
                report.skipped += 1
                log.info(
                    "not re-sending digest %d to %s: its local day (%s) is over",
                    outcome.job.delivery_id,
                    outcome.job.channel.key,
                    outcome.job.digest_date,
                )
            elif outcome.status is DeliveryStatus.RETRYING:
                report.retrying += 1
                log.warning(
                    "digest %d to %s failed for now (%s); retrying from %s",
                    outcome.job.delivery_id,
                    outcome.job.channel.key,
                    outcome.reason,
                    outcome.retry_at.isoformat() if outcome.retry_at else "the next tick",
                )
            elif outcome.status is DeliveryStatus.SENT:
                report.sent += 1
                if outcome.job.recovering and not outcome.job.retry:
                    if outcome.recovered:
                        report.recovered += 1
                    else:
                        report.resent += 1
            else:
                report.failed += 1
                reason = outcome.reason or "unknown"
                report.failures[reason] = report.failures.get(reason, 0) + 1
                log.warning(
                    "digest %d to %s failed: %s",
                    outcome.job.delivery_id,
                    outcome.job.channel.key,
                    reason,
                )
        report.paused.extend(paused)


class _Ranking:
    """Trending papers ranked once per window per run, then filtered per subscription.

    Ranking is the same for every channel, so computing it 10,000 times would dominate a
    large fan-out; the per-channel part (keywords, upvotes, already sent) is cheap.
    """

    def __init__(self, uow: UnitOfWork | None, now: datetime) -> None:
        self.uow = uow
        self.now = now
        self._ranked: dict[int, list[PaperCard]] = {}
        self._keyword_hits: dict[tuple[int, tuple[str, ...]], bool] = {}

    def ranked(self, span_days: int) -> list[PaperCard]:
        if span_days not in self._ranked:
            assert self.uow is not None, "set .uow before ranking"
            result = top_trending(
                self.uow,
                TrendingQuery(
                    now=self.now, days=span_days, limit=_CANDIDATES, fallback_to_recent=False
                ),
            )
            self._ranked[span_days] = list(result.cards)
        return self._ranked[span_days]

    def pick(self, sub: Subscription, day: date, *, exclude: set[int]) -> tuple[Paper, ...]:
        spec = sub.spec
        span = window_calendar_days(day, spec.window_days)
        chosen: list[Paper] = []
        for card in self.ranked(span):
            paper = card.paper
            if paper.key in exclude or (paper.upvotes or 0) < spec.min_upvotes:
                continue
            if spec.keywords and not self._matches(paper, spec.keywords):
                continue
            chosen.append(paper)
            if len(chosen) >= spec.top_n:
                break
        return tuple(chosen)

    def _matches(self, paper: Paper, keywords: tuple[str, ...]) -> bool:
        key = (paper.key, keywords)
        if key not in self._keyword_hits:
            self._keyword_hits[key] = matches_keywords(paper, keywords)
        return self._keyword_hits[key]
