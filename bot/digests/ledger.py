"""One run's transactions against the delivery ledger: recover, retry, claim, record.

- **Recover.** `pending` rows whose worker is dead (see `storage.leases`) are taken over
  and become jobs that look on the platform first (`find_posted`) and re-send the same
  planned papers only if the post never landed and it is still that digest's local day.
- **Retry.** Due `retrying` rows move back to `pending` for this worker and take the same
  path as recovered rows; a row whose local day is over (or whose subscription is paused)
  is recorded as `failed` with its last reason instead.
- **Claim.** Due subscriptions are read in batches with `due(lock=True)` (SKIP LOCKED on
  PostgreSQL), and in the same transaction each gets its ledger row (insert on conflict
  do nothing against `UNIQUE(subscription, digest_date)`), its planned papers and its
  advanced `next_run_at`.
- **Record.** Outcomes are written in one path (`_finish`): permanent failures count
  towards pausing the subscription, a success resets the count, and a delivery whose
  bounded attempts all failed transiently is `retrying` with a `retry_at` while that is
  still on its local day, else `failed`.

Claims are stamped with the run's time; other writes with the injected clock.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Literal

from bot.digests.delivery import Job, Outcome, RetryPolicy
from bot.digests.planning import Planner, claim_request
from bot.digests.report import PlannedDigest, RunReport
from bot.digests.schedule import local_date, local_day_end
from bot.digests.topics import LexicalTopics, TopicMatcher
from bot.models import Cadence, Delivery, DeliveryStatus, Paper, Platform, Subscription
from bot.ports import FinishRequest, MessageSink, UnitOfWork, UnitOfWorkFactory
from bot.taste.channel import TasteRanker

log = logging.getLogger(__name__)


class RunLedger:
    """The ledger side of digest runs for one worker; `DigestRunner` drives it."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        sinks: Mapping[Platform, MessageSink],
        *,
        worker_id: str,
        clock: Callable[[], datetime],
        retry: RetryPolicy,
        is_alive: Callable[[str], bool] | None,
        stale_after: timedelta,
        claim_batch: int,
        pause_after: int,
        topics: TopicMatcher | None = None,
        taste: TasteRanker | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.topics = topics  # digest keywords: lexical, or by meaning too (issue 12)
        self.taste = taste  # channel taste's features: TF-IDF, or paper vectors too
        self.sinks = sinks  # the runner's mapping, by reference
        self.worker_id = worker_id
        self.clock = clock
        self.retry = retry
        self.is_alive = is_alive
        self.stale_after = stale_after
        self.claim_batch = claim_batch
        self.pause_after = pause_after

    def _other_alive(self, worker: str) -> bool:
        # Our own pending rows are orphans of an earlier run: a runner's runs never overlap.
        return worker != self.worker_id and self.is_alive is not None and self.is_alive(worker)

    # ---------------------------------------------------------------------- recover phase
    def recover(self, now: datetime, report: RunReport) -> list[Job]:
        jobs: list[Job] = []
        with self.uow_factory() as uow:
            stale = uow.deliveries.reclaim_stale(
                worker=self.worker_id,
                now=now,
                older_than=now - self.stale_after,  # claimed_at is the claimer's `now` too
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
                jobs.append(_resend_job(uow, delivery, sub, report, "resend", day_over=day_over))
        return jobs

    # ------------------------------------------------------------------------ retry phase
    def take_retries(self, now: datetime, report: RunReport) -> list[Job]:
        """Due `retrying` rows: re-send them if their local day is not over, else fail them."""
        jobs: list[Job] = []
        expired: list[Outcome] = []
        with self.uow_factory() as uow:
            taken = uow.deliveries.take_retries(
                worker=self.worker_id, now=now, platforms=[p.value for p in self.sinks]
            )
            for delivery in taken:
                sub = uow.subscriptions.get(delivery.subscription_id)
                if sub is None:
                    continue
                if sub.paused or delivery.digest_date != local_date(now, sub.spec.timezone):
                    log.info(
                        "not retrying digest %d for %s on %s: %s",
                        delivery.id,
                        sub.channel.key,
                        delivery.digest_date,
                        "subscription paused" if sub.paused else "that local day is over",
                    )
                    expired.append(_expired(delivery, sub))
                    continue
                log.info(
                    "retrying digest %d for %s (%s), round %d, after %s",
                    delivery.id,
                    sub.channel.key,
                    delivery.digest_date,
                    delivery.attempts + 1,
                    delivery.reason or "transient",
                )
                jobs.append(_resend_job(uow, delivery, sub, report, "retry"))
            paused = self._finish(uow, expired)
        report.retried += len(jobs)
        self._count(expired, paused, report)
        return jobs

    # ------------------------------------------------------------------------ claim phase
    def claim(self, now: datetime, report: RunReport, planner: Planner) -> tuple[list[Job], bool]:
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
            # Papers of the channel's unfinished digests (being recovered or retried, maybe
            # already posted) are as good as sent: today's digest must not repeat them.
            # Read before the sent papers: a recovery committing in between (row no longer
            # pending, its papers now sent) is then seen by the second read, not missed by
            # both (each statement has its own snapshot under READ COMMITTED).
            unfinished = uow.deliveries.unfinished_paper_keys_many([s.id for s in subs])
            sent = uow.deliveries.sent_paper_keys_many([s.channel.key for s in subs])
            zones = {sub.id: sub.spec.timezone for sub in subs}
            weekly = {sub.id for sub in subs if sub.spec.cadence is Cadence.WEEKLY}

            def already_had(sub: Subscription) -> set[int]:
                return sent.get(sub.channel.key, set()) | unfinished.get(sub.id, set())

            next_runs: dict[int, datetime] = {}
            plans: list[PlannedDigest] = []
            for sub in subs:
                occurrence, plan = planner.plan(uow, sub, already_had)
                next_runs[sub.id] = occurrence.next_run_at
                for day in occurrence.skipped:
                    log.info(
                        "skipping missed digest for %s on %s: that local day (%s) is over",
                        sub.channel.key,
                        day,
                        sub.spec.timezone,
                    )
                plans.append(plan)
            claimed = uow.deliveries.claim_many(
                [claim_request(p) for p in plans], worker=self.worker_id, now=now
            )
            uow.subscriptions.set_next_runs(next_runs)
        jobs: list[Job] = []
        for plan in plans:
            delivery_id = claimed.get(plan.subscription_id)
            if delivery_id is None:
                plan = PlannedDigest(plan.subscription_id, plan.channel, plan.digest_date, "taken")
                report.taken += 1
            elif plan.action == "send" and plan.digest_date is not None:
                jobs.append(
                    Job(
                        delivery_id,
                        plan.subscription_id,
                        plan.channel,
                        plan.digest_date,
                        plan.papers,
                        zones[plan.subscription_id],
                        weekly=plan.subscription_id in weekly,
                        why=plan.why,
                        topics=plan.topics,
                    )
                )
            elif plan.action == "empty":
                report.empty += 1
            elif plan.action == "skip":
                report.skipped += 1
            report.planned.append(plan)
        return jobs, len(subs) >= self.claim_batch

    def plan_dry(self, now: datetime) -> list[PlannedDigest]:
        """What a run at `now` would do, without writing anything."""
        plan: list[PlannedDigest] = []
        planner = Planner(now, self.taste, topics=self.topics)
        with self.uow_factory() as uow:

            def sent_to(sub: Subscription) -> set[int]:
                return uow.deliveries.sent_paper_keys(sub.channel)

            for sub in uow.subscriptions.due(now):
                if sub.channel.platform not in self.sinks:
                    plan.append(PlannedDigest(sub.id, sub.channel, None, "no-sink"))
                    continue
                _, line = planner.plan(uow, sub, sent_to)
                plan.append(line)
            uow.rollback()
        return plan

    # ----------------------------------------------------------------------- record phase
    def record(self, batch: Sequence[Outcome], report: RunReport) -> None:
        """Write one batch of outcomes in one transaction, then count it in `report`."""
        outcomes = [self._retry_later(o, report.now) for o in batch]
        with self.uow_factory() as uow:
            paused = self._finish(uow, outcomes)
        # Count only once committed, so the report never claims more than the ledger holds.
        self._count(outcomes, paused, report)

    def _retry_later(self, outcome: Outcome, now: datetime) -> Outcome:
        """A transient failure waits for a later tick if that is still on its local day."""
        if outcome.status is not DeliveryStatus.FAILED or outcome.permanent or outcome.final:
            return outcome
        job = outcome.job
        retry_at = now + self.retry.later(job.rounds)
        if retry_at >= local_day_end(job.digest_date, job.timezone):
            return outcome
        return dataclasses.replace(outcome, status=DeliveryStatus.RETRYING, retry_at=retry_at)

    def _finish(self, uow: UnitOfWork, outcomes: Sequence[Outcome]) -> list[int]:
        """The one place outcomes reach the ledger (and with them the sent papers).

        Returns the subscriptions this paused.
        """
        paused: list[int] = []
        finished = [o for o in outcomes if o.status is not DeliveryStatus.PENDING]
        uow.deliveries.finish_many(
            [
                FinishRequest(
                    o.job.delivery_id,
                    o.status,
                    o.job.channel.key,
                    message_id=o.message_id,
                    reason=o.reason,
                    paper_keys=o.job.paper_keys,
                    retry_at=o.retry_at,
                    attempts=o.job.rounds,
                )
                for o in finished
            ],
            now=self.clock(),
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
        return paused

    @staticmethod
    def _count(outcomes: Sequence[Outcome], paused: list[int], report: RunReport) -> None:
        for outcome in outcomes:
            job = outcome.job
            if outcome.status is DeliveryStatus.PENDING:
                report.unresolved += 1
            elif outcome.status is DeliveryStatus.SKIPPED:
                report.skipped += 1
                log.info(
                    "not re-sending digest %d to %s: its local day (%s) is over",
                    job.delivery_id,
                    job.channel.key,
                    job.digest_date,
                )
            elif outcome.status is DeliveryStatus.RETRYING:
                report.retrying += 1
                log.warning(
                    "digest %d to %s failed for now (%s); retrying from %s",
                    job.delivery_id,
                    job.channel.key,
                    outcome.reason,
                    outcome.retry_at.isoformat() if outcome.retry_at else "the next tick",
                )
            elif outcome.status is DeliveryStatus.SENT:
                report.sent += 1
                if job.recovering and not job.retry:
                    if outcome.recovered:
                        report.recovered += 1
                    else:
                        report.resent += 1
            else:
                report.count_failure(outcome.reason)
                log.warning(
                    "digest %d to %s failed: %s",
                    job.delivery_id,
                    job.channel.key,
                    outcome.reason or "unknown",
                )
        report.paused.extend(paused)


def _resend_job(
    uow: UnitOfWork,
    delivery: Delivery,
    sub: Subscription,
    report: RunReport,
    kind: Literal["resend", "retry"],
    *,
    day_over: bool = False,
) -> Job:
    """A job that sends an existing ledger row again, with exactly the papers it planned.

    Recovery and retries both go through `find_posted` first (`recovering=True`), so a
    post that landed unseen is never sent twice.
    """
    papers = tuple(uow.papers.get_many(list(delivery.paper_keys)))
    why, topics = _planned_notes(uow, delivery, sub, papers)
    report.planned.append(
        PlannedDigest(
            sub.id, sub.channel, delivery.digest_date, kind, papers, why=why, topics=topics
        )
    )
    return Job(
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
        weekly=sub.spec.cadence is Cadence.WEEKLY,
        why=why,
        topics=topics,
    )


def _planned_notes(
    uow: UnitOfWork, delivery: Delivery, sub: Subscription, papers: tuple[Paper, ...]
) -> tuple[tuple[str | None, ...], tuple[str | None, ...]]:
    """Each paper's "why" and topic as the ledger row kept them when it was planned.

    A row planned before the ledger kept them has none: its topics are matched again,
    lexically (a match by meaning needs the encoder), and it has no "why".
    """
    keywords = sub.spec.keywords
    planned = uow.deliveries.planned_notes(delivery.id)
    if not planned:
        lexical = LexicalTopics()
        return (), tuple(lexical.topic_of(uow, p, keywords) for p in papers) if keywords else ()
    notes = [planned.get(p.key, (None, None)) for p in papers]
    why = tuple(w for w, _ in notes) if any(w for w, _ in notes) else ()
    topics = tuple(t for _, t in notes) if keywords else ()
    return why, topics


def _expired(delivery: Delivery, sub: Subscription) -> Outcome:
    """A retry that comes too late: `failed` with its last reason, planned papers kept."""
    job = Job(
        delivery.id,
        sub.id,
        sub.channel,
        delivery.digest_date,
        (),
        sub.spec.timezone,
        retry=True,
        rounds=delivery.attempts,
        paper_keys=delivery.paper_keys,
    )
    reason = delivery.reason or "transient"
    return Outcome(job, DeliveryStatus.FAILED, reason=reason, final=True)
