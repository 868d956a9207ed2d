"""Done-when: `papers-bot serve slack` as a subprocess, driven with signed requests.

The served process talks to the loopback fake Slack API (SLACK_API_URL) and answers on
the fake's response_url. Nothing here asserts on wall time; `bench/slack_latency.py`
measures latency.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.adapters.served import free_port
from tests.adapters.slack.conftest import BOT_TOKEN, SIGNING_SECRET, SURVEY, sign, slash_body
from tests.adapters.slack.fake_slack import Call, FakeSlack
from tests.runtime.cli.helpers import bot_environment

pytestmark = pytest.mark.slow

PAPERS_BOT = shutil.which("papers-bot", path=str(Path(sys.executable).parent)) or "papers-bot"


def bot_env(fake: FakeSlack, database_url: str) -> dict[str, str]:
    return bot_environment(
        **{
            "DATABASE_URL": database_url,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": fake.api_url,
            "PAPERS_HTTP_HOST": "127.0.0.1",
            "PAPERS_METRICS_PORT": "0",
            # Verbose on purpose: even at DEBUG no token may reach the log.
            "PAPERS_LOG_LEVEL": "DEBUG",
            "PAPERS_LOG_FORMAT": "json",
            # Scheduled ingestion must never leave the machine during the test.
            "PAPERS_HF_API_URL": fake.api_url,
            "PAPERS_ARXIV_API_URL": fake.api_url + "arxiv",
        }
    )


async def run_cli(env: dict[str, str], *args: str, cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        PAPERS_BOT,
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    return proc.returncode or 0, out.decode(), err.decode()


class ServedProcess:
    def __init__(
        self, proc: asyncio.subprocess.Process, port: int, stderr_path: Path, fake: FakeSlack
    ) -> None:
        self.proc = proc
        self.port = port
        self.stderr_path = stderr_path
        self.fake = fake
        self.session = aiohttp.ClientSession()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    async def wait_ready(self, wait: float = 120.0) -> None:
        # Startup migrates the database and builds the search index; poll /healthz.
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise AssertionError(f"serve exited early:\n{self.stderr()[-3000:]}")
            try:
                async with self.session.get(f"{self.url}/healthz") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
        raise AssertionError(f"serve never became ready:\n{self.stderr()[-3000:]}")

    async def post(self, body: str, headers: dict[str, str] | None = None) -> int:
        all_headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **(headers if headers is not None else sign(body)),
        }
        async with self.session.post(
            f"{self.url}/slack/events", data=body.encode(), headers=all_headers
        ) as resp:
            return resp.status

    async def command(self, text: str, rid: str, **kw: Any) -> Call:
        status = await self.post(slash_body(text, response_url=self.fake.response_url(rid), **kw))
        assert status == 200
        found: list[Call] = await self.fake.wait_for(
            lambda calls: [c for c in calls if c.path == f"/response/{rid}"], wait=30
        )
        return found[0]

    async def stop(self) -> None:
        await self.session.close()
        if self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 30)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()


@pytest.fixture
async def served_process(
    fake: FakeSlack, tmp_path: Path
) -> AsyncIterator[tuple[ServedProcess, dict[str, str]]]:
    env = bot_env(fake, f"sqlite:///{tmp_path / 'papers.db'}")
    code, _out, err = await run_cli(env, "ingest", "seeds", cwd=tmp_path)
    assert code == 0, err
    port = free_port()
    stderr_path = tmp_path / "serve.stderr"
    with stderr_path.open("wb") as stderr:
        proc = await asyncio.create_subprocess_exec(
            PAPERS_BOT,
            "serve",
            "slack",
            "--port",
            str(port),
            env=env,
            cwd=tmp_path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )
    served = ServedProcess(proc, port, stderr_path, fake)
    try:
        await served.wait_ready()
        yield served, env
    finally:
        await served.stop()


async def test_served_slack_process_end_to_end(
    served_process: tuple[ServedProcess, dict[str, str]], fake: FakeSlack, tmp_path: Path
) -> None:
    served, env = served_process

    # A signed search is answered with the speech-separation survey from the seeds.
    call = await served.command("search cocktail party problem", "first")
    assert SURVEY in call.text_dump()
    assert call.params["response_type"] == "ephemeral"

    # Forged, stale and garbled signatures are refused before any handler runs.
    body = slash_body("search cocktail party problem", response_url=fake.response_url("bad"))
    assert await served.post(body, sign(body, secret="forged-secret")) == 401
    assert await served.post(body, sign(body, timestamp=str(int(time.time()) - 600))) == 401
    assert await served.post(body, sign(body, timestamp="not-a-number")) == 401
    assert await served.post(body, {}) == 401

    # `/papers subscribe 09:00 UTC` creates exactly one subscription.
    call = await served.command("subscribe 09:00 UTC", "sub", channel="C0DIGESTS")
    assert "Subscribed" in call.text_dump()
    code, out, err = await run_cli(env, "stats", "--json", cwd=tmp_path)
    assert code == 0, err
    assert json.loads(out)["subscriptions"] == 1

    # 20 searches in a row are each answered.
    latencies = []
    for i in range(20):
        started = time.perf_counter()
        call = await served.command("speech separation", f"run{i}")
        latencies.append(time.perf_counter() - started)
        assert "Results 1–" in call.text_dump()
    print(f"20 searches: max {max(latencies) * 1000:.0f} ms")  # informational only

    # The rejected requests never produced an answer.
    assert [c for c in fake.calls if c.path == "/response/bad"] == []

    stderr = served.stderr()
    assert "rejected Slack request" in stderr
    assert BOT_TOKEN not in stderr
    assert SIGNING_SECRET not in stderr
