"""SIGTERM in the middle of a digest fan-out, on served processes (`papers-bot serve slack`).

Replica A claims every due digest and posts them to the loopback Slack fake; ten channels
answer 429 with a long Retry-After, so their posts are still waiting when A gets SIGTERM.
A must finish what it can, hand the rest back (rows left `pending`, never half-recorded),
release its worker lease and exit 0; replica B, already serving, then recovers the
handed-back rows at its next tick. Every channel gets exactly one digest. On SQLite and
on PostgreSQL. While a replica drains, its ops server answers `/readyz` with 503, so a
load balancer sends it nothing new. Nothing asserts on elapsed time (bench/lifecycle.py
measures it).
"""

from __future__ import annotations

import asyncio
import signal
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa

from bot.models import DeliveryStatus
from storage.db import Database
from storage.tables import SubscriptionRow
from tests.digests_e2e.conftest import FaultySlack, cli_env, subscribe_by_slash_command
from tests.digests_e2e.test_slack_digests import prepare

CHANNELS = [f"C{i:04d}" for i in range(30)]
SLOW = CHANNELS[:10]
PATIENCE = 300.0  # bounds against hanging only


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def make_due_today(database_url: str) -> None:
    """Move every subscription's next run to 00:00 UTC today: due now, for today."""
    midnight = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), UTC)
    db = Database(database_url)
    try:
        with db.session() as session:
            session.execute(sa.update(SubscriptionRow).values(next_run_at=midnight))
            session.commit()
    finally:
        db.dispose()


