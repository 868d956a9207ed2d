"""One alert run's transactions: plan batches, recover, retry, claim, record.

- **Plan.** Each unplanned batch is locked (one planner per batch), matched against every
  alert (`bot.follow.matching.AlertIndex`, compiled once per run), and recorded as one
  `queued` delivery per channel in the same transaction; the ledger keeps each (channel,
  paper) once for ever. A crash before the commit leaves the batch unplanned.
- **Recover.** `pending` rows of dead workers are taken over; their jobs look on the
  platform first (`find_alert_posted`) and re-send only if the post never landed.
- **Retry.** Due `retrying` rows become `pending` again and take the same path.
- **Claim.** `queued` rows of the platforms this process has sinks for become `pending`
  (SKIP LOCKED on PostgreSQL), in batches.
- **Record.** Outcomes reach the ledger here only: sent, failed (nothing left to post,
  or transient for longer than `give_up_after`), retrying with a `retry_at`, or paused:
  posting to the channel failed for good, so its alerts are paused and its deliveries
  wait (`paused`) until a manager resumes them; they are queued again then, their
  papers still owed to the channel (one tried before looks on the platform before it
  posts, as a retry does: a post of it may have landed unseen).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.alerts.models import (
    AlertDelivery,
    AlertFinish,
    AlertItem,
    AlertStatus,
    ChannelPlan,
    PlannedItem,
    describe_alert,
)
from bot.digests.delivery import RetryPolicy, Verdict
from bot.follow.matching import AlertIndex, Speller
from bot.models import ChannelRef, DeliveryStatus, Paper, Platform
from bot.ports import MessageSink, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)

# A delivery whose papers all merged into ones the channel had: nothing to post, and no
# fault of the channel's.
NO_PAPERS_LEFT = "no_papers_left"


@dataclass(slots=True)
class AlertJob:
    """One delivery to post: its channel and every paper planned for it, in order."""

    delivery: AlertDelivery
    items: tuple[AlertItem, ...]
    recovering: bool = False  # look for an earlier post before posting
    rounds: int = 1

    @property
    def channel(self) -> ChannelRef:
        return self.delivery.channel


@dataclass
class AlertReport:
    """What one alert run did; logged, and printed by the CLI."""

    now: datetime
    worker: str
    batches: int = 0  # batches of new papers matched
    matched_papers: int = 0  # (channel, paper) pairs planned
    planned: int = 0  # messages planned
    sent: int = 0
    failed: int = 0  # given up; a message refused for good is held instead (below)
    retrying: int = 0
    recovered: int = 0  # found already posted after a crash
    resent: int = 0  # recovered and posted again (the post never landed)
    unresolved: int = 0  # left pending: the platform could not say whether it was posted
    failures: dict[str, int] = field(default_factory=dict)
    paused: list[str] = field(default_factory=list)  # channels paused: posting failed for good
    held: int = 0  # deliveries set aside until their paused channel is resumed
    # Per channel: deliveries this run counted as retrying, and the channels it held. A
    # channel held later in the run holds those too; they are then counted as held only.
    retrying_in: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    holding: set[str] = field(default_factory=set, repr=False, compare=False)

    def summary(self) -> str:
        parts = [
            f"{self.batches} batches",
            f"{self.matched_papers} papers for {self.planned} messages",
            f"sent {self.sent}",
            f"failed {self.failed}",
        ]
        if self.retrying:
            parts.append(f"retry later {self.retrying}")
        if self.recovered or self.resent:
            parts.append(f"recovered {self.recovered} (resent {self.resent})")
        if self.unresolved:
            parts.append(f"left pending {self.unresolved}")
        if self.paused:
            parts.append(f"paused {len(self.paused)} channels")
        if self.held:
            messages = "message waits" if self.held == 1 else "messages wait"
            parts.append(f"{self.held} {messages} for a resume")
        return "alerts: " + ", ".join(parts)

    def as_dict(self) -> dict[str, object]:
        return {
            "batches": self.batches,
            "matched_papers": self.matched_papers,
            "planned": self.planned,
            "sent": self.sent,
            "failed": self.failed,
            "retrying": self.retrying,
            "recovered": self.recovered,
            "resent": self.resent,
            "unresolved": self.unresolved,
            "failures": dict(self.failures),
            "paused": list(self.paused),
            "held": self.held,
        }


class AlertRunLedger:
    """The ledger side of alert runs for one worker; `AlertRunner` drives it."""

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
        give_up_after: timedelta,
        speller: Callable[[], Speller | None] | None = None,
    ) -> None:
        self.uow_factory = uow_factory
        self.sinks = sinks
        self.worker_id = worker_id
        self.clock = clock
        self.retry = retry
        self.is_alive = is_alive
        self.stale_after = stale_after
        self.claim_batch = claim_batch
        self.give_up_after = give_up_after
        self.speller = speller

    @property
    def platforms(self) -> list[str]:
        return [p.value for p in self.sinks]

    # ------------------------------------------------------------------------- plan phase
    def plan(self, now: datetime, report: AlertReport) -> None:
        """Match every unplanned batch, one transaction per batch."""
        index: AlertIndex | None = None
        channels: dict[str, ChannelRef] = {}
        while True:
            with self.uow_factory() as uow:
                batch = uow.alert_ledger.next_batch()
                if batch is None:
                    return
                if index is None:
                    pairs = uow.alerts.every()
                    channels = {alert.channel: channel for alert, channel in pairs}
                    speller = self.speller() if self.speller is not None else None
                    index = AlertIndex((a for a, _ in pairs), speller=speller)
                    for alert, why in index.rejected:
                        log.warning("alert %d of %s is skipped: %s", alert.id, alert.channel, why)
                papers = _batch_papers(uow, batch.paper_keys) if index.size else []
                matches = index.match(papers) if papers else {}
                plans = [
                    ChannelPlan(
                        channels[key],
                        tuple(
                            PlannedItem(m.paper.key, tuple(describe_alert(a) for a in m.alerts))
                            for m in found
                        ),
                    )
                    for key, found in matches.items()
                ]
                created = uow.alert_ledger.plan(batch, plans, worker=self.worker_id, now=now)
            report.batches += 1
            report.planned += len(created)
            report.matched_papers += sum(created.values())
            log.info(
                "alert batch %d: %d papers, %d messages planned",
                batch.id,
                len(batch.paper_keys),
                len(created),
            )

    # ----------------------------------------------------------- recover / retry / claim
    def _other_alive(self, worker: str) -> bool:
        # Our own pending rows are orphans of an earlier run: a runner's runs never overlap.
        return worker != self.worker_id and self.is_alive is not None and self.is_alive(worker)

    def recover(self, now: datetime) -> list[AlertJob]:
        with self.uow_factory() as uow:
            stale = uow.alert_ledger.reclaim_stale(
                worker=self.worker_id,
                now=now,
                older_than=now - self.stale_after,  # claimed_at is the claimer's `now` too
                is_alive=self._other_alive if self.is_alive else None,
                platforms=self.platforms,
            )
            for delivery in stale:
                log.info(
                    "recovering pending alert delivery %d (%s) left by %s",
                    delivery.id,
                    delivery.channel.key,
                    delivery.claimed_by,
                )
            return self._jobs(uow, stale, recovering=True)

    def take_retries(self, now: datetime) -> list[AlertJob]:
        with self.uow_factory() as uow:
            taken = uow.alert_ledger.take_retries(
                worker=self.worker_id, now=now, platforms=self.platforms
            )
            return self._jobs(uow, taken, recovering=True)

    def claim(self, now: datetime) -> tuple[list[AlertJob], bool]:
        """One batch of queued deliveries for this worker. Returns (jobs, more?)."""
        with self.uow_factory() as uow:
            claimed = uow.alert_ledger.claim(
                worker=self.worker_id, now=now, platforms=self.platforms, limit=self.claim_batch
            )
            return self._jobs(uow, claimed, recovering=False), len(claimed) >= self.claim_batch

    @staticmethod
    def _jobs(
        uow: UnitOfWork, deliveries: Sequence[AlertDelivery], *, recovering: bool
    ) -> list[AlertJob]:
        """Jobs of `deliveries`; a queued one tried before (held while its channel was
        paused, then released) looks on the platform first like a retry: a post of it may
        have landed unseen."""
        if not deliveries:
            return []
        items = uow.alert_ledger.items_many([d.id for d in deliveries])
        keys = list(dict.fromkeys(k for found in items.values() for k, _ in found))
        papers = {p.key: p for p in uow.papers.get_many(keys)}
        jobs = []
        for delivery in deliveries:
            listed = tuple(
                AlertItem(papers[k], alerts) for k, alerts in items[delivery.id] if k in papers
            )
            looks = recovering or delivery.attempts > 0
            jobs.append(AlertJob(delivery, listed, looks, delivery.attempts + 1))
        return jobs

    # ----------------------------------------------------------------------- record phase
    def record(
        self, outcomes: Sequence[tuple[AlertJob, Verdict]], now: datetime, report: AlertReport
    ) -> None:
        finishes: list[AlertFinish] = []
        for job, verdict in outcomes:
            finish = self._finish(job, verdict, now)
            if finish is not None:
                finishes.append(finish)
        paused: set[str] = set()
        held = 0
        with self.uow_factory() as uow:
            uow.alert_ledger.finish_many(finishes, now=self.clock())
            # A permanent failure (the channel is gone, archived, or the bot was removed)
            # pauses the channel's alerts: each later batch would fail there again. The
            # failed delivery waits (`_finish`), and so do the channel's other queued ones.
            failing: dict[str, tuple[ChannelRef, Verdict]] = {}
            for job, verdict in outcomes:
                if _fails_for_good(verdict):
                    failing.setdefault(job.channel.key, (job.channel, verdict))
            for channel, verdict in failing.values():
                if uow.alerts.pause(channel, verdict.reason or "unknown", now=now):
                    paused.add(channel.key)
                held += uow.alert_ledger.hold(channel, now=now)
            # A channel this run held already holds a message of it that failed for a
            # while only since (recorded later): it is not retried into a paused channel.
            retrying = {f.delivery_id for f in finishes if f.status is AlertStatus.RETRYING}
            late = {
                job.channel.key: job.channel
                for job, _ in outcomes
                if job.delivery.id in retrying
                and job.channel.key in report.holding
                and job.channel.key not in failing
            }
            for key, channel in list(late.items()):
                if uow.alerts.paused(channel) is None:  # resumed meanwhile: it retries
                    del late[key]
                else:
                    held += uow.alert_ledger.hold(channel, now=now)
        # Counted once committed, so the report never claims more than the ledger holds:
        # a message this run counted as retrying and the channel's hold has moved counts
        # as held only.
        holding = failing.keys() | late.keys()
        report.held += held
        report.holding |= holding
        for key in holding:
            report.retrying -= report.retrying_in.pop(key, 0)
        for job, verdict in outcomes:
            self._count(job, verdict, now, report, paused, holding)

    def _gives_up(self, job: AlertJob, now: datetime) -> bool:
        return now + self.retry.later(job.rounds) - job.delivery.created_at > self.give_up_after

    def _finish(self, job: AlertJob, verdict: Verdict, now: datetime) -> AlertFinish | None:
        delivery_id = job.delivery.id
        if verdict.status is DeliveryStatus.SENT:
            return AlertFinish(
                delivery_id, AlertStatus.SENT, verdict.message_id, attempts=job.rounds
            )
        if verdict.status is DeliveryStatus.PENDING:
            return None  # unresolved: stays pending for the next run to look again
        if _fails_for_good(verdict):
            return AlertFinish(
                delivery_id, AlertStatus.PAUSED, reason=verdict.reason, attempts=job.rounds
            )
        if verdict.permanent or self._gives_up(job, now):
            return AlertFinish(
                delivery_id, AlertStatus.FAILED, reason=verdict.reason, attempts=job.rounds
            )
        return AlertFinish(
            delivery_id,
            AlertStatus.RETRYING,
            reason=verdict.reason,
            retry_at=now + self.retry.later(job.rounds),
            attempts=job.rounds,
        )

    def _count(
        self,
        job: AlertJob,
        verdict: Verdict,
        now: datetime,
        report: AlertReport,
        paused: set[str],
        holding: Collection[str],
    ) -> None:
        status = verdict.status
        if status is DeliveryStatus.SENT:
            report.sent += 1
            if job.recovering:
                if verdict.recovered:
                    report.recovered += 1
                else:
                    report.resent += 1
        elif status is DeliveryStatus.PENDING:
            report.unresolved += 1
        elif verdict.permanent or self._gives_up(job, now):
            reason = verdict.reason or "unknown"
            report.failures[reason] = report.failures.get(reason, 0) + 1
            # A refused message is not given up: it waits for its channel's resume, so it
            # is counted once, as held, and not as failed too.
            if _fails_for_good(verdict):
                report.held += 1
            else:
                report.failed += 1
            if job.channel.key in paused:
                paused.discard(job.channel.key)  # one line per channel paused
                report.paused.append(job.channel.key)
                log.warning(
                    "alerts of %s paused: posting there failed for good (%s, delivery %d); "
                    "its messages wait; a manager adding an alert there resumes them",
                    job.channel.key,
                    reason,
                    job.delivery.id,
                )
            else:
                log.warning(
                    "alert delivery %d to %s failed: %s", job.delivery.id, job.channel.key, reason
                )
        elif job.channel.key not in holding:  # else held with its channel, counted so
            report.retrying += 1
            report.retrying_in[job.channel.key] = report.retrying_in.get(job.channel.key, 0) + 1


def _batch_papers(uow: UnitOfWork, keys: Sequence[int]) -> list[Paper]:
    """The papers of a batch, each once. A key merged away since the batch was read names
    its survivor: a merge committing while the batch was queued (uncommitted, so the merge
    did not rewrite it) leaves the batch naming the merged-away key."""
    found = {p.key: p for p in uow.papers.get_many(list(keys))}
    papers: dict[int, Paper] = {}
    for key in keys:
        paper = found[key] if key in found else uow.papers.get(key)
        if paper is not None:
            papers.setdefault(paper.key, paper)
    return list(papers.values())


def _fails_for_good(verdict: Verdict) -> bool:
    """The channel refused the post for good (not a delivery left with nothing to post)."""
    return (
        verdict.permanent
        and verdict.status not in (DeliveryStatus.SENT, DeliveryStatus.PENDING)
        and verdict.reason != NO_PAPERS_LEFT
    )


def enqueue_new_papers(
    uow_factory: UnitOfWorkFactory, *, since: datetime, now: datetime
) -> int | None:
    """After an ingest run has committed: one batch of the papers it brought (first seen
    at or after `since`, its start). Returns the batch id, or None when nothing was new."""
    with uow_factory() as uow:
        batch = uow.alert_ledger.enqueue_new(first_seen_since=since, now=now)
    if batch is None:
        return None
    log.info("alert batch %d: %d new papers", batch.id, len(batch.paper_keys))
    return batch.id
