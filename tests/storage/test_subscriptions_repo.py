"""Subscriptions and the delivery ledger on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from bot.models import ChannelRef, DeliveryStatus, PaperRecord, Platform, SubscriptionSpec, Weekday
from storage.db import Database
from tests.storage.helpers import claim, finish, get_delivery, resume

NOW = datetime(2026, 11, 20, 8, tzinfo=UTC)
CHANNEL = ChannelRef(Platform.SLACK, "C1", "T1")


def spec(**overrides: object) -> SubscriptionSpec:
    values: dict[str, object] = {"channel": CHANNEL, "at": time(9, 0), "timezone": "UTC"}
    values.update(overrides)
    return SubscriptionSpec(**values)  # type: ignore[arg-type]


def test_one_subscription_per_channel(db: Database) -> None:
    with db.uow() as uow:
        uow.subscriptions.upsert(spec(), next_run_at=NOW)
        uow.subscriptions.upsert(
            spec(at=time(10, 30), keywords=("llm",), weekdays=(Weekday.MON,)), next_run_at=NOW
        )
    with db.uow() as uow:
        assert uow.subscriptions.count() == 1
        sub = uow.subscriptions.for_channel(CHANNEL)
        assert sub is not None
        assert sub.spec.at == time(10, 30) and sub.spec.keywords == ("llm",)
        assert sub.spec.weekdays == (Weekday.MON,)
        assert uow.subscriptions.remove(CHANNEL) is True
        assert uow.subscriptions.remove(CHANNEL) is False


def test_due_and_pause_after_three_permanent_failures(db: Database) -> None:
    with db.uow() as uow:
        sub = uow.subscriptions.upsert(spec(), next_run_at=NOW)
    with db.uow() as uow:
        assert [s.id for s in uow.subscriptions.due(NOW)] == [sub.id]
        assert uow.subscriptions.due(NOW - timedelta(minutes=1)) == []
        paused = [
            uow.subscriptions.record_outcome(
                sub.id, permanent_failure=True, reason="channel_not_found"
            )
            for _ in range(3)
        ]
        assert paused == [False, False, True]
    with db.uow() as uow:
        assert uow.subscriptions.due(NOW) == []
        assert uow.subscriptions.count_paused() == 1
        assert resume(uow, CHANNEL) is True
        assert len(uow.subscriptions.due(NOW)) == 1


def test_claim_is_exactly_once_and_sent_papers_are_remembered(db: Database) -> None:
    with db.uow() as uow:
        sub = uow.subscriptions.upsert(spec(), next_run_at=NOW)
        uow.papers.upsert_many([PaperRecord(title="P", source="x", paper_id="2401.1")], seen_at=NOW)
        paper = uow.papers.find_by_paper_id("2401.1")
        assert paper is not None
    with db.uow() as uow:
        first = claim(uow, sub.id, date(2026, 11, 20), worker="a", now=NOW)
        second = claim(uow, sub.id, date(2026, 11, 20), worker="b", now=NOW)
        assert first is not None and first.status is DeliveryStatus.PENDING
        assert second is None
        finish(uow, first, DeliveryStatus.SENT, now=NOW, message_id="m1", paper_keys=(paper.key,))
    with db.uow() as uow:
        assert uow.deliveries.sent_paper_keys(CHANNEL) == {paper.key}
        assert uow.deliveries.count(DeliveryStatus.SENT) == 1
        delivery = get_delivery(uow, first.id)
        assert delivery is not None and delivery.message_id == "m1"
