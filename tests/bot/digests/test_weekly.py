"""Weekly digests: the top papers of the past 7 days, once a week, through the same ledger."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.commands.core import CoreConfig, merge_subscription
from bot.commands.parser import parse
from bot.commands.types import Invalid, Subscribe
from bot.digests.delivery import RetryPolicy
from bot.digests.runner import DigestRunner
from bot.models import Cadence, ChannelRef, DeliveryStatus, Platform, Weekday
from bot.testing.fakes import FakeDatabase, FakeSink, seed_papers, subscribe
from storage.db import Database

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
CREATED = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)  # a Monday
FRIDAY_1605 = datetime(2026, 3, 13, 16, 5, tzinfo=UTC)
CHANNEL = ChannelRef(Platform.SLACK, "C1", "T1")


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def runner(db: Database | FakeDatabase, sink: FakeSink, worker: str = "w1") -> DigestRunner:
    return DigestRunner(
        db.uow, {Platform.SLACK: sink}, worker_id=worker, per_channel_interval=0.0, retry=FAST
    )


def test_parse_weekly_with_day_time_and_zone() -> None:
    parsed = parse("subscribe weekly fri 16:00 Europe/Berlin diffusion")
    assert isinstance(parsed, Subscribe)
    assert parsed.cadence is Cadence.WEEKLY and parsed.weekdays == (Weekday.FRI,)
    assert parsed.at == time(16, 0) and parsed.timezone == "Europe/Berlin"
    assert parsed.keywords == ("diffusion",)
    bare = parse("subscribe weekly")
    assert isinstance(bare, Subscribe) and bare.cadence is Cadence.WEEKLY and bare.weekdays is None
    assert isinstance(parse("subscribe weekly Friday"), Subscribe)
    daily = parse("subscribe daily 09:00")
    assert isinstance(daily, Subscribe) and daily.cadence is Cadence.DAILY
    wrong = parse("subscribe weekly days=mon,wed")
    assert isinstance(wrong, Invalid) and "one day" in wrong.error


def test_merge_switches_cadence_and_picks_days() -> None:
    def merged(text: str, base=None):  # type: ignore[no-untyped-def]
        command = parse(text)
        assert isinstance(command, Subscribe)
        return merge_subscription(command, base, channel=CHANNEL, default_timezone="UTC", user="U1")

    weekly = merged("subscribe weekly")
    assert weekly.cadence is Cadence.WEEKLY and weekly.weekdays == (Weekday.MON,)
    moved = merged("subscribe 10:00", weekly)
    assert moved.cadence is Cadence.WEEKLY and moved.weekdays == (Weekday.MON,)
    daily = merged("subscribe daily", weekly)
    assert daily.cadence is Cadence.DAILY and len(daily.weekdays) == 5


async def test_weekly_digest_covers_seven_days_once_a_week(db: Database | FakeDatabase) -> None:
    # Papers on each of the 10 days up to Friday; a daily 3-weekday window would miss Mon/Tue
    # of the week before, a weekly one takes the past 7 calendar days.
    seed_papers(db, FRIDAY_1605.date(), per_day=3, days=10)
    sub = subscribe(
        db,
        "C1",
        at=time(16, 0),
        created=CREATED,
        weekdays=(Weekday.FRI,),
        cadence=Cadence.WEEKLY,
        top_n=10,
    )
    sink = FakeSink()
    report = await runner(db, sink).run_due(FRIDAY_1605)
    assert report.sent == 1
    digest = sink.delivered[sub.channel.key][0]
    assert "week" in digest.title and digest.digest_date == date(2026, 3, 13)
    published = {c.paper.published for c in digest.cards}
    assert min(d for d in published if d) >= date(2026, 3, 7)
    # The whole week's papers qualify: older than the daily window's Wednesday.
    assert any(d and d < date(2026, 3, 11) for d in published)
    # Every tick of the following days posts nothing; the next one is a week later.
    for hours in (1, 24, 72, 24 * 6):
        again = await runner(db, sink, worker="w2").run_due(FRIDAY_1605 + timedelta(hours=hours))
        assert again.sent == 0
    with db.uow() as uow:
        stored = uow.subscriptions.get(sub.id)
        assert stored is not None and stored.spec.cadence is Cadence.WEEKLY
        assert stored.next_run_at == datetime(2026, 3, 20, 16, 0, tzinfo=UTC)
        assert uow.deliveries.count(DeliveryStatus.SENT) == 1


async def test_subscriptions_shows_weekly_cadence_and_next_run_locally(
    db: Database | FakeDatabase,
) -> None:
    from bot.commands.core import CommandCore
    from bot.models import CommandRequest

    class NoSearch:
        def search(self, *_a: object, **_k: object) -> object:
            raise AssertionError("not used")

        def suggest(self, *_a: object, **_k: object) -> list[tuple[int, str]]:
            return []

    core = CommandCore(db.uow, NoSearch(), CoreConfig(), clock=lambda: CREATED)  # type: ignore[arg-type]

    def req(text: str) -> CommandRequest:
        return CommandRequest(
            platform=Platform.SLACK,
            workspace="T1",
            channel="C1",
            user="U1",
            command=parse(text),
            can_manage=True,
        )

    ok = await core.dispatch(req("subscribe weekly fri 16:00 Europe/Berlin"))
    assert "week" in ok.text and "Fri 13 Mar 16:00 CET" in ok.text, ok.text
    shown = await core.dispatch(req("subscriptions"))
    assert "weekly on Fri" in shown.text and "Fri 13 Mar 16:00 CET" in shown.text, shown.text
