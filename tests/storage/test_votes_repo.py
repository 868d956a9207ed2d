"""The vote repository on the fakes, SQLite and PostgreSQL: the same assertions on each."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.models import ChannelRef, PaperRecord, Platform
from bot.taste.votes_port import Vote, VoteSource
from bot.testing.fakes import FakeDatabase, subscribe
from storage.db import Database
from tests.storage.helpers import send_digest

T0 = datetime(2026, 11, 12, 9, tzinfo=UTC)
C1 = ChannelRef(Platform.SLACK, "C1", "T1")
C2 = ChannelRef(Platform.SLACK, "C2", "T1")
OTHER_TEAM = ChannelRef(Platform.SLACK, "C1", "T2")
GUILD = ChannelRef(Platform.DISCORD, "C1", "G1")


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def papers(db: Database | FakeDatabase, n: int = 3) -> list[int]:
    records = [
        PaperRecord(
            title=f"Paper {i}",
            source="test",
            paper_id=f"2511.0000{i}",
            published=date(2026, 11, 10),
        )
        for i in range(n)
    ]
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=T0)
        return sorted(uow.papers.keys())


def test_one_vote_per_person_per_paper_per_channel(db: Database | FakeDatabase) -> None:
    a, b, _ = papers(db)
    with db.uow() as uow:
        uow.votes.put(Vote(C1, a, "U1", 1, T0))
        uow.votes.put(Vote(C1, a, "U2", 1, T0 + timedelta(seconds=1)))
        uow.votes.put(Vote(C2, a, "U1", -1, T0))
    with db.uow() as uow:
        # A changed vote replaces the old one.
        uow.votes.put(Vote(C1, a, "U1", -1, T0 + timedelta(minutes=5)))
        uow.votes.put(
            Vote(C1, b, "U1", 1, T0 + timedelta(minutes=6), VoteSource.REACTION, 0.5, "m1")
        )
    with db.uow() as uow:
        listed = uow.votes.for_channel(C1)
        assert [(v.paper_key, v.user, v.value) for v in listed] == [
            (a, "U2", 1),
            (a, "U1", -1),
            (b, "U1", 1),
        ]
        assert listed[-1].source is VoteSource.REACTION and listed[-1].weight == 0.5
        assert listed[-1].message_id == "m1" and listed[-1].channel == C1
        assert uow.votes.get(C1, a, "U1") == listed[1]
        assert uow.votes.get(C1, b, "U2") is None
        assert [v.value for v in uow.votes.for_channel(C2)] == [-1]


def test_retract_takes_back_only_the_given_source(db: Database | FakeDatabase) -> None:
    a, b, c = papers(db)
    with db.uow() as uow:
        uow.votes.put(Vote(C1, a, "U1", 1, T0, VoteSource.REACTION, 0.5))
        uow.votes.put(Vote(C1, b, "U1", -1, T0, VoteSource.BUTTON))
        uow.votes.put(Vote(C1, c, "U2", 1, T0, VoteSource.REACTION, 0.5))
    with db.uow() as uow:
        assert uow.votes.retract(C1, [a, b, c], "U1", source=VoteSource.REACTION) == 1
        assert uow.votes.retract(C1, [], "U1", source=VoteSource.REACTION) == 0
    with db.uow() as uow:
        assert [(v.paper_key, v.user) for v in uow.votes.for_channel(C1)] == [(b, "U1"), (c, "U2")]


def test_reset_and_forget_workspace(db: Database | FakeDatabase) -> None:
    a, b, _ = papers(db)
    with db.uow() as uow:
        for channel in (C1, C2, OTHER_TEAM, GUILD):
            uow.votes.put(Vote(channel, a, "U1", 1, T0))
            uow.votes.put(Vote(channel, b, "U1", -1, T0))
        uow.votes.set_enabled(C2, False, now=T0)
        uow.votes.set_enabled(GUILD, False, now=T0)
    with db.uow() as uow:
        assert uow.votes.reset(C1) == 2
        assert uow.votes.for_channel(C1) == []
        assert len(uow.votes.for_channel(C2)) == 2
    with db.uow() as uow:
        assert uow.votes.forget_workspace("slack", "T1") == 2
    with db.uow() as uow:
        assert uow.votes.for_channel(C2) == []
        assert uow.votes.settings(C2).enabled, "the switch went with the workspace"
        assert len(uow.votes.for_channel(OTHER_TEAM)) == 2
        assert len(uow.votes.for_channel(GUILD)) == 2
        assert not uow.votes.settings(GUILD).enabled
    with db.uow() as uow:
        assert uow.votes.forget_workspace("discord", "G1") == 2
        assert uow.votes.for_channel(GUILD) == []


def test_taste_switch(db: Database | FakeDatabase) -> None:
    with db.uow() as uow:
        assert uow.votes.settings(C1).enabled
        uow.votes.set_enabled(C1, False, now=T0)
    with db.uow() as uow:
        assert not uow.votes.settings(C1).enabled and uow.votes.settings(C2).enabled
        uow.votes.set_enabled(C1, True, now=T0)
    with db.uow() as uow:
        assert uow.votes.settings(C1).enabled


def test_digest_papers_by_message_id_in_its_channel_only(db: Database | FakeDatabase) -> None:
    keys = papers(db)
    sub = subscribe(db, "C1", created=T0 - timedelta(days=1))
    with db.uow() as uow:
        send_digest(
            uow, sub, date(2026, 11, 12), tuple(keys), message_id="1700000000.000100", now=T0
        )
    with db.uow() as uow:
        assert uow.votes.digest_papers(C1, "1700000000.000100") == tuple(keys)
        assert uow.votes.digest_papers(C2, "1700000000.000100") == ()
        assert uow.votes.digest_papers(C1, "1700000000.000999") == ()
