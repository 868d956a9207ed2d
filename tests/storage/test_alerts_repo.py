"""The alert repository on the fakes, SQLite and PostgreSQL: the same assertions on each."""

from __future__ import annotations

import pytest

from bot.follow.matching import AlertKind
from bot.models import ChannelRef, Platform
from bot.testing.fakes import FakeDatabase
from storage.db import Database

C1 = ChannelRef(Platform.SLACK, "C1", "T1")
C2 = ChannelRef(Platform.DISCORD, "C1", "G1")


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def test_alerts_are_per_channel_unique_and_ordered(db: Database | FakeDatabase) -> None:
    with db.uow() as uow:
        first, added = uow.alerts.add(C1, AlertKind.AUTHOR, "Yann LeCun", created_by="U1")
        assert added and first.channel == C1.key and first.kind is AlertKind.AUTHOR
        again, added_again = uow.alerts.add(C1, AlertKind.AUTHOR, "Yann LeCun", created_by="U2")
        assert not added_again and again.id == first.id
        uow.alerts.add(C1, AlertKind.SEARCH, "Yann LeCun", created_by="U1")
        uow.alerts.add(C2, AlertKind.SEARCH, "diffusion", created_by="U1")
    with db.uow() as uow:
        listed = uow.alerts.for_channel(C1)
        assert [(a.kind, a.query) for a in listed] == [
            (AlertKind.AUTHOR, "Yann LeCun"),
            (AlertKind.SEARCH, "Yann LeCun"),
        ]
        assert [a.query for a in uow.alerts.for_channel(C2)] == ["diffusion"]
        assert uow.alerts.remove(listed[0].id)
        assert not uow.alerts.remove(listed[0].id)
    with db.uow() as uow:
        assert [a.kind for a in uow.alerts.for_channel(C1)] == [AlertKind.SEARCH]


def test_a_failed_unit_of_work_keeps_no_alert(db: Database | FakeDatabase) -> None:
    with pytest.raises(RuntimeError), db.uow() as uow:
        uow.alerts.add(C1, AlertKind.SEARCH, "speech", created_by=None)
        raise RuntimeError("boom")
    with db.uow() as uow:
        assert uow.alerts.for_channel(C1) == []


def test_a_paused_channel_is_left_out_until_resumed(db: Database | FakeDatabase) -> None:
    from datetime import UTC, datetime

    when = datetime(2026, 3, 10, 9, tzinfo=UTC)
    with db.uow() as uow:
        uow.alerts.add(C1, AlertKind.AUTHOR, "Yann LeCun", created_by="U1")
        uow.alerts.add(C1, AlertKind.SEARCH, "diffusion", created_by="U1")
        uow.alerts.add(C2, AlertKind.SEARCH, "diffusion", created_by="U1")
    with db.uow() as uow:
        assert uow.alerts.pause(C1, "channel_not_found", now=when)
        assert not uow.alerts.pause(C1, "is_archived", now=when)  # paused already
        assert not uow.alerts.pause(ChannelRef(Platform.SLACK, "C9", "T1"), "x", now=when)
    with db.uow() as uow:
        assert [ch for _, ch in uow.alerts.every()] == [C2]
        pause = uow.alerts.paused(C1)
        assert pause is not None and (pause.reason, pause.since) == ("channel_not_found", when)
        assert uow.alerts.paused(C2) is None
        assert len(uow.alerts.for_channel(C1)) == 2  # `following` still lists them
    with db.uow() as uow:
        lifted = uow.alerts.resume(C1)
        assert lifted is not None and lifted.reason == "channel_not_found"
        assert uow.alerts.resume(C1) is None
    with db.uow() as uow:
        assert [ch.key for _, ch in uow.alerts.every()] == [C1.key, C1.key, C2.key]
        assert uow.alerts.paused(C1) is None
