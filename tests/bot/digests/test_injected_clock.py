"""A whole digest run under a fake clock far from real time: every timestamp it writes
(claims, outcomes, sent papers, retries, next runs) derives from that clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.digests.delivery import RetryPolicy
from bot.digests.runner import DigestRunner
from bot.digests.schedule import next_run_after
from bot.models import DeliveryStatus, Digest, Platform, PostResult
from bot.ports import ClaimRequest
from bot.testing.fakes import FakeSink, seed_papers, subscribe
from storage.db import Database
from storage.tables import DeliveryRow, SentPaperRow, SubscriptionRow

T1 = datetime(2041, 6, 4, 9, 30, tzinfo=UTC)  # years from the real clock
T2 = T1 + timedelta(minutes=10)
POLICY = RetryPolicy(base_delay=0.001, max_delay=0.01)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_every_timestamp_of_a_run_comes_from_the_injected_clock(db: Database) -> None:
    seed_papers(db, T1.date())
    created = T1 - timedelta(days=1)
    ok, flaky, orphan = (subscribe(db, c, created=created) for c in ("C-ok", "C-5xx", "C-dead"))
    with db.uow() as uow:
        keys = tuple(p.key for p in uow.papers.published_since(T1.date())[:3])
        # A pending row of a dead worker, claimed long before: the run recovers it.
        uow.deliveries.claim_many(
            [ClaimRequest(orphan.id, T1.date(), paper_keys=keys)],
            worker="gone",
            now=T1 - timedelta(hours=1),
        )
    failing = {flaky.channel.key}

    def behaviour(digest: Digest, attempt: int) -> PostResult | None:
        if digest.channel.key in failing:
            return PostResult(ok=False, reason="http_500")
        return None

    clock = FakeClock(T1)
    runner = DigestRunner(
        db.uow,
        {Platform.SLACK: FakeSink(behaviour)},
        worker_id="w1",
        clock=clock,
        per_channel_interval=0.0,
        retry=POLICY,
        is_alive=lambda worker: False,
    )

    first = await runner.run_due()
    assert (first.sent, first.resent, first.retrying) == (2, 1, 1)
    retry_at = T1 + POLICY.later(1)
    with db.session() as session:
        rows = {r.subscription_id: r for r in session.scalars(select(DeliveryRow))}
        assert rows[flaky.id].status == DeliveryStatus.RETRYING.value
        assert rows[flaky.id].retry_at == retry_at
        for row in rows.values():
            assert (row.claimed_at, row.updated_at) == (T1, T1)

    failing.clear()
    clock.now = T2  # past retry_at: the retry is taken up and succeeds
    second = await runner.run_due()
    assert (second.retried, second.sent) == (1, 1)

    with db.session() as session:
        rows = {r.subscription_id: r for r in session.scalars(select(DeliveryRow))}
        assert {r.status for r in rows.values()} == {DeliveryStatus.SENT.value}
        for sub_id, row in rows.items():
            when = T2 if sub_id == flaky.id else T1
            assert (row.claimed_at, row.updated_at, row.retry_at) == (when, when, None)
        sent_at = {(r.channel_key, r.sent_at) for r in session.scalars(select(SentPaperRow))}
        assert sent_at and {at for _, at in sent_at} == {T1, T2}
        assert {key for key, at in sent_at if at == T2} == {flaky.channel.key}
        for sub in (ok, flaky, orphan):
            stored = session.get(SubscriptionRow, sub.id)
            assert stored is not None
            assert stored.next_run_at == next_run_after(sub.spec, T1)
