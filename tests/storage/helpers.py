"""Single-row conveniences for tests, built on the ports (or on the SQL session).

The core works in batches (`claim_many`, `finish_many`, `set_next_runs`); these helpers
keep tests short without widening the ports with methods only tests would call.
"""

from __future__ import annotations

import time
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import select

from bot.models import ChannelRef, Delivery, DeliveryStatus, Subscription
from bot.ports import ClaimRequest, FinishRequest, UnitOfWork
from storage.db import Database
from storage.deliveries import to_delivery
from storage.subscriptions import to_subscription
from storage.tables import DeliveryRow, SubscriptionRow
from storage.unit_of_work import SqlUnitOfWork


def get_delivery(uow: SqlUnitOfWork, delivery_id: int) -> Delivery | None:
    row = uow.session.get(DeliveryRow, delivery_id)
    return to_delivery(row) if row else None


def claim(
    uow: SqlUnitOfWork, subscription_id: int, digest_date: date, *, worker: str, now: datetime
) -> Delivery | None:
    """Claim one (subscription, date); None if it was claimed already."""
    new = uow.deliveries.claim_many(
        [ClaimRequest(subscription_id, digest_date)], worker=worker, now=now
    )
    return get_delivery(uow, new[subscription_id]) if subscription_id in new else None


def finish(
    uow: UnitOfWork,
    delivery: Delivery,
    status: DeliveryStatus,
    *,
    now: datetime,
    message_id: str | None = None,
    paper_keys: tuple[int, ...] = (),
) -> int:
    """Record the outcome of one pending delivery."""
    sub = uow.subscriptions.get(delivery.subscription_id)
    assert sub is not None, f"delivery {delivery.id} has no subscription"
    request = FinishRequest(
        delivery.id, status, sub.channel.key, message_id=message_id, paper_keys=paper_keys
    )
    return uow.deliveries.finish_many([request], now=now)


def set_next_run(uow: UnitOfWork, subscription_id: int, next_run_at: datetime) -> None:
    uow.subscriptions.set_next_runs({subscription_id: next_run_at})


def resume(uow: UnitOfWork, channel: ChannelRef) -> bool:
    """Un-pause the channel's subscription (re-saving its spec does that); False if none."""
    sub = uow.subscriptions.for_channel(channel)
    if sub is None:
        return False
    uow.subscriptions.upsert(sub.spec, next_run_at=sub.next_run_at)
    return True


def list_subscriptions(uow: SqlUnitOfWork, *, platform: str | None = None) -> list[Subscription]:
    stmt = select(SubscriptionRow).order_by(SubscriptionRow.id)
    if platform:
        stmt = stmt.where(SubscriptionRow.platform == platform)
    return [to_subscription(row) for row in uow.session.scalars(stmt)]


def send_digest(
    uow: UnitOfWork,
    sub: Subscription,
    day: date,
    paper_keys: tuple[int, ...],
    *,
    message_id: str,
    now: datetime,
    why: tuple[str | None, ...] = (),
    topics: tuple[str | None, ...] = (),
) -> int:
    """Claim and finish one digest as sent with these papers; returns its delivery id."""
    claim = ClaimRequest(sub.id, day, paper_keys=paper_keys, why=why, topics=topics)
    claimed = uow.deliveries.claim_many([claim], worker="w", now=now)
    request = FinishRequest(
        claimed[sub.id],
        DeliveryStatus.SENT,
        sub.channel.key,
        message_id=message_id,
        paper_keys=paper_keys,
    )
    uow.deliveries.finish_many([request], now=now)
    return claimed[sub.id]


def sessions_waiting_on_a_lock(db: Database) -> int:
    """How many PostgreSQL sessions of this database wait on a lock, polled (up to 2 min)
    until at least one does: for tests that hold a transaction open in another thread."""
    with db.engine.connect() as conn:
        for _ in range(1200):
            waiting = conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            ).scalar_one()
            if waiting:
                return int(waiting)
            time.sleep(0.1)
    return 0
