"""Fixtures for digest runs against the Slack adapter's loopback fake Web API.

`digest run` runs as a real subprocess (`python -m runtime.cli.main digest run …`), so a
crash can be a true SIGKILL and replicas are true concurrent processes; the fake Slack
API runs in the test's event loop and records what reached each channel.
"""

from __future__ import annotations

import asyncio
import random
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.slack.app import build_slack_app
from adapters.slack.runner import build_web_app
from adapters.slack.sink import EVENT_TYPE
from runtime.core import build_core
from storage.db import Database
from storage.leases import WorkerLease
from storage.tables import DeliveryRow
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, make_settings, sign, slash_body
from tests.adapters.slack.fake_slack import FakeSlack, Fault
from tests.runtime.cli.helpers import bot_environment

REPO = Path(__file__).resolve().parents[2]


@dataclass
class FaultySlack(FakeSlack):
    """The Slack fake plus latency and a seeded share of 500s on chat.postMessage."""

    latency: float = 0.0
    error_rate: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(7))

    async def _api(self, request: web.Request) -> web.Response:
        if self.latency:
            await asyncio.sleep(self.latency)
        return await super()._api(request)

    def _take_fault(self, method: str, channel: str | None) -> Fault | None:
        fault = super()._take_fault(method, channel)
        if fault is None and method == "chat.postMessage" and self.rng.random() < self.error_rate:
            return Fault(status=500)
        return fault

    def digests(self, channel: str) -> list[dict[str, Any]]:
        """Digest messages that reached `channel` (the fake's channel history)."""
        return [
            m
            for m in self.history.get(channel, [])
            if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE
        ]


@pytest.fixture
async def slack() -> AsyncIterator[FaultySlack]:
    server = FaultySlack()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


async def subscribe_by_slash_command(
    slack: FakeSlack, database_url: str, channels: Sequence[str], text: str
) -> None:
    """Drive the real bolt app over HTTP with signed `/papers subscribe …` commands."""
    replies = await slash_commands(slack, database_url, [(c, text) for c in channels])
    assert all("Subscribed" in r for r in replies), replies


async def slash_commands(
    slack: FakeSlack, database_url: str, commands: Sequence[tuple[str, str]]
) -> list[str]:
    """Send signed `/papers TEXT` commands (channel, text) through the real bolt app over
    HTTP; returns what each response_url received, as text."""
    import aiohttp

    settings = make_settings(slack, database_url)
    core = build_core(settings)
    bot = build_slack_app(core.commands, settings, kv=core.kv)
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    replies: list[str] = []
    try:
        async with aiohttp.ClientSession() as session:
            for channel, text in commands:
                rid = f"cmd{len(slack.calls)}"
                body = slash_body(text, response_url=slack.response_url(rid), channel=channel)
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
                url = str(server.make_url("/slack/events"))
                async with session.post(url, data=body.encode(), headers=headers) as resp:
                    assert resp.status == 200, await resp.text()
                call = await slack.wait_for(
                    lambda calls, rid=rid: next(
                        (
                            c
                            for c in calls
                            if c.method == "response_url" and c.path.endswith(f"/{rid}")
                        ),
                        None,
                    )
                )
                replies.append(call.text_dump())
    finally:
        await server.close()
        core.db.dispose()
    return replies


def cli_env(slack: FakeSlack, database_url: str) -> dict[str, str]:
    return bot_environment(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        PAPERS_LOG_FORMAT="text",
        PYTHONPATH=str(REPO),
    )


async def start_digest_run(
    slack: FakeSlack, database_url: str, cwd: Path, *args: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runtime.cli.main",
        "digest",
        "run",
        *args,
        cwd=cwd,
        env=cli_env(slack, database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def papers_bot(slack: FakeSlack, database_url: str, cwd: Path, *args: str) -> str:
    """Run `papers-bot ARGS…` as a subprocess; its stdout, after asserting exit code 0."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "runtime.cli.main",
        *args,
        cwd=cwd,
        env=cli_env(slack, database_url),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-3000:]
    return out.decode()


async def digest_run(slack: FakeSlack, database_url: str, cwd: Path, *args: str) -> str:
    return await papers_bot(slack, database_url, cwd, "digest", "run", *args)


async def wait_until_workers_dead(database_url: str) -> None:
    """After a SIGKILL, wait until the workers owning pending rows read as dead (PostgreSQL
    ends a dead client's session, and drops its advisory lock, a moment later). Only a
    bound against hanging; nothing asserts on time."""
    db = Database(database_url)
    try:
        with db.session() as session:
            owners = set(
                session.scalars(
                    sa.select(DeliveryRow.claimed_by).where(DeliveryRow.status == "pending")
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
