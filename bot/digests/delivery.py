"""Delivering one digest to its channel: attempts, retries, backoff and pacing.

At most one post attempt per channel per interval (`ChannelPacer`); 429s wait for
Retry-After, 5xx and timeouts retry with exponential backoff and jitter (after checking
that the ambiguous attempt did not land), permanent errors fail at once. A job that is
recovered or retried first asks the platform whether it was already posted
(`MessageSink.find_posted`), so nothing is ever posted twice. Concurrency across
channels is the runner's business; this module handles one job at a time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.models import (
    ChannelRef,
    DeliveryStatus,
    Digest,
    Paper,
    PaperCard,
    Platform,
    PostResult,
)
from bot.ports import MessageSink

log = logging.getLogger(__name__)

MORE_URL = "https://huggingface.co/papers"

Sleep = Callable[[float], Awaitable[None]]
Post = Callable[[], Awaitable[PostResult]]
Find = Callable[[], Awaitable[str | None]]


def digest_title(day: date, *, weekly: bool = False) -> str:
    if weekly:
        return f"Top papers of the week · {day.strftime('%a %d %b %Y')}"
    return f"Trending papers · {day.strftime('%a %d %b %Y')}"


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


@dataclass(slots=True)
class Job:
    """One ledger row to deliver: its channel, its date and exactly the papers it planned."""

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
    weekly: bool = False  # a weekly digest (its title says so)
    # The planned papers as the ledger stores them; by default the keys of `papers`.
    paper_keys: tuple[int, ...] = ()
    # Channel taste (issue 13): one "why" per paper, parallel to `papers` (or empty).
    why: tuple[str | None, ...] = ()
    # The subscription topic each paper matched, in `papers` order (empty: no topics).
    topics: tuple[str | None, ...] = ()

    def __post_init__(self) -> None:
        if not self.paper_keys:
            self.paper_keys = tuple(p.key for p in self.papers)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a job ended in this run, before it is recorded in the ledger."""

    job: Job
    status: DeliveryStatus
    message_id: str | None = None
    reason: str | None = None
    permanent: bool = False
    recovered: bool = False
    retry_at: datetime | None = None
    final: bool = False  # recorded as is: never turned into a later retry


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one message's attempts ended: the part of an `Outcome` that is not the job."""

    status: DeliveryStatus
    message_id: str | None = None
    reason: str | None = None
    permanent: bool = False
    recovered: bool = False


class ChannelPacer:
    """At most one post attempt per channel per `interval` (Slack allows ~1 msg/s)."""

    def __init__(self, interval: float, sleep: Sleep) -> None:
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


class Attempts:
    """Runs the bounded attempts of one job against its platform's sink."""

    def __init__(
        self,
        sinks: Mapping[Platform, MessageSink],
        policy: RetryPolicy,
        pacer: ChannelPacer,
        *,
        sleep: Sleep,
        rng: random.Random,
    ) -> None:
        self.sinks = sinks
        self.policy = policy
        self.pacer = pacer
        self.sleep = sleep
        self.rng = rng

    async def find_posted(self, find: Find, delivery_id: int) -> tuple[bool, str | None]:
        """(known, message id). Not known means the platform could not be asked: posting
        then might duplicate the message, so the caller must not post."""
        for attempt in range(1, self.policy.max_attempts + 1):
            try:
                found = await asyncio.wait_for(find(), self.policy.post_timeout)
            except Exception as exc:  # lookup failures are retried; a guess could duplicate
                log.warning(
                    "find_posted for delivery %d failed (%s), attempt %d",
                    delivery_id,
                    type(exc).__name__,
                    attempt,
                    exc_info=True,
                )
                await self.sleep(self.policy.backoff(attempt, self.rng))
                continue
            return True, found
        return False, None

    async def deliver(self, job: Job) -> Outcome:
        """One digest job: its attempts through the platform's `post_digest`."""
        sink = self.sinks[job.channel.platform]
        digest = Digest(
            delivery_id=job.delivery_id,
            channel=job.channel,
            digest_date=job.digest_date,
            cards=tuple(
                PaperCard(
                    paper=p,
                    rank=i + 1,
                    why=job.why[i] if i < len(job.why) else None,
                    topic=job.topics[i] if i < len(job.topics) else None,
                )
                for i, p in enumerate(job.papers)
            ),
            title=digest_title(job.digest_date, weekly=job.weekly),
            more_url=MORE_URL,
        )
        verdict = await self.run(
            job.delivery_id,
            job.channel.key,
            lambda: sink.post_digest(digest),
            lambda: sink.find_posted(job.channel, job.delivery_id),
            recovering=job.recovering,
            day_over=job.day_over,
        )
        return Outcome(
            job,
            verdict.status,
            message_id=verdict.message_id,
            reason=verdict.reason,
            permanent=verdict.permanent,
            recovered=verdict.recovered,
        )

    async def run(
        self,
        delivery_id: int,
        channel_key: str,
        post: Post,
        find: Find,
        *,
        recovering: bool,
        day_over: bool = False,
    ) -> Verdict:
        """The bounded, paced attempts of one message (a digest or an alert message).

        `post` sends it; `find` asks the platform for an earlier post of it. A recovered
        or retried delivery (`recovering`) looks first, and never re-sends when `day_over`.
        """
        unconfirmed = Verdict(DeliveryStatus.PENDING, reason="could not check for an earlier post")
        if recovering:
            known, found = await self.find_posted(find, delivery_id)
            if found is not None:
                return Verdict(DeliveryStatus.SENT, message_id=found, recovered=True)
            if not known:
                return unconfirmed
            if day_over:
                return Verdict(DeliveryStatus.SKIPPED, reason="missed; day over")
        failures = 0
        limited = 0
        ambiguous = False
        while True:
            if ambiguous:
                # The last attempt may have been posted even though it reported an error.
                known, found = await self.find_posted(find, delivery_id)
                if found is not None:
                    return Verdict(DeliveryStatus.SENT, message_id=found)
                if not known:
                    return unconfirmed
            await self.pacer.wait(channel_key)
            try:
                result = await asyncio.wait_for(post(), self.policy.post_timeout)
            except Exception as exc:  # timeouts and transport errors are transient
                log.warning(
                    "post of delivery %d to %s raised %s",
                    delivery_id,
                    channel_key,
                    type(exc).__name__,
                    exc_info=True,
                )
                result = PostResult(ok=False, reason=f"error: {type(exc).__name__}")
            if result.ok:
                return Verdict(DeliveryStatus.SENT, message_id=result.message_id)
            if result.permanent:
                return Verdict(
                    DeliveryStatus.FAILED, reason=result.reason or "permanent", permanent=True
                )
            if result.retry_after is not None:
                limited += 1
                if limited > self.policy.max_rate_limited:
                    return Verdict(DeliveryStatus.FAILED, reason="rate_limited")
                wait = min(max(0.0, result.retry_after), self.policy.max_retry_after)
                self.pacer.hold(channel_key, wait)
                ambiguous = False
                continue
            failures += 1
            ambiguous = True
            if failures >= self.policy.max_attempts:
                # Last check before giving up, so a late success is not reported as failed.
                _, found = await self.find_posted(find, delivery_id)
                if found is not None:
                    return Verdict(DeliveryStatus.SENT, message_id=found)
                return Verdict(DeliveryStatus.FAILED, reason=result.reason or "transient")
            await self.sleep(self.policy.backoff(failures, self.rng))
