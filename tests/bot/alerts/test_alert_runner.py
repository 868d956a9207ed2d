"""`AlertRunner` end to end below the platforms: batches, one message per channel, each
paper once per channel, bursts, and the faults (429, 5xx, a dead worker, two replicas),
on the in-memory fakes, SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.alerts.ledger import AlertReport, enqueue_new_papers
from bot.alerts.models import AlertPost, AlertStatus
from bot.alerts.runner import AlertRunner, alert_post
from bot.digests.delivery import RetryPolicy, Verdict
from bot.follow.matching import AlertKind
from bot.models import ChannelRef, DeliveryStatus, PaperRecord, Platform, PostResult
from bot.testing.fakes import FakeDatabase, FakeSink
from storage.db import Database

FAST = RetryPolicy(base_delay=0.001, max_delay=0.01)
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


def channel(i: int) -> ChannelRef:
    return ChannelRef(Platform.SLACK, f"C{i:04d}", "T1")


def ingest(db: Database | FakeDatabase, records: list[PaperRecord], at: datetime) -> int | None:
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=at)
    return enqueue_new_papers(db.uow, since=at, now=at)


def paper(n: int, title: str, *authors: str) -> PaperRecord:
    return PaperRecord(
        title=title,
        source="test",
        paper_id=f"2603.{n:05d}",
        abstract="An abstract about nothing in particular.",
        authors=authors or ("A. Nobody",),
        published=date(2026, 3, 9),
    )


def follow(db: Database | FakeDatabase, ch: ChannelRef, kind: AlertKind, query: str) -> None:
    with db.uow() as uow:
        uow.alerts.add(ch, kind, query, created_by="U1")


def runner(
    db: Database | FakeDatabase, sink: FakeSink, worker: str = "w1", **kw: object
) -> AlertRunner:
    return AlertRunner(
        db.uow,
        {Platform.SLACK: sink},
        worker_id=worker,
        per_channel_interval=0.0,
        retry=FAST,
        **kw,  # type: ignore[arg-type]
    )


def posted(sink: FakeSink) -> dict[str, list[int]]:
    """Channel key -> paper keys of every alert message that reached it, in order."""
    return {
        key: [item.paper.key for post in posts for item in post.items]
        for key, posts in sink.alerts.items()
    }


async def test_one_message_per_channel_naming_every_alert_and_each_paper_once(
    db: Database | FakeDatabase,
) -> None:
    a, b = channel(1), channel(2)
    follow(db, a, AlertKind.AUTHOR, "Yann LeCun")
    follow(db, a, AlertKind.SEARCH, "diffusion")
    follow(db, b, AlertKind.SEARCH, "speech")
    ingest(
        db,
        [
            paper(1, "Diffusion models for robots", "Yann LeCun"),
            paper(2, "Speech diffusion", "Y. LeCun"),
            paper(3, "Unrelated work", "Someone Else"),
        ],
        T0,
    )
    sink = FakeSink()
    report = await runner(db, sink).run(T0)
    assert report.batches == 1 and report.planned == 2 and report.sent == 2
    assert [len(sink.alerts[c.key]) for c in (a, b)] == [1, 1]
    message = sink.alerts[a.key][0]
    assert [len(i.alerts) for i in message.items] == [2, 2]
    assert message.items[0].alerts == ("author Yann LeCun", "search “diffusion”")
    assert [i.paper.title for i in sink.alerts[b.key][0].items] == ["Speech diffusion"]
    # Nothing new: nothing sent. The same papers in another batch: not sent again.
    assert (await runner(db, sink, "w2").run(T0)).sent == 0
    later = T0 + timedelta(hours=1)
    with db.uow() as uow:
        keys = [p.key for p in uow.papers.get_many(list(range(1, 100)))]
        batch = uow.alert_ledger.enqueue_new(first_seen_since=T0, now=later)
    assert batch is not None and set(batch.paper_keys) <= set(keys)
    again = await runner(db, sink, "w3").run(later)
    assert again.batches == 1 and again.planned == 0 and again.sent == 0
    assert {k: len(v) for k, v in posted(sink).items()} == {a.key: 2, b.key: 1}


async def test_a_burst_is_one_summary_holding_every_paper(db: Database | FakeDatabase) -> None:
    a = channel(1)
    follow(db, a, AlertKind.SEARCH, "agents")
    ingest(db, [paper(i, f"Agents number {i}") for i in range(25)], T0)
    sink = FakeSink()
    await runner(db, sink, burst_after=10).run(T0)
    [message] = sink.alerts[a.key]
    assert message.burst and len(message.shown_items) == 3 and len(message.items) == 25


async def test_429_and_5xx_end_in_exactly_one_message(db: Database | FakeDatabase) -> None:
    channels = [channel(i) for i in range(6)]
    for ch in channels:
        follow(db, ch, AlertKind.SEARCH, "transformers")
    ingest(db, [paper(1, "Transformers all the way down")], T0)

    def behaviour(post: AlertPost, attempt: int) -> PostResult | str | None:
        n = int(post.channel.channel[1:])
        if n % 3 == 0 and attempt == 1:
            return PostResult(ok=False, reason="ratelimited", retry_after=0.01)
        if n % 3 == 1 and attempt <= 2:
            return "land-then-500" if attempt == 2 else PostResult(ok=False, reason="http_503")
        return None

    sink = FakeSink(alert_behaviour=behaviour)
    report = await runner(db, sink).run(T0)
    assert report.sent == 6 and report.failed == 0
    assert all(len(sink.alerts[ch.key]) == 1 for ch in channels)
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.SENT) == 6


async def test_transient_failures_retry_later_and_refused_ones_wait(
    db: Database | FakeDatabase,
) -> None:
    down, gone = channel(1), channel(2)
    follow(db, down, AlertKind.SEARCH, "graphs")
    follow(db, gone, AlertKind.SEARCH, "graphs")
    ingest(db, [paper(1, "Graphs")], T0)
    outage = True

    def behaviour(post: AlertPost, attempt: int) -> PostResult | None:
        if post.channel == gone:
            return PostResult(ok=False, reason="channel_not_found", permanent=True)
        return PostResult(ok=False, reason="http_502") if outage else None

    sink = FakeSink(alert_behaviour=behaviour)
    first = await runner(db, sink).run(T0)
    assert (first.sent, first.failed, first.held, first.retrying) == (0, 0, 1, 1)
    assert first.failures == {"channel_not_found": 1}
    outage = False
    later = T0 + timedelta(hours=2)
    second = await runner(db, sink, clock=lambda: later).run(later)
    assert second.sent == 1 and len(sink.alerts[down.key]) == 1 and gone.key not in sink.alerts


async def test_a_channel_gone_for_good_is_paused_until_a_manager_adds_an_alert(
    db: Database | FakeDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    gone, fine = channel(1), channel(2)
    for ch in (gone, fine):
        follow(db, ch, AlertKind.SEARCH, "graphs")
    follow(db, gone, AlertKind.AUTHOR, "Ada Lovelace")
    ingest(db, [paper(1, "Graphs")], T0)
    removed = True
    attempts: list[str] = []

    def behaviour(post: AlertPost, attempt: int) -> PostResult | None:
        attempts.append(post.channel.key)
        if post.channel == gone and removed:
            return PostResult(ok=False, reason="not_in_channel", permanent=True)
        return None

    sink = FakeSink(alert_behaviour=behaviour)
    with caplog.at_level("WARNING", logger="bot.alerts.ledger"):
        first = await runner(db, sink).run(T0)
    assert (first.sent, first.failed, first.paused) == (1, 0, [gone.key])
    assert "paused 1 channels" in first.summary()
    assert "failed 0" in first.summary() and "1 message waits for a resume" in first.summary()
    lines = [r.getMessage() for r in caplog.records if gone.key in r.getMessage()]
    assert len(lines) == 1, lines
    assert lines[0].startswith(
        f"alerts of {gone.key} paused: posting there failed for good (not_in_channel, delivery"
    )
    assert lines[0].endswith("a manager adding an alert there resumes them")
    with db.uow() as uow:
        pause = uow.alerts.paused(gone)
        assert pause is not None and pause.reason == "not_in_channel"
        assert uow.alerts.paused(fine) is None
        # The refused message waits for the channel, its paper still owed to it.
        assert uow.alert_ledger.count(AlertStatus.PAUSED) == 1 and first.held == 1
    # Later batches are not even planned for the paused channel: no attempt, no log line.
    t1 = T0 + timedelta(hours=1)
    ingest(db, [paper(2, "Graphs again", "Ada Lovelace")], t1)
    attempts.clear()
    second = await runner(db, sink, clock=lambda: t1).run(t1)
    assert second.sent == 1 and attempts == [fine.key] and second.paused == []
    # A manager re-adds an alert (the bot was invited back), as `alert …` does: the
    # message that waited goes out at the next run, and the next batch reaches it too.
    removed = False
    t2 = T0 + timedelta(hours=2)
    with db.uow() as uow:
        uow.alerts.add(gone, AlertKind.SEARCH, "graphs", created_by="U2")
        assert uow.alerts.resume(gone) is not None
        assert uow.alert_ledger.release(gone, now=t2) == 1
    ingest(db, [paper(3, "Graphs, third", "Ada Lovelace")], t2)
    third = await runner(db, sink, clock=lambda: t2).run(t2)
    assert third.sent == 3
    titles = [[item.paper.title for item in post.items] for post in sink.alerts[gone.key]]
    # Either order: the message that waited looks on the platform first (it was tried).
    assert sorted(titles) == [["Graphs"], ["Graphs, third"]]
    t3 = t2 + timedelta(hours=1)
    assert (await runner(db, sink, clock=lambda: t3).run(t3)).sent == 0


@pytest.mark.parametrize("landed", [True, False], ids=["posted-then-killed", "killed-before"])
async def test_a_resumed_channels_waiting_message_goes_out_once_despite_a_kill(
    db: Database | FakeDatabase, landed: bool
) -> None:
    gone = channel(1)
    follow(db, gone, AlertKind.SEARCH, "graphs")
    ingest(db, [paper(1, "Graphs")], T0)
    refused = PostResult(ok=False, reason="channel_not_found", permanent=True)
    first = await runner(db, FakeSink(alert_behaviour=lambda post, attempt: refused)).run(T0)
    assert first.paused == [gone.key] and first.held == 1
    sink = FakeSink()
    t1 = T0 + timedelta(hours=1)
    assert (await runner(db, sink, "w2", clock=lambda: t1).run(t1)).sent == 0  # paused
    t2 = T0 + timedelta(days=3)  # longer than give_up_after: the clock starts again
    with db.uow() as uow:
        assert uow.alerts.resume(gone) is not None
        assert uow.alert_ledger.release(gone, now=t2) == 1
        assert uow.alert_ledger.release(gone, now=t2) == 0
    # A worker claims the released message and is killed, after posting it or before.
    dead = runner(db, sink, "dead", clock=lambda: t2)
    jobs, _ = dead.ledger.claim(t2)
    assert [[i.paper.title for i in job.items] for job in jobs] == [["Graphs"]]
    if landed:
        await sink.post_alerts(alert_post(jobs[0]))
    report = await runner(db, sink, "w3", is_alive=lambda w: False, clock=lambda: t2).run(t2)
    assert (report.sent, report.recovered, report.resent) == (1, int(landed), int(not landed))
    assert [len(post.items) for post in sink.alerts[gone.key]] == [1]
    t3 = t2 + timedelta(hours=1)
    assert (await runner(db, sink, "w4", clock=lambda: t3).run(t3)).sent == 0
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.SENT) == 1
        assert uow.alert_ledger.count(AlertStatus.PAUSED) == 0


async def test_a_dead_workers_pending_messages_are_found_or_sent_once(
    db: Database | FakeDatabase,
) -> None:
    channels = [channel(i) for i in range(10)]
    for ch in channels:
        follow(db, ch, AlertKind.SEARCH, "robots")
    ingest(db, [paper(1, "Robots"), paper(2, "More robots")], T0)
    sink = FakeSink()
    # A worker plans and claims everything, posts half, then dies (kill -9): its rows stay
    # pending under its name.
    dead = runner(db, sink, "dead")
    dead_report = AlertReport(T0, "dead")
    dead.ledger.plan(T0, dead_report)
    assert dead_report.planned == 10
    jobs, _ = dead.ledger.claim(T0)
    assert len(jobs) == 10
    for job in jobs[:5]:
        await sink.post_alerts(alert_post(job))
    report = await runner(db, sink, "w2", is_alive=lambda worker: False).run(T0)
    assert (report.recovered, report.resent, report.sent) == (5, 5, 10)
    assert all(len(sink.alerts[ch.key]) == 1 for ch in channels)
    assert all(posted(sink)[ch.key] == posted(sink)[channels[0].key] for ch in channels)


@pytest.mark.postgres
async def test_two_replicas_on_postgresql_split_the_fan_out(postgres_url: str) -> None:
    first, second = Database(postgres_url), Database(postgres_url)
    first.upgrade()
    try:
        channels = [channel(i) for i in range(120)]
        for i, ch in enumerate(channels):
            follow(first, ch, AlertKind.SEARCH, "vision" if i % 2 else "language")
        ingest(first, [paper(i, f"Vision and language {i}") for i in range(3)], T0)
        sink = FakeSink()

        a = runner(first, sink, "a", is_alive=lambda w: True)
        b = runner(second, sink, "b", is_alive=lambda w: True)
        ra, rb = await asyncio.gather(a.run(T0), b.run(T0))
        assert ra.batches + rb.batches == 1
        assert ra.sent + rb.sent == 120
        assert all(len(sink.alerts[ch.key]) == 1 for ch in channels)
        assert all(len(posted(sink)[ch.key]) == 3 for ch in channels)
        with first.uow() as uow:
            assert uow.alert_ledger.count(AlertStatus.SENT) == 120
            assert uow.alert_ledger.count() == 120
    finally:
        first.dispose()
        second.dispose()


async def test_an_alert_left_with_no_paper_by_a_merge_is_not_posted(
    db: Database | FakeDatabase,
) -> None:
    """The channel was alerted to a paper known by title; its arXiv record arrives under
    another spelling and its alert waits for a retry; then the two records merge, and
    the one alert item moves to the earlier message. The waiting alert names nothing."""
    ch = channel(1)
    follow(db, ch, AlertKind.SEARCH, "zebrafish")
    title_only = PaperRecord(title="Zebrafish Acoustics with Spiking Neural Networks", source="hf")
    ingest(db, [title_only], T0)
    sink = FakeSink()
    assert (await runner(db, sink).run(T0)).sent == 1
    later = T0 + timedelta(hours=1)
    ingest(db, [paper(1, "Zebrafish acoustics with spiking networks")], later)
    down = FakeSink(alert_behaviour=lambda post, attempt: PostResult(ok=False, reason="http_503"))
    assert (await runner(db, down).run(later)).retrying == 1
    with db.uow() as uow:
        uow.papers.upsert_many([replace(title_only, paper_id="2603.00001")], seen_at=later)
    last = later + timedelta(hours=2)
    report = await runner(db, sink, clock=lambda: last).run(last)
    assert [len(post.items) for post in sink.alerts[ch.key]] == [1]
    assert (report.sent, report.failed, report.failures) == (0, 1, {"no_papers_left": 1})
    # Nothing was wrong with the channel: its alerts are not paused.
    assert report.paused == [] and report.held == 0
    with db.uow() as uow:
        assert uow.alerts.paused(ch) is None


class LaggingSink(FakeSink):
    """A platform whose message lookup misses recent posts while `lagging` (Slack's
    history can), so a post that landed but answered 500 is not found at once."""

    lagging: bool = True

    async def find_alert_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        if self.lagging:
            self.lookups += 1
            return None
        return await super().find_alert_posted(channel, delivery_id)


async def test_a_held_message_whose_post_may_have_landed_is_looked_for_after_a_resume(
    db: Database | FakeDatabase,
) -> None:
    ch = channel(1)
    follow(db, ch, AlertKind.SEARCH, "graphs")
    ingest(db, [paper(1, "Graphs")], T0)
    stage = "outage"

    def behaviour(post: AlertPost, attempt: int) -> PostResult | str | None:
        if stage == "refused":
            return PostResult(ok=False, reason="channel_not_found", permanent=True)
        if stage == "outage":
            # The first post lands but answers 500; the next ones fail without landing.
            return "land-then-500" if attempt == 1 else PostResult(ok=False, reason="http_502")
        return None

    sink = LaggingSink(alert_behaviour=behaviour)
    first = await runner(db, sink).run(T0)
    assert first.retrying == 1 and len(sink.alerts[ch.key]) == 1  # landed, unseen
    # Before its retry is due, the channel's next message is refused for good: the
    # channel pauses and the retrying message is held with it.
    stage = "refused"
    t1 = T0 + timedelta(minutes=1)
    ingest(db, [paper(2, "Graphs again")], t1)
    second = await runner(db, sink, clock=lambda: t1).run(t1)
    assert second.paused == [ch.key]
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.PAUSED) == 2
    # A manager resumes the channel; the platform now shows the landed post.
    stage, sink.lagging = "working", False
    t2 = T0 + timedelta(hours=1)
    with db.uow() as uow:
        assert uow.alerts.resume(ch) is not None
        assert uow.alert_ledger.release(ch, now=t2) == 2
    third = await runner(db, sink, clock=lambda: t2).run(t2)
    assert third.sent == 2
    titles = [[item.paper.title for item in post.items] for post in sink.alerts[ch.key]]
    assert sorted(titles) == [["Graphs"], ["Graphs again"]], "the landed message was re-posted"


def two_messages_to_one_channel(db: Database | FakeDatabase) -> ChannelRef:
    ch = channel(1)
    follow(db, ch, AlertKind.SEARCH, "graphs")
    ingest(db, [paper(1, "Graphs")], T0)
    ingest(db, [paper(2, "Graphs again")], T0 + timedelta(seconds=1))
    return ch


def assert_both_wait(db: Database | FakeDatabase, report: AlertReport, ch: ChannelRef) -> None:
    """Each message counted once, as the ledger leaves it: both wait for a resume."""
    assert report.paused == [ch.key]
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.PAUSED) == 2
        assert uow.alert_ledger.count(AlertStatus.RETRYING) == 0
    assert (report.retrying, report.held, report.failed) == (0, 2, 0)
    assert "retry later" not in report.summary()
    assert report.summary().endswith("2 messages wait for a resume")


async def test_a_message_failing_for_a_while_in_a_channel_paused_by_the_run_waits_once(
    db: Database | FakeDatabase,
) -> None:
    """One message to a channel fails for a while (its attempts back off), the other is
    refused for good and recorded first: the channel pauses, and the first, recorded
    later, waits with it instead of being retried into a paused channel."""
    ch = two_messages_to_one_channel(db)

    def behaviour(post: AlertPost, attempt: int) -> PostResult:
        if post.items[0].paper.title == "Graphs":
            return PostResult(ok=False, reason="http_502")
        return PostResult(ok=False, reason="channel_not_found", permanent=True)

    t1 = T0 + timedelta(minutes=1)
    report = await runner(db, FakeSink(alert_behaviour=behaviour), clock=lambda: t1).run(t1)
    assert_both_wait(db, report, ch)


@pytest.mark.parametrize("order", ["together", "retry-first"])
def test_a_retry_held_when_its_channel_pauses_in_the_same_run_is_counted_once(
    db: Database | FakeDatabase, order: str
) -> None:
    """The outcomes of one run reach the ledger in batches as posts end: a message that
    failed for a while, recorded with the refusal that pauses its channel or before it,
    is held with the channel and counted as waiting, not also as retrying."""
    ch = two_messages_to_one_channel(db)
    t1 = T0 + timedelta(minutes=1)
    ledger = runner(db, FakeSink(), clock=lambda: t1).ledger
    report = AlertReport(t1, "w1")
    ledger.plan(t1, report)
    jobs, _ = ledger.claim(t1)
    assert [[i.paper.title for i in job.items] for job in jobs] == [["Graphs"], ["Graphs again"]]
    transient = Verdict(DeliveryStatus.FAILED, reason="http_502")
    refused = Verdict(DeliveryStatus.FAILED, reason="channel_not_found", permanent=True)
    outcomes = [(jobs[0], transient), (jobs[1], refused)]
    if order == "together":
        ledger.record(outcomes, t1, report)
    else:
        ledger.record(outcomes[:1], t1, report)
        assert report.retrying == 1
        ledger.record(outcomes[1:], t1, report)
    assert_both_wait(db, report, ch)