class Served:
    """`papers-bot serve slack` as a subprocess, its stderr collected line by line."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def start(
        cls, slack: FaultySlack, database_url: str, cwd: Path, **settings: str
    ) -> Served:
        env = cli_env(slack, database_url)
        env.update(
            PORT=str(free_port()),
            PAPERS_HTTP_HOST="127.0.0.1",
            PAPERS_METRICS_PORT="0",
            PAPERS_DIGEST_TICK_SECONDS="1",
            PAPERS_SHUTDOWN_GRACE_SECONDS="1",
        )
        env.update(settings)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "runtime.cli.main",
            "serve",
            "slack",
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc)

    async def _read(self) -> None:
        assert self.proc.stderr is not None
        async for line in self.proc.stderr:
            self.lines.append(line.decode(errors="replace").rstrip())

    async def wait_for_line(self, needle: str) -> None:
        async with asyncio.timeout(PATIENCE):
            while not any(needle in line for line in self.lines):
                assert self.proc.returncode is None, self.text()
                await asyncio.sleep(0.05)

    async def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        async with asyncio.timeout(PATIENCE):
            code = await self.proc.wait()
            await self.reader
        return code

    def text(self) -> str:
        return "\n".join(self.lines)


async def test_sigterm_mid_fan_out_hands_back_and_the_other_replica_delivers(
    slack: FaultySlack, database_url: str, tmp_path: Path
) -> None:
    db = prepare(database_url)
    await subscribe_by_slash_command(slack, database_url, CHANNELS, "subscribe 00:00 UTC")
    make_due_today(database_url)
    for channel in SLOW:
        slack.fail("chat.postMessage", status=429, retry_after=60, channel=channel)
    slack.latency = 0.2

    first = await Served.start(slack, database_url, tmp_path)
    second: Served | None = None
    try:
        # A claims all 30 and posts 20; the 10 slow ones wait out their Retry-After.
        await slack.wait_for(
            lambda calls: (
                sum(len(slack.digests(c)) for c in CHANNELS) >= 20
                and len([c for c in calls if c.method == "chat.postMessage"]) >= 30
            ),
            wait=PATIENCE,
        )
        second = await Served.start(slack, database_url, tmp_path)
        await second.wait_for_line("digest clock started")
        assert sum(len(slack.digests(c)) for c in SLOW) == 0

        code = await first.stop(signal.SIGTERM)
        assert code == 0, first.text()
        assert "Traceback" not in first.text(), first.text()
        assert "SIGTERM received" in first.text()
        assert "handed back for recovery" in first.text(), first.text()

        # B takes over at its next tick: every channel ends with exactly one digest.
        await slack.wait_for(lambda calls: all(slack.digests(c) for c in CHANNELS), wait=PATIENCE)
        await second.wait_for_line("recovered")
        await asyncio.sleep(1.5)  # a tick more: nothing is sent twice
        assert [len(slack.digests(c)) for c in CHANNELS] == [1] * len(CHANNELS)
        with db.uow() as uow:
            assert uow.deliveries.count(DeliveryStatus.SENT) == len(CHANNELS)
            assert uow.deliveries.count(DeliveryStatus.PENDING) == 0
        code = await second.stop(signal.SIGTERM)
        assert code == 0, second.text()
        assert "Traceback" not in second.text(), second.text()
    finally:
        for served in (first, second):
            if served is not None and served.proc.returncode is None:
                served.proc.kill()
                await served.proc.wait()
        db.dispose()


async def test_sigint_stops_a_served_bot_with_130(
    slack: FaultySlack, sqlite_url: str, tmp_path: Path
) -> None:
    prepare(sqlite_url).dispose()
    served = await Served.start(slack, sqlite_url, tmp_path)
    try:
        await served.wait_for_line("digest clock started")
        code = await served.stop(signal.SIGINT)
    finally:
        if served.proc.returncode is None:
            served.proc.kill()
            await served.proc.wait()
    assert code == 130, served.text()
    assert served.lines[-1] == "interrupted"
    assert "Traceback" not in served.text()


async def readyz(session: aiohttp.ClientSession, port: int) -> tuple[int, dict[str, Any]] | None:
    """`/readyz` of a served process: its status and body, or None once it stopped listening."""
    try:
        async with session.get(f"http://127.0.0.1:{port}/readyz") as resp:
            return resp.status, await resp.json()
    except aiohttp.ClientConnectionError:
        return None


async def test_readyz_answers_503_while_draining_after_sigterm(
    slack: FaultySlack, sqlite_url: str, tmp_path: Path
) -> None:
    prepare(sqlite_url).dispose()
    await subscribe_by_slash_command(slack, sqlite_url, ["C0001"], "subscribe 00:00 UTC")
    make_due_today(sqlite_url)
    # The one digest waits out a long Retry-After, so the drain lasts the whole grace.
    slack.fail("chat.postMessage", status=429, retry_after=60, channel="C0001")
    ops_port = free_port()
    served = await Served.start(
        slack,
        sqlite_url,
        tmp_path,
        PAPERS_METRICS_PORT=str(ops_port),
        PAPERS_SHUTDOWN_GRACE_SECONDS="5",
    )
    try:
        await slack.wait_for(
            lambda calls: any(c.method == "chat.postMessage" for c in calls), wait=PATIENCE
        )
        async with aiohttp.ClientSession() as session:
            ready = await readyz(session, ops_port)
            assert ready is not None and ready[0] == 200, ready
            served.proc.send_signal(signal.SIGTERM)
            # Until it stops listening, the draining process must come to answer 503.
            answers: list[tuple[int, dict[str, Any]]] = []
            async with asyncio.timeout(PATIENCE):
                while (answer := await readyz(session, ops_port)) is not None:
                    answers.append(answer)
                    if answer[0] == 503:
                        break
                    await asyncio.sleep(0.02)
        assert answers and answers[-1][0] == 503, answers
        assert answers[-1][1]["failing"] == ["shutdown"], answers[-1]
        async with asyncio.timeout(PATIENCE):
            code = await served.proc.wait()
            await served.reader
        assert code == 0, served.text()
        assert "handed back for recovery" in served.text(), served.text()
    finally:
        if served.proc.returncode is None:
            served.proc.kill()
            await served.proc.wait()
