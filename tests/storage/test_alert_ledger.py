"""`storage.alert_ledger.SqlAlertLedger` on SQLite and PostgreSQL: batches, planning with
each paper once per channel, claims, outcomes, retries, recovery of stale rows, and on
PostgreSQL two claimers splitting the queue with SKIP LOCKED."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.alerts.models import AlertBatch, AlertFinish, AlertStatus, ChannelPlan, PlannedItem
from bot.models import ChannelRef, PaperRecord, Platform
from storage.db import Database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
SLACK = [ChannelRef(Platform.SLACK, f"C{i}", "T1") for i in range(4)]
DISCORD = ChannelRef(Platform.DISCORD, "700", "800")


@pytest.fixture
def postgres_db(postgres_url: str) -> Iterator[Database]:
    """Only for the tests of row locks; the others take `db` (SQLite, then PostgreSQL)."""
    database = Database(postgres_url)
    database.upgrade()
    try:
        yield database
    finally:
        database.dispose()


def store(db: Database, first: int, count: int, at: datetime) -> list[int]:
    """`count` papers first seen at `at`; their keys."""
    records = [
        PaperRecord(
            title=f"Paper {n}",
            source="test",
            paper_id=f"2603.{n:05d}",
            published=date(2026, 3, 9),
        )
        for n in range(first, first + count)
    ]
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=at)
        return sorted(p.key for p in uow.papers.get_many(list(range(1, 10_000))))[-count:]


def batch_of(db: Database, at: datetime) -> AlertBatch:
    with db.uow() as uow:
        batch = uow.alert_ledger.enqueue_new(first_seen_since=at, now=at)
    assert batch is not None
    return batch


def plan(
    db: Database, batch: AlertBatch, plans: dict[ChannelRef, list[int]], worker: str = "w1"
) -> dict[int, int]:
    channel_plans = [
        ChannelPlan(ch, tuple(PlannedItem(k, (f"search “{ch.channel}”",)) for k in keys))
        for ch, keys in plans.items()
    ]
    with db.uow() as uow:
        return uow.alert_ledger.plan(batch, channel_plans, worker=worker, now=batch.created_at)


def test_enqueue_takes_the_papers_first_seen_since_the_run_started(db: Database) -> None:
    with db.uow() as uow:
        assert uow.alert_ledger.enqueue_new(first_seen_since=T0, now=T0) is None
    store(db, 1, 2, T0 - timedelta(days=1))
    new = store(db, 10, 3, T0)
    batch = batch_of(db, T0)
    assert batch.paper_keys == tuple(sorted(new)) and batch.created_at == T0
    # Seen again later: still not new.
    store(db, 10, 3, T0 + timedelta(hours=1))
    with db.uow() as uow:
        assert (
            uow.alert_ledger.enqueue_new(first_seen_since=T0 + timedelta(minutes=1), now=T0) is None
        )
        assert uow.alert_ledger.next_batch() == batch


def test_planning_keeps_each_paper_once_per_channel(db: Database) -> None:
    keys = store(db, 1, 4, T0)
    first = batch_of(db, T0)
    a, b = SLACK[0], SLACK[1]
    counts = plan(db, first, {a: keys[:2], b: keys[:1]})
    assert sorted(counts.values()) == [1, 2]
    with db.uow() as uow:
        assert uow.alert_ledger.next_batch() is None  # planned
        items = uow.alert_ledger.items_many(list(counts))
    by_count = {len(v): v for v in items.values()}
    assert by_count[2] == [(keys[0], ("search “C0”",)), (keys[1], ("search “C0”",))]

    # A later batch holding papers channel a already had: only the new one goes to a;
    # a message all of whose papers the channel had is not created at all.
    later = T0 + timedelta(hours=1)
    keys += store(db, 20, 1, later)
    with db.uow() as uow:
        second = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=later)
    assert second is not None
    counts = plan(db, second, {a: [keys[0], keys[4]], b: [keys[0]]})
    (delivery_id,) = counts
    assert counts == {delivery_id: 1}
    with db.uow() as uow:
        assert uow.alert_ledger.items_many([delivery_id])[delivery_id] == [
            (keys[4], ("search “C0”",))
        ]
        delivery = uow.alert_ledger.get(delivery_id)
        assert delivery is not None and delivery.channel == a
        assert delivery.status is AlertStatus.QUEUED and delivery.batch_id == second.id
        assert uow.alert_ledger.count() == 3
        assert uow.alert_ledger.count(AlertStatus.QUEUED) == 3


def test_a_second_planner_of_the_same_batch_adds_nothing(db: Database) -> None:
    keys = store(db, 1, 2, T0)
    batch = batch_of(db, T0)
    assert len(plan(db, batch, {SLACK[0]: keys})) == 1
    # Channel 0 already has this batch's message; only channel 1's is new.
    again = plan(db, batch, {SLACK[0]: keys, SLACK[1]: keys}, worker="w2")
    assert list(again.values()) == [2]
    with db.uow() as uow:
        assert uow.alert_ledger.count() == 2
        (delivery_id,) = again
        delivery = uow.alert_ledger.get(delivery_id)
        assert delivery is not None and delivery.channel == SLACK[1]


def test_claim_finish_retry_and_recover(db: Database) -> None:
    keys = store(db, 1, 1, T0)
    batch = batch_of(db, T0)
    plan(db, batch, {ch: keys for ch in [*SLACK, DISCORD]})
    with db.uow() as uow:
        first = uow.alert_ledger.claim(worker="w1", now=T0, platforms=["slack"], limit=3)
        rest = uow.alert_ledger.claim(worker="w1", now=T0, platforms=["slack"], limit=3)
        assert [d.channel for d in first] == SLACK[:3] and [d.channel for d in rest] == SLACK[3:]
        assert all(d.status is AlertStatus.PENDING and d.claimed_by == "w1" for d in first)
        assert uow.alert_ledger.count(AlertStatus.QUEUED) == 1  # Discord's, no sink here
    sent, retry, failed, left = first[0].id, first[1].id, first[2].id, rest[0].id
    retry_at = T0 + timedelta(minutes=5)
    outcomes = [
        AlertFinish(sent, AlertStatus.SENT, message_id="1.0001", attempts=1),
        AlertFinish(retry, AlertStatus.RETRYING, reason="rate_limited", retry_at=retry_at),
        AlertFinish(failed, AlertStatus.FAILED, reason="channel_not_found", attempts=2),
    ]
    with db.uow() as uow:
        assert uow.alert_ledger.finish_many(outcomes, now=T0) == 3
        # Only pending rows change: finishing again is a no-op.
        assert uow.alert_ledger.finish_many(outcomes, now=T0) == 0
    with db.uow() as uow:
        done = uow.alert_ledger.get(sent)
        assert done is not None and done.status is AlertStatus.SENT
        assert (done.message_id, done.attempts) == ("1.0001", 1)
        waiting = uow.alert_ledger.get(retry)
        assert waiting is not None and waiting.retry_at == retry_at and waiting.attempts == 0
        gone = uow.alert_ledger.get(failed)
        assert gone is not None and gone.reason == "channel_not_found"
        assert uow.alert_ledger.take_retries(worker="w2", now=T0, platforms=["slack"]) == []
        (due,) = uow.alert_ledger.take_retries(worker="w2", now=retry_at, platforms=["slack"])
        assert due.id == retry and due.status is AlertStatus.PENDING and due.retry_at is None

    # Pending rows: `left` (w1, claimed at T0) and `retry` (w2, taken again at retry_at).
    with db.uow() as uow:
        cutoff = T0 - timedelta(minutes=1)
        assert uow.alert_ledger.reclaim_stale(worker="w3", now=T0, older_than=cutoff) == []
        assert (
            uow.alert_ledger.reclaim_stale(
                worker="w3", now=T0, older_than=T0 + timedelta(hours=1), platforms=["discord"]
            )
            == []
        )
        taken = uow.alert_ledger.reclaim_stale(
            worker="w3", now=T0, older_than=cutoff, is_alive=lambda w: w == "w2"
        )
        assert [d.id for d in taken] == [left] and taken[0].claimed_by == "w3"
        stale = uow.alert_ledger.reclaim_stale(
            worker="w4", now=T0, older_than=retry_at + timedelta(seconds=1)
        )
        assert sorted(d.id for d in stale) == sorted([left, retry])


def test_hold_and_release_move_only_the_channels_waiting_deliveries(db: Database) -> None:
    a, b = SLACK[0], SLACK[1]
    ids = []
    for n in range(3):
        at = T0 + timedelta(hours=n)
        keys = store(db, 10 * n + 1, 1, at)
        ids += sorted(plan(db, batch_of(db, at), {a: keys, b: keys} if n == 2 else {a: keys}))
    sending, retrying, queued, other = ids
    with db.uow() as uow:
        claimed = uow.alert_ledger.claim(worker="w1", now=T0, platforms=["slack"], limit=2)
        assert [d.id for d in claimed] == [sending, retrying]
        later = T0 + timedelta(minutes=5)
        retry = AlertFinish(retrying, AlertStatus.RETRYING, reason="http_503", retry_at=later)
        assert uow.alert_ledger.finish_many([retry], now=T0) == 1
    t1 = T0 + timedelta(days=2)
    with db.uow() as uow:
        # The pending one is in flight: its outcome decides it (the runner holds it).
        assert uow.alert_ledger.hold(a, now=t1) == 2
        assert uow.alert_ledger.hold(a, now=t1) == 0
        paused = AlertFinish(sending, AlertStatus.PAUSED, reason="not_in_channel", attempts=1)
        assert uow.alert_ledger.finish_many([paused], now=t1) == 1
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.PAUSED) == 3
        assert uow.alert_ledger.count(AlertStatus.PAUSED, channel=a) == 3
        assert uow.alert_ledger.count(AlertStatus.PAUSED, channel=b) == 0
        assert uow.alert_ledger.count(channel=b) == 1
        assert uow.alert_ledger.take_retries(worker="w2", now=t1, platforms=["slack"]) == []
        (only,) = uow.alert_ledger.claim(worker="w2", now=t1, platforms=["slack"], limit=10)
        assert only.id == other
    t2 = t1 + timedelta(hours=1)
    with db.uow() as uow:
        assert uow.alert_ledger.release(b, now=t2) == 0
        assert uow.alert_ledger.release(a, now=t2) == 3
        assert uow.alert_ledger.release(a, now=t2) == 0
    with db.uow() as uow:
        again = uow.alert_ledger.claim(worker="w3", now=t2, platforms=["slack"], limit=10)
        assert [d.id for d in again] == [sending, retrying, queued]
        # Attempts kept: one tried before looks on the platform first (bot.alerts.ledger).
        assert [(d.attempts, d.created_at, d.retry_at) for d in again] == [
            (1, t2, None),
            (0, t2, None),
            (0, t2, None),
        ]
        # Their papers are still theirs: what was owed to the channel goes out.
        items = uow.alert_ledger.items_many([sending, retrying, queued])
        assert [len(items[d]) for d in (sending, retrying, queued)] == [1, 1, 1]


@pytest.mark.postgres
def test_two_claimers_on_postgresql_split_the_queue(postgres_db: Database) -> None:
    keys = store(postgres_db, 1, 1, T0)
    plan(postgres_db, batch_of(postgres_db, T0), {ch: keys for ch in SLACK})
    with postgres_db.uow() as one, postgres_db.uow() as two:
        mine = one.alert_ledger.claim(worker="w1", now=T0, platforms=["slack"], limit=2)
        # w1 has not committed: its rows are locked, and w2 skips them.
        theirs = two.alert_ledger.claim(worker="w2", now=T0, platforms=["slack"], limit=10)
        assert len(mine) == 2 and len(theirs) == 2
        assert not {d.id for d in mine} & {d.id for d in theirs}
    with postgres_db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.PENDING) == 4


@pytest.mark.postgres
def test_two_planners_on_postgresql_take_different_batches(postgres_db: Database) -> None:
    keys = store(postgres_db, 1, 1, T0)
    first = batch_of(postgres_db, T0)
    later = T0 + timedelta(hours=1)
    store(postgres_db, 5, 1, later)
    second = batch_of(postgres_db, later)
    with postgres_db.uow() as one, postgres_db.uow() as two:
        assert one.alert_ledger.next_batch() == first
        assert two.alert_ledger.next_batch() == second  # the first is locked
        assert keys[0] in first.paper_keys
