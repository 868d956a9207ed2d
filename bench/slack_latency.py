"""Latency of `/papers search` through the real Slack stack, beside a core-only baseline.

Serves the bolt app over HTTP on loopback against the fake Slack API from the tests, and
times signed slash commands from POST until the answer reaches the response_url. The
baseline is `CommandCore.dispatch` alone on the same queries, so the difference is what
the Slack adapter (signature check, bolt, rendering, response_url post) adds.

    .venv/bin/python bench/slack_latency.py [--database-url URL] [--runs 200]

Without --database-url a temporary SQLite database is seeded with the bundled seeds.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from adapters.slack.app import build_slack_app  # noqa: E402
from adapters.slack.runner import build_web_app  # noqa: E402
from bot.commands.parser import parse  # noqa: E402
from bot.models import CommandRequest, Platform  # noqa: E402
from runtime.core import build_core  # noqa: E402
from tests.adapters.slack.conftest import (  # noqa: E402
    make_settings,
    seed_database,
    sign,
    slash_body,
)
from tests.adapters.slack.fake_slack import FakeSlack  # noqa: E402

QUERIES = [
    "cocktail party problem",
    "speech separation",
    "difusion modles",
    "large language model agents",
    "video generation",
    "reinforcement learning from human feedback",
    "tokenizer",
    "vision transformer",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{name:<22} n={len(ms):<4} p50={statistics.median(ms):7.1f} ms  "
        f"p95={percentile(ms, 0.95):7.1f} ms  max={max(ms):7.1f} ms"
    )


async def main(database_url: str | None, runs: int) -> None:
    tmp = tempfile.TemporaryDirectory()
    if database_url is None:
        database_url = f"sqlite:///{Path(tmp.name) / 'papers.db'}"
        seed_database(database_url)
    fake = await FakeSlack().start()
    settings = make_settings(fake, database_url)
    core = build_core(settings)
    bot = build_slack_app(core.commands, settings, kv=core.kv)
    server = TestServer(build_web_app(bot), host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url("/slack/events"))

    baseline = []
    for i in range(runs):
        request = CommandRequest(
            Platform.SLACK, "C0BENCH", "U0BENCH", parse(f"search {QUERIES[i % len(QUERIES)]}")
        )
        started = time.perf_counter()
        await core.commands.dispatch(request)
        baseline.append(time.perf_counter() - started)

    slack = []
    acks = []
    async with aiohttp.ClientSession() as session:
        for i in range(runs):
            body = slash_body(
                f"search {QUERIES[i % len(QUERIES)]}", response_url=fake.response_url(f"b{i}")
            )
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
            started = time.perf_counter()
            async with session.post(url, data=body, headers=headers) as resp:
                assert resp.status == 200
            acks.append(time.perf_counter() - started)
            await fake.wait_for(lambda calls, i=i: calls[-1].path == f"/response/b{i}")
            slack.append(time.perf_counter() - started)

    report("core dispatch (base)", baseline)
    report("slack ack", acks)
    report("slack answer", slack)
    await server.close()
    await fake.stop()
    core.db.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(main(args.database_url, args.runs))
