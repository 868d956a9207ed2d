"""`papers-bot digest run` end to end: signed slash commands subscribe channels through the
real bolt app, then `digest run` subprocesses post through the real Slack sink to the
loopback fake, with 429s, 500s, a SIGKILL mid fan-out and concurrent replicas.

Runs on SQLite and PostgreSQL. Nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.models import DeliveryStatus
from bot.testing.fakes import seed_papers
from storage.db import Database
from tests.digests_e2e.conftest import (
    FaultySlack,
    digest_run,
    papers_bot,
    slash_commands,
    start_digest_run,
    subscribe_by_slash_command,
    wait_until_workers_dead,
)
from tests.storage.helpers import list_subscriptions

CHANNELS = [f"C{i:04d}" for i in range(30)]
SUBSCRIBE = "subscribe 09:00 UTC days=daily"


def tomorrow_at(hour: int, minute: int) -> datetime:
    today = datetime.now(UTC).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC).replace(
        hour=hour, minute=minute
    )


def prepare(database_url: str) -> Database:
    db = Database(database_url)
    db.upgrade()
    # Papers published in the days up to the day after tomorrow, so both digests have content.
    seed_papers(db, (datetime.now(UTC) + timedelta(days=2)).date(), per_day=6, days=6)
    return db


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


async def test_faults_429_and_500_still_one_digest_per_channel(
    slack: FaultySlack, database_url: str, tmp_path: Path
) -> None:
    db = prepare(database_url)
    await subscribe_by_slash_command(slack, database_url, CHANNELS, SUBSCRIBE)
    for channel in CHANNELS:
        slack.fail("chat.postMessage", status=429, retry_after=1, channel=channel)
    slack.error_rate = 0.2
    out = await digest_run(slack, database_url, tmp_path, "--now", iso(tomorrow_at(9, 5)))
    assert "sent 30" in out and "failed 0" in out
    assert all(len(slack.digests(c)) == 1 for c in CHANNELS)
    posts = slack.calls_to("chat.postMessage")
    assert {c.params["channel"] for c in posts} == set(CHANNELS)
    assert len(posts) > 60  # every channel was rate-limited once, and some posts got a 500
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == 30
    again = await digest_run(slack, database_url, tmp_path, "--now", iso(tomorrow_at(9, 6)))
    assert "sent 0" in again
    assert len(slack.calls_to("chat.postMessage")) == len(posts)
    db.dispose()


async def test_no_paper_is_repeated_to_a_channel_the_next_day(
    slack: FaultySlack, database_url: str, tmp_path: Path
) -> None:
    db = prepare(database_url)
    channels = CHANNELS[:5]
    await subscribe_by_slash_command(slack, database_url, channels, SUBSCRIBE)
    await digest_run(slack, database_url, tmp_path, "--now", iso(tomorrow_at(9, 5)))
    day_after = tomorrow_at(9, 5) + timedelta(days=1)
    await digest_run(slack, database_url, tmp_path, "--now", iso(day_after))
    for channel in channels:
        first, second = slack.digests(channel)[::-1]  # history is newest first
        assert first["metadata"] != second["metadata"]
    with db.uow() as uow:
        subs = list_subscriptions(uow)
        for sub in subs:
            assert len(uow.deliveries.sent_paper_keys(sub.channel)) == 10  # 2 x top 5, no overlap
    db.dispose()


async def test_sigkill_mid_fan_out_then_rerun_gives_each_channel_exactly_one(
    slack: FaultySlack, database_url: str, tmp_path: Path
) -> None:
    db = prepare(database_url)
    await subscribe_by_slash_command(slack, database_url, CHANNELS, SUBSCRIBE)
    slack.latency = 0.3  # slow responses keep the fan-out going long enough to kill it
    now = iso(tomorrow_at(9, 5))
    proc = await start_digest_run(slack, database_url, tmp_path, "--now", now, "--concurrency", "4")
    await slack.wait_for(
        lambda calls: len([c for c in calls if c.method == "chat.postMessage"]) >= 8
    )
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    landed = sum(len(slack.digests(c)) for c in CHANNELS)
    # Let requests the dead process left in flight finish on the fake (they may still land).
    await asyncio.sleep(0.5)
    assert landed < len(CHANNELS)
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.PENDING) > 0
    await wait_until_workers_dead(database_url)
    slack.latency = 0.0
    out = await digest_run(slack, database_url, tmp_path, "--now", now)
    assert "recovered" in out
    assert [len(slack.digests(c)) for c in CHANNELS] == [1] * len(CHANNELS)
    assert slack.calls_to("conversations.history")  # pending rows were checked, not blindly resent
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == len(CHANNELS)
        assert uow.deliveries.count(DeliveryStatus.PENDING) == 0
    db.dispose()


@pytest.mark.postgres
async def test_two_replicas_started_together_deliver_once(
    slack: FaultySlack, postgres_url: str, tmp_path: Path
) -> None:
    db = prepare(postgres_url)
    await subscribe_by_slash_command(slack, postgres_url, CHANNELS, SUBSCRIBE)
    slack.latency = 0.05
    now = iso(tomorrow_at(9, 5))
    procs = await asyncio.gather(
        *(start_digest_run(slack, postgres_url, tmp_path, "--now", now) for _ in range(2))
    )
    results = await asyncio.gather(*(p.communicate() for p in procs))
    assert [p.returncode for p in procs] == [0, 0], [r[1].decode()[-2000:] for r in results]
    assert [len(slack.digests(c)) for c in CHANNELS] == [1] * len(CHANNELS)
    assert len(slack.calls_to("chat.postMessage")) == len(CHANNELS)
    with db.uow() as uow:
        assert uow.deliveries.count(DeliveryStatus.SENT) == len(CHANNELS)
    db.dispose()


async def test_three_permanent_failures_pause_and_the_pause_shows_everywhere(
    slack: FaultySlack, sqlite_url: str, tmp_path: Path
) -> None:
    # SQLite only: five subprocess runs; the pause logic itself is covered on both
    # databases by tests/bot/digests/test_runner.py.
    database_url = sqlite_url
    db = prepare(database_url)
    await subscribe_by_slash_command(slack, database_url, ["C0GONE", "C0FINE"], SUBSCRIBE)
    slack.channel_errors["C0GONE"] = "channel_not_found"
    for day in range(3):
        moment = tomorrow_at(9, 5) + timedelta(days=day)
        out = await digest_run(slack, database_url, tmp_path, "--now", iso(moment))
        assert "sent 1, failed 1" in out
    assert "paused 1" in out
    assert len(slack.digests("C0FINE")) == 3 and slack.digests("C0GONE") == []
    stats = json.loads(await papers_bot(slack, database_url, tmp_path, "stats", "--json"))
    assert stats["subscriptions_paused"] == 1
    assert stats["deliveries_by_status"]["failed"] == 3
    # `/papers subscriptions` in that channel, through the real bolt app, says so.
    replies = await slash_commands(slack, database_url, [("C0GONE", "subscriptions")])
    assert "PAUSED (channel_not_found)" in replies[0]

    # A paused subscription is not even attempted any more, though its time comes round.
    def attempts() -> int:
        return sum(c.params.get("channel") == "C0GONE" for c in slack.calls_to("chat.postMessage"))

    before = attempts()
    out = await digest_run(slack, database_url, tmp_path, "--now", iso(moment + timedelta(days=1)))
    assert "failed 0" in out and attempts() == before
    db.dispose()
