"""Alert delivery killed mid fan-out: a `papers-bot ingest file` subprocess posts its alert
messages through the real Slack sink to the loopback fake, is SIGKILLed while some posts
have landed and others wait out a 429, and the next ingest run takes the rest up.

Alerts are saved with signed `/papers alert …` commands through the real bolt app. Runs
on SQLite and PostgreSQL; nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot.alerts.models import AlertStatus
from storage.db import Database
from storage.leases import WorkerLease
from storage.tables import AlertDeliveryRow
from tests.digests_e2e.conftest import FaultySlack, cli_env, papers_bot, slash_commands

CHANNELS = [f"C{i:04d}" for i in range(12)]
STUCK = CHANNELS[::2]  # these answer 429 with a long Retry-After: not posted at the kill


def write_papers(path: Path, start: int, titles: list[str]) -> Path:
    lines = [
        json.dumps(
            {
                "id": f"2501.{start + i:05d}",
                "title": title,
                "abstract": "We study this.",
                "authors": ["Ada Lovelace"],
                "published": "2025-01-15",
                "source": "test",
            }
        )
        for i, title in enumerate(titles)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def alert_messages(slack: FaultySlack, channel: str) -> list[dict[str, Any]]:
    return [
        m
        for m in slack.history.get(channel, [])
        if (m.get("metadata") or {}).get("event_type") == "papers_alert"
    ]


async def wait_until_dead(database_url: str) -> None:
    """Until the killed worker's lease reads as dead (PostgreSQL drops a dead client's
    advisory lock a moment later). Only a bound against hanging."""
    db = Database(database_url)
    try:
        with db.session() as session:
            owners = set(
                session.scalars(
                    sa.select(AlertDeliveryRow.claimed_by).where(
                        AlertDeliveryRow.status == AlertStatus.PENDING.value
                    )
                )
            )
        probe = WorkerLease(db, "test-probe")
        for _ in range(500):
            if not any(owner and probe.is_alive(owner) for owner in owners):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"workers {owners} still hold their leases")
    finally:
        db.dispose()


async def test_sigkill_mid_alert_fan_out_then_next_ingest_delivers_each_once(
    slack: FaultySlack, database_url: str, tmp_path: Path
) -> None:
    db = Database(database_url)
    db.upgrade()
    replies = await slash_commands(slack, database_url, [(c, "alert diffusion") for c in CHANNELS])
    assert all("diffusion" in r for r in replies), replies
    for channel in STUCK:
        slack.fail("chat.postMessage", status=429, retry_after=600, channel=channel)
    slack.latency = 0.2

    first = write_papers(tmp_path / "one.jsonl", 1, ["Diffusion for robots", "Diffusion again"])
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runtime.cli.main",
        "ingest",
        "file",
        str(first),
        cwd=tmp_path,
        env=cli_env(slack, database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    # Every channel has been tried once: half posted, half told to wait 600 s.
    await slack.wait_for(
        lambda calls: len([c for c in calls if c.method == "chat.postMessage"]) >= len(CHANNELS)
    )
    await asyncio.sleep(0.5)  # the posts in flight land on the fake
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    landed = [c for c in CHANNELS if alert_messages(slack, c)]
    assert landed and set(landed) <= set(CHANNELS) - set(STUCK)
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.PENDING) > 0
        assert uow.alert_ledger.count(AlertStatus.SENT) < len(CHANNELS)

    await wait_until_dead(database_url)
    slack.latency = 0.0
    slack.faults.clear()
    second = write_papers(tmp_path / "two.jsonl", 50, ["Something unrelated"])
    await papers_bot(slack, database_url, tmp_path, "ingest", "file", str(second))

    # 0 lost, 0 duplicates: one alert message per channel, naming both papers.
    assert [len(alert_messages(slack, c)) for c in CHANNELS] == [1] * len(CHANNELS)
    for channel in CHANNELS:
        text = json.dumps(alert_messages(slack, channel)[0])
        assert "Diffusion for robots" in text and "Diffusion again" in text
    assert slack.calls_to("conversations.history")  # pending rows were looked for first
    with db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.SENT) == len(CHANNELS)
        assert uow.alert_ledger.count(AlertStatus.PENDING) == 0
    db.dispose()
