"""Engine-level tests of `DigestRunner` with a scripted fake sink, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.commands.core import describe_subscription
from bot.digests.delivery import RetryPolicy
from bot.digests.planning import plan_occurrence, window_calendar_days
from bot.digests.runner import DigestRunner
from bot.digests.schedule import next_run_after
from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    Digest,
    Platform,
    PostResult,
    SubscriptionSpec,
)
from bot.testing.fakes import (
    ALL_DAYS,
    FakeDatabase,
    FakeSink,
    FakeUnitOfWork,
    seed_papers,
    subscribe,
)
from storage.db import Database
from tests.storage.helpers import set_next_run


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    """The core against the in-memory fakes, and against the real database on both backends."""
    return db_or_fake


FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
CREATED = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # a Monday
TUESDAY_0905 = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)


def runner(db: Database, sink: FakeSink, worker: str = "w1", **kw: object) -> DigestRunner:
    return DigestRunner(
        db.uow,
        {Platform.SLACK: sink},
        worker_id=worker,
        per_channel_interval=0.0,
        retry=FAST,
        **kw,  # type: ignore[arg-type]
    )


async def test_each_due_channel_gets_one_digest_and_a_second_run_posts_nothing(
    db: Database,
) -> None:
    seed_papers(db, TUESDAY_0905.date())
    subs = [subscribe(db, f"C{i}", created=CREATED) for i in range(4)]
    sink = FakeSink()
    report = await runner(db, sink).run_due(TUESDAY_0905)
    assert report.sent == 4 and report.failed == 0
    for sub in subs:
        assert sink.count(sub.channel) == 1
        digest = sink.delivered[sub.channel.key][0]
        assert len(digest.cards) == 5
        assert digest.digest_date == date(2026, 3, 10)
        assert "Tue 10 Mar 2026" in digest.title and digest.more_url
    again = await runner(db, sink, worker="w2").run_due(TUESDAY_0905)
    assert again.sent == 0
    assert all(sink.count(s.channel) == 1 for s in subs)
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == 4
        nxt = uow.subscriptions.get(subs[0].id)
        assert nxt is not None and nxt.next_run_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


async def test_next_day_digest_repeats_no_paper(db: Database) -> None:
    seed_papers(db, date(2026, 3, 11), per_day=4)
    sub = subscribe(db, "C1", created=CREATED)
    sink = FakeSink()
    await runner(db, sink).run_due(TUESDAY_0905)
    await runner(db, sink).run_due(TUESDAY_0905 + timedelta(days=1))
    first, second = sink.delivered[sub.channel.key]
    assert first.digest_date != second.digest_date
    first_keys = {c.paper.key for c in first.cards}
    second_keys = {c.paper.key for c in second.cards}
    assert second_keys and not first_keys & second_keys


async def test_keywords_and_min_upvotes_filter_and_nothing_qualifying_is_empty(
    db: Database,
) -> None:
    seed_papers(db, TUESDAY_0905.date())
    diff = subscribe(db, "C1", created=CREATED, keywords=("difusion",), top_n=3)
    none = subscribe(db, "C2", created=CREATED, keywords=("quantum gravity",))
    high = subscribe(db, "C3", created=CREATED, min_upvotes=40)
    sink = FakeSink()
    report = await runner(db, sink).run_due(TUESDAY_0905)
    assert report.sent == 2 and report.empty == 1
    cards = sink.delivered[diff.channel.key][0].cards
    assert len(cards) == 3 and all("diffusion" in c.paper.title for c in cards)
    assert sink.count(none.channel) == 0
    assert all((c.paper.upvotes or 0) >= 40 for c in sink.delivered[high.channel.key][0].cards)
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.EMPTY) == 1


async def test_catch_up_same_local_day_but_skip_when_the_day_is_over(db: Database) -> None:
    seed_papers(db, date(2026, 3, 11))
    tokyo = subscribe(db, "C1", created=CREATED, tz="Asia/Tokyo")  # 09:00 JST = 00:00Z
    utc = subscribe(db, "C2", created=CREATED)
    sink = FakeSink()
    # Down since before Tuesday 09:00 UTC; back at 23:30 UTC, which is still Tuesday in UTC
    # but already Wednesday 08:30 in Tokyo, before Wednesday's 09:00 digest there.
    report = await runner(db, sink).run_due(datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    assert sink.count(utc.channel) == 1
    assert sink.delivered[utc.channel.key][0].digest_date == date(2026, 3, 10)
    assert sink.count(tokyo.channel) == 0 and report.skipped == 1
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SKIPPED) == 1
        t = uow.subscriptions.get(tokyo.id)
        assert t is not None and t.next_run_at == datetime(2026, 3, 11, 0, 0, tzinfo=UTC)


def test_plan_occurrence_delivers_only_the_latest_missed_day() -> None:
    spec = SubscriptionSpec(
        channel=ChannelRef(Platform.CONSOLE, "c"), at=time(9, 0), timezone="UTC", weekdays=ALL_DAYS
    )
    start = datetime(2026, 3, 7, 9, 0, tzinfo=UTC)
    occ = plan_occurrence(spec, start, datetime(2026, 3, 10, 10, 0, tzinfo=UTC))
    assert occ.deliver == date(2026, 3, 10)
    assert occ.skipped == (date(2026, 3, 7), date(2026, 3, 8), date(2026, 3, 9))
    assert occ.next_run_at == datetime(2026, 3, 11, 9, 0, tzinfo=UTC)


def test_weekend_window_reaches_back_to_cover_weekdays() -> None:
    assert window_calendar_days(date(2026, 3, 11), 3) == 3  # Wed: Mon-Wed
    assert window_calendar_days(date(2026, 3, 9), 3) == 5  # Mon: Thu, Fri, (Sat, Sun), Mon


async def test_berlin_0900_fires_at_0800z_in_winter_and_0700z_in_summer(db: Database) -> None:
    winter_day = datetime(2026, 1, 14, 6, 0, tzinfo=UTC)
    summer_day = datetime(2026, 7, 15, 6, 0, tzinfo=UTC)
    seed_papers(db, date(2026, 1, 14), days=3)
    seed_papers(db, date(2026, 7, 15), days=3)
    sub = subscribe(db, "C1", tz="Europe/Berlin", created=winter_day)
    assert sub.next_run_at == datetime(2026, 1, 14, 8, 0, tzinfo=UTC)
    sink = FakeSink()
    early = await runner(db, sink).run_due(datetime(2026, 1, 14, 7, 59, tzinfo=UTC))
    assert early.sent == 0
    assert (await runner(db, sink).run_due(datetime(2026, 1, 14, 8, 0, tzinfo=UTC))).sent == 1
    with db.uow() as uow:
        set_next_run(uow, sub.id, next_run_after(sub.spec, summer_day))
        moved = uow.subscriptions.get(sub.id)
    assert moved is not None and moved.next_run_at == datetime(2026, 7, 15, 7, 0, tzinfo=UTC)
    assert (await runner(db, sink).run_due(datetime(2026, 7, 15, 6, 59, tzinfo=UTC))).sent == 0
    assert (await runner(db, sink).run_due(datetime(2026, 7, 15, 7, 0, tzinfo=UTC))).sent == 1
    assert [d.digest_date for d in sink.delivered[sub.channel.key]] == [
        date(2026, 1, 14),
        date(2026, 7, 15),
    ]


async def test_three_permanent_failures_in_a_row_pause_the_subscription(db: Database) -> None:
    seed_papers(db, date(2026, 3, 13))
    sub = subscribe(db, "C1", created=CREATED)
    gone = FakeSink(lambda d, n: PostResult(ok=False, reason="channel_not_found", permanent=True))
    for day in range(3):
        report = await runner(db, gone).run_due(TUESDAY_0905 + timedelta(days=day))
        assert report.failed == 1 and report.failures == {"channel_not_found": 1}
        assert gone.attempts[sub.channel.key] == day + 1  # permanent errors are not retried
    assert report.paused == [sub.id]
    with db.uow() as uow:
        paused = uow.subscriptions.get(sub.id)
        assert paused is not None and paused.paused
        assert uow.subscriptions.count_paused() == 1  # type: ignore[attr-defined]
        assert uow.deliveries.count(DeliveryStatus.FAILED) == 3
    assert "PAUSED (channel_not_found)" in describe_subscription(paused)
    assert (await runner(db, FakeSink()).run_due(TUESDAY_0905 + timedelta(days=3))).sent == 0


async def test_success_resets_the_permanent_failure_count(db: Database) -> None:
    seed_papers(db, date(2026, 3, 13))
    sub = subscribe(db, "C1", created=CREATED)
    gone = FakeSink(lambda d, n: PostResult(ok=False, reason="not_in_channel", permanent=True))
    await runner(db, gone).run_due(TUESDAY_0905)
    await runner(db, gone).run_due(TUESDAY_0905 + timedelta(days=1))
    await runner(db, FakeSink()).run_due(TUESDAY_0905 + timedelta(days=2))
    await runner(db, gone).run_due(TUESDAY_0905 + timedelta(days=3))
    with db.uow() as uow:
        after = uow.subscriptions.get(sub.id)
        assert after is not None and not after.paused and after.consecutive_failures == 1


async def test_429_and_5xx_retry_until_exactly_one_digest_lands(db: Database) -> None:
    seed_papers(db, TUESDAY_0905.date())
    subs = [subscribe(db, f"C{i}", created=CREATED) for i in range(10)]

    def flaky(digest: Digest, attempt: int) -> PostResult | str | None:
        if attempt == 1:
            return PostResult(ok=False, reason="ratelimited", retry_after=0.01)
        if attempt == 2:
            return PostResult(ok=False, reason="http_500")
        if attempt == 3 and digest.channel.channel in {"C1", "C2"}:
            return "land-then-500"  # posted, but reported as failed
        return None

    sink = FakeSink(flaky)
    report = await runner(db, sink).run_due(TUESDAY_0905)
    assert report.sent == 10 and report.failed == 0
    assert all(sink.count(s.channel) == 1 for s in subs)


async def test_transient_failures_give_up_after_bounded_retries(db: Database) -> None:
    seed_papers(db, TUESDAY_0905.date())
    sub = subscribe(db, "C1", created=CREATED)
    down = FakeSink(lambda d, n: PostResult(ok=False, reason="http_503"))
    report = await runner(db, down).run_due(TUESDAY_0905)
    # Not terminal: the run gives up, and leaves the day's digest to a later tick.
    assert report.failed == 0 and report.retrying == 1
    assert down.attempts[sub.channel.key] == FAST.max_attempts
    with db.uow() as uow:
        again = uow.subscriptions.get(sub.id)
        assert again is not None and not again.paused and again.consecutive_failures == 0
        (row,) = _deliveries(uow)
        assert row.status is DeliveryStatus.RETRYING and row.reason == "http_503"
        assert row.retry_at == TUESDAY_0905 + timedelta(seconds=FAST.later_delay)
        assert row.attempts == 1 and len(row.paper_keys) == 5


def _deliveries(uow: object) -> list[Delivery]:
    """Every ledger row, oldest first (the ports have no listing; read the table)."""
    from sqlalchemy import select

    from storage.deliveries import to_delivery
    from storage.tables import DeliveryRow

    if isinstance(uow, FakeUnitOfWork):
        return uow.deliveries.rows()
    session = uow.session  # type: ignore[attr-defined]
    return [to_delivery(r) for r in session.scalars(select(DeliveryRow).order_by(DeliveryRow.id))]


class LaggingSink(FakeSink):
    """A Slack-like sink during an outage: posts fail with 503 while `down`; while
    `history_lags`, `find_posted` does not yet see messages that did land."""

    def __init__(self) -> None:
        super().__init__(self._behave)
        self.down = True
        self.history_lags = False
        self.land_last_attempt = False
        self.tried: list[Digest] = []

    def _behave(self, digest: Digest, attempt: int) -> PostResult | str | None:
        self.tried.append(digest)
        if not self.down:
            return None
        if self.land_last_attempt and attempt == FAST.max_attempts:
            return "land-then-500"
        return PostResult(ok=False, reason="http_503")

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        if self.history_lags:
            self.lookups += 1
            return None
        return await super().find_posted(channel, delivery_id)


async def test_transient_failure_is_retried_on_a_later_tick_the_same_day_exactly_once(
    db: Database,
) -> None:
    seed_papers(db, TUESDAY_0905.date())
    subs = [subscribe(db, f"C{i}", created=CREATED) for i in range(6)]
    sink = LaggingSink()
    first = await runner(db, sink).run_due(TUESDAY_0905)
    assert first.retrying == 6 and first.failed == 0 and first.sent == 0
    planned = {d.channel.key: [c.paper.key for c in d.cards] for d in sink.tried}
    # A tick before `retry_at` leaves the rows alone.
    early = await runner(db, sink, worker="w2").run_due(TUESDAY_0905 + timedelta(minutes=1))
    assert early.retried == 0 and sum(sink.attempts.values()) == 6 * FAST.max_attempts
    sink.down = False
    lookups = sink.lookups
    # Three replicas tick at once after the outage: each channel still gets one digest.
    later = TUESDAY_0905 + timedelta(seconds=FAST.later_delay)
    reports = await asyncio.gather(
        *(runner(db, sink, worker=f"r{i}").run_due(later) for i in range(3))
    )
    assert sum(r.retried for r in reports) == 6 and sum(r.sent for r in reports) == 6
    assert sink.lookups >= lookups + 6  # each resolved via find_posted before the resend
    for sub in subs:
        (digest,) = sink.delivered[sub.channel.key]
        assert digest.digest_date == TUESDAY_0905.date()
        assert [c.paper.key for c in digest.cards] == planned[sub.channel.key]
    again = await runner(db, sink, worker="w4").run_due(later + timedelta(minutes=30))
    assert again.sent == 0 and again.retried == 0
    assert all(sink.count(s.channel) == 1 for s in subs)
    with db.uow() as uow:
        rows = _deliveries(uow)
        assert [r.status for r in rows] == [DeliveryStatus.SENT] * 6
        assert all(r.attempts == 2 and r.retry_at is None for r in rows)
        assert len(uow.deliveries.sent_paper_keys(subs[0].channel)) == 5


async def test_a_retry_finds_a_post_that_landed_unseen_and_does_not_post_again(
    db: Database,
) -> None:
    seed_papers(db, TUESDAY_0905.date())
    sub = subscribe(db, "C1", created=CREATED)
    sink = LaggingSink()
    sink.land_last_attempt = sink.history_lags = True  # landed, but history lags behind
    assert (await runner(db, sink).run_due(TUESDAY_0905)).retrying == 1
    assert sink.count(sub.channel) == 1
    sink.down = sink.history_lags = False
    later = TUESDAY_0905 + timedelta(seconds=FAST.later_delay)
    report = await runner(db, sink, worker="w2").run_due(later)
    assert report.retried == 1 and report.sent == 1
    assert sink.count(sub.channel) == 1 and sink.attempts[sub.channel.key] == FAST.max_attempts
    with db.uow() as uow:
        (row,) = _deliveries(uow)
        assert row.status is DeliveryStatus.SENT and row.message_id is not None


async def test_retries_back_off_and_stop_when_the_local_day_is_over(db: Database) -> None:
    seed_papers(db, date(2026, 3, 11))
    # 09:00 in Tokyo is 00:00Z; Tokyo's Tuesday ends at 15:00Z, still Tuesday in UTC.
    sub = subscribe(db, "C1", created=CREATED, tz="Asia/Tokyo")
    sink = LaggingSink()
    start = datetime(2026, 3, 10, 0, 5, tzinfo=UTC)
    assert (await runner(db, sink).run_due(start)).retrying == 1
    second = start + timedelta(seconds=FAST.later_delay)
    assert (await runner(db, sink).run_due(second)).retrying == 1
    with db.uow() as uow:
        (row,) = _deliveries(uow)
        assert row.attempts == 2
        assert row.retry_at == second + timedelta(seconds=2 * FAST.later_delay)
    # The outage is over, but so is the digest's local day: no late Tuesday digest.
    sink.down = False
    report = await runner(db, sink).run_due(datetime(2026, 3, 10, 15, 5, tzinfo=UTC))
    assert report.retried == 0 and report.sent == 0
    assert report.failed == 1 and report.failures == {"http_503": 1}
    assert sink.count(sub.channel) == 0
    with db.uow() as uow:
        (row,) = _deliveries(uow)
        assert row.status is DeliveryStatus.FAILED and row.reason == "http_503"
        assert len(row.paper_keys) == 5
        after = uow.subscriptions.get(sub.id)
        assert after is not None and not after.paused and after.consecutive_failures == 0
    # Wednesday's digest goes out as usual.
    wednesday = await runner(db, sink).run_due(datetime(2026, 3, 11, 0, 5, tzinfo=UTC))
    assert wednesday.sent == 1 and wednesday.failed == 0
    assert [d.digest_date for d in sink.delivered[sub.channel.key]] == [date(2026, 3, 11)]


async def test_a_transient_failure_too_late_in_the_day_fails_at_once(db: Database) -> None:
    seed_papers(db, TUESDAY_0905.date())
    sub = subscribe(db, "C1", created=CREATED, at=time(23, 57))
    sink = LaggingSink()
    report = await runner(db, sink).run_due(datetime(2026, 3, 10, 23, 58, tzinfo=UTC))
    assert report.failed == 1 and report.retrying == 0 and report.failures == {"http_503": 1}
    sink.down = False
    nxt = await runner(db, sink).run_due(datetime(2026, 3, 11, 0, 5, tzinfo=UTC))
    assert nxt.retried == 0 and sink.count(sub.channel) == 0
    with db.uow() as uow:
        (row,) = _deliveries(uow)
        assert row.status is DeliveryStatus.FAILED and row.reason == "http_503"


async def test_pending_rows_of_a_dead_worker_are_resolved_before_any_resend(
    db: Database,
) -> None:
    seed_papers(db, TUESDAY_0905.date())
    landed = subscribe(db, "C1", created=CREATED)
    lost = subscribe(db, "C2", created=CREATED)
    sink = FakeSink()

    class Crash(BaseException):
        pass

    calls = 0

    async def post_then_die(digest: Digest) -> PostResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            await FakeSink.post_digest(sink, digest)
        raise Crash  # the process "dies" just after the first post reached its channel

    crashing = FakeSink()
    crashing.post_digest = post_then_die  # type: ignore[method-assign]
    crashing.delivered = sink.delivered
    with pytest.raises(Crash):
        await runner(db, crashing, concurrency=1).run_due(TUESDAY_0905)
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.PENDING) == 2
    # The old worker is alive: nothing may be touched.
    alive = await runner(db, sink, worker="w2", is_alive=lambda w: True).run_due(TUESDAY_0905)
    assert alive.sent == 0 and alive.recovered == 0
    dead = await runner(db, sink, worker="w3", is_alive=lambda w: False).run_due(TUESDAY_0905)
    assert dead.recovered == 1 and dead.resent == 1
    assert sink.count(landed.channel) == 1 and sink.count(lost.channel) == 1
    first = sink.delivered[landed.channel.key][0]
    second = sink.delivered[lost.channel.key][0]
    assert len(first.cards) == len(second.cards) == 5
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == 2
        assert uow.deliveries.count(DeliveryStatus.PENDING) == 0
        assert len(uow.deliveries.sent_paper_keys(landed.channel)) == 5


async def test_concurrent_runners_in_one_process_deliver_once(db: Database) -> None:
    seed_papers(db, TUESDAY_0905.date())
    subs = [subscribe(db, f"C{i}", created=CREATED) for i in range(40)]
    sink = FakeSink()
    runners = [runner(db, sink, worker=f"w{i}", claim_batch=7) for i in range(3)]
    reports = await asyncio.gather(*(r.run_due(TUESDAY_0905) for r in runners))
    assert sum(r.sent for r in reports) == 40
    assert all(sink.count(s.channel) == 1 for s in subs)


async def test_dry_run_writes_nothing(db: Database) -> None:
    seed_papers(db, TUESDAY_0905.date())
    sub = subscribe(db, "C1", created=CREATED)
    sink = FakeSink()
    report = await runner(db, sink).run_due(TUESDAY_0905, dry_run=True)
    assert [p.action for p in report.planned] == ["send"]
    assert len(report.planned[0].papers) == 5
    assert sink.attempts == {}
    with db.uow() as uow:
        assert uow.deliveries.count() == 0
        again = uow.subscriptions.get(sub.id)
        assert again is not None and again.next_run_at == sub.next_run_at


async def test_a_crashed_digest_found_the_next_day_is_not_resent_nor_repeated(
    db: Database,
) -> None:
    seed_papers(db, date(2026, 3, 11))
    landed = subscribe(db, "C1", created=CREATED)
    lost = subscribe(db, "C2", created=CREATED)
    sink = FakeSink()

    class Crash(BaseException):
        pass

    calls = 0

    async def post_then_die(digest: Digest) -> PostResult:
        nonlocal calls
        calls += 1
        if calls == 1:
            await FakeSink.post_digest(sink, digest)
        raise Crash  # the first post reached its channel, then the process died

    crashing = FakeSink()
    crashing.post_digest = post_then_die  # type: ignore[method-assign]
    crashing.delivered = sink.delivered
    with pytest.raises(Crash):
        await runner(db, crashing, concurrency=1).run_due(TUESDAY_0905)
    (tuesday,) = sink.delivered[landed.channel.key]
    # Back on Wednesday after 09:00: Tuesday's pending rows are resolved first.
    report = await runner(db, sink, worker="w2", is_alive=lambda w: False).run_due(
        TUESDAY_0905 + timedelta(days=1)
    )
    assert report.recovered == 1 and report.resent == 0 and report.skipped == 1
    assert report.sent == 3  # the landed Tuesday digest, and both Wednesday digests
    wednesday = sink.delivered[landed.channel.key][1]
    assert wednesday.digest_date == date(2026, 3, 11)
    assert not {c.paper.key for c in tuesday.cards} & {c.paper.key for c in wednesday.cards}
    # The lost Tuesday digest is not posted a day late; Wednesday's is.
    assert [d.digest_date for d in sink.delivered[lost.channel.key]] == [date(2026, 3, 11)]
    with db.uow() as uow:
        statuses = sorted(r.status.value for r in _deliveries(uow))
        assert statuses == ["sent", "sent", "sent", "skipped"]
