"""Done-when (issue 11): a CLI ingest while `serve slack` runs; the served bot finds the new
papers within one refresh of its index, on SQLite and PostgreSQL.

The serving process owns its index's writer, so the ingest commits to the database and
says the bot will index the papers; the bot's next refresh (PAPERS_INDEX_POLL_SECONDS)
applies them by change number. Nothing is timed: the test waits for the refresh's log
line, then searches once through Slack and once through the CLI.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.test_serve import (
    PAPERS_BOT,
    ServedProcess,
    bot_env,
    free_port,
    run_cli,
)

pytestmark = pytest.mark.slow

REFRESHED = "changes applied"  # "search index: N changes applied"
NEW_PAPERS = [
    {
        "id": "2611.00001",
        "title": "Quokka locomotion with spiking recurrent controllers",
        "abstract": "Legged robots learn to hop like marsupials.",
        "authors": ["Ada Marsupial"],
        "published": "2026-11-01",
    },
    {
        "id": "2611.00002",
        "title": "Wombat burrow mapping from sparse lidar",
        "abstract": "Underground scenes reconstructed from a few scans.",
        "authors": ["Bo Digger"],
        "published": "2026-11-02",
    },
]


async def _ready(session: aiohttp.ClientSession, ops: int, served: ServedProcess) -> None:
    for _ in range(1200):
        if served.proc.returncode is not None:
            raise AssertionError(f"serve exited:\n{served.stderr()[-3000:]}")
        try:
            async with session.get(f"http://127.0.0.1:{ops}/readyz") as resp:
                body = await resp.json()
                if resp.status == 200:
                    assert body["checks"]["search_index"]["ok"]
                    return
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError(f"/readyz never answered 200:\n{served.stderr()[-3000:]}")


async def _refreshes(served: ServedProcess, more_than: int) -> None:
    for _ in range(1200):
        if served.stderr().count(REFRESHED) > more_than:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the index was never refreshed:\n{served.stderr()[-3000:]}")


async def test_a_cli_ingest_reaches_the_served_bot_within_one_refresh(
    fake: FakeSlack, database_url: str, tmp_path: Path
) -> None:
    ops = free_port()
    env = {
        **bot_env(fake, database_url),
        "PAPERS_METRICS_PORT": str(ops),
        "PAPERS_INDEX_POLL_SECONDS": "1",
    }
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
        await _ready(served.session, ops, served)
        assert "search index opened: 195 papers" in served.stderr()

        corpus = tmp_path / "new.jsonl"
        corpus.write_text("".join(json.dumps(p) + "\n" for p in NEW_PAPERS), encoding="utf-8")
        before = served.stderr().count(REFRESHED)
        code, _out, err = await run_cli(env, "ingest", "file", str(corpus), cwd=tmp_path)
        assert code == 0, err
        # The bot owns the index's writer: the ingest leaves the papers to it.
        assert "picks these papers up at its next refresh" in err

        await _refreshes(served, before)
        call = await served.command("search quokka locomotion", "after")
        assert NEW_PAPERS[0]["title"] in call.text_dump()
        call = await served.command("search wombat burrow lidar", "after2")
        assert NEW_PAPERS[1]["title"] in call.text_dump()

        # A CLI search while the bot runs reads the same, caught-up index.
        code, out, err = await run_cli(env, "search", "quokka", "--json", cwd=tmp_path)
        assert code == 0, err
        assert [item["id"] for item in json.loads(out)][:1] == ["2611.00001"]
        code, out, err = await run_cli(env, "index", "status", "--json", cwd=tmp_path)
        assert code == 0, err
        status = json.loads(out)
        assert status["behind"] == 0
        assert status["papers_in_index"] == status["papers_in_database"] == 197
    finally:
        await served.stop()
