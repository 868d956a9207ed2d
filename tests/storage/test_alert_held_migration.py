"""Migration 0016: deliveries that paused a channel (failed before this version) wait for
it as `paused` ones do now, and go out on resume; downgrade makes them `failed` again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command

from bot.alerts.models import AlertFinish, AlertStatus, ChannelPlan, PlannedItem
from bot.follow.matching import AlertKind
from bot.models import ChannelRef, PaperRecord, Platform
from storage.db import Database

T0 = datetime(2026, 11, 30, 6, tzinfo=UTC)
PAUSED, OTHER = (ChannelRef(Platform.SLACK, f"C{i}", "T1") for i in (1, 2))


def failed_delivery(database: Database, channel: ChannelRef, n: int, reason: str) -> int:
    """One delivery of a new paper to `channel`, refused with `reason` (as 0015 left it)."""
    at = T0 + timedelta(minutes=n)
    with database.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=f"Paper {n}", source="arxiv", paper_id=f"2611.{n:05d}")],
            seen_at=at,
        )
        batch = uow.alert_ledger.enqueue_new(first_seen_since=at, now=at)
        assert batch is not None
        plan = ChannelPlan(channel, (PlannedItem(batch.paper_keys[0], ("search “x”",)),))
        (delivery_id,) = uow.alert_ledger.plan(batch, [plan], worker="w", now=at)
        uow.alert_ledger.claim(worker="w", now=at, platforms=["slack"], limit=10)
        finish = AlertFinish(delivery_id, AlertStatus.FAILED, reason=reason, attempts=1)
        assert uow.alert_ledger.finish_many([finish], now=at) == 1
    return delivery_id


def statuses(database: Database, *ids: int) -> list[AlertStatus]:
    with database.uow() as uow:
        found = [uow.alert_ledger.get(i) for i in ids]
    return [d.status for d in found if d is not None]


def test_upgrade_makes_the_pausing_failures_wait_and_downgrade_fails_them(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        # The rows are written by today's repositories, so at today's schema; going down to
        # 0015 keeps them (failed deliveries stay failed), as an older deployment had them.
        database.upgrade()
        with database.uow() as uow:
            for channel in (PAUSED, OTHER):
                uow.alerts.add(channel, AlertKind.SEARCH, "x", created_by="U1")
        refused = failed_delivery(database, PAUSED, 1, "not_in_channel")
        gave_up = failed_delivery(database, PAUSED, 2, "http_503")
        elsewhere = failed_delivery(database, OTHER, 3, "not_in_channel")
        with database.uow() as uow:
            assert uow.alerts.pause(PAUSED, "not_in_channel", now=T0)
        command.downgrade(database.alembic_config(), "0015_vector_marks")
        assert statuses(database, refused, gave_up, elsewhere) == [AlertStatus.FAILED] * 3
        database.upgrade()
        assert statuses(database, refused, gave_up, elsewhere) == [
            AlertStatus.PAUSED,
            AlertStatus.FAILED,
            AlertStatus.FAILED,
        ]
        command.downgrade(database.alembic_config(), "0015_vector_marks")
        assert statuses(database, refused, gave_up, elsewhere) == [AlertStatus.FAILED] * 3
        database.upgrade()
        with database.uow() as uow:
            assert uow.alert_ledger.release(PAUSED, now=T0 + timedelta(days=1)) == 1
        assert statuses(database, refused) == [AlertStatus.QUEUED]
    finally:
        database.dispose()
