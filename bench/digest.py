"""Digest fan-out benchmark: `DigestRunner` posting to N Slack channels through the real
`SlackSink` (slack_sdk `AsyncWebClient`) against a loopback fake Web API with fixed latency.

Usage::

    python bench/digest.py                      # 10,000 channels, 50 ms latency, SQLite
    python bench/digest.py --channels 2000 --json
    python bench/digest.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

Two figures from the same run, side by side:

- **fan-out**: `run_due` over all N due subscriptions with `--concurrency` posts in flight
  (claims, content, posts, ledger writes: the whole run, wall clock);
- **sequential baseline**: the same runner with concurrency 1, i.e. one post at a time.
  At 50 ms a post that would take ~10 minutes for 10,000 channels, so it is measured on a
  subset (`--baseline-channels`, default 200) in a separate database and extrapolated
  linearly to N; the output says so.

Correctness is checked too: every channel must hold exactly one digest (zero duplicates,
none missing), counted on the fake's side from the message metadata.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.slack.sink import EVENT_TYPE, SlackSink
from bot.digests.runner import DigestRunner
from bot.models import PaperRecord, Platform
from storage.db import Database
from storage.tables import SubscriptionRow

NOW = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)
DUE = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
TOKEN = "xoxb-bench-0000000000-token"


class FakeSlackApi:
    """chat.postMessage and conversations.history with a fixed latency; counts per channel.

    Runs in a child process with its own event loop, so the fake's CPU time is not charged
    to the bot being measured. `GET /stats` returns the digests counted per channel.
    """

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.history: dict[str, list[dict[str, Any]]] = {}
        self._ts = 0

    async def _api(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.latency)
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = dict(await request.post())
        channel = str(params.get("channel"))
        if method == "chat.postMessage":
            self._ts += 1
            metadata = params.get("metadata")
            if isinstance(metadata, str):
                metadata = json.loads(metadata)
            message = {"ts": f"1700000000.{self._ts:06d}", "metadata": metadata}
            self.history.setdefault(channel, []).insert(0, message)
            return web.json_response({"ok": True, "channel": channel, "ts": message["ts"]})
        if method == "conversations.history":
            return web.json_response(
                {"ok": True, "messages": self.history.get(channel, []), "has_more": False}
            )
        return web.json_response({"ok": True})

    async def _stats(self, request: web.Request) -> web.Response:
        counts: Counter[str] = Counter()
        for channel, messages in self.history.items():
            for m in messages:
                if (m.get("metadata") or {}).get("event_type") == EVENT_TYPE:
                    counts[channel] += 1
        return web.json_response(dict(counts))

    def serve(self, port_out: Any) -> None:
        async def run() -> None:
            app = web.Application()
            app.router.add_post("/api/{method}", self._api)
            app.router.add_get("/stats", self._stats)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=4096)
            await site.start()
            port_out.send(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            await asyncio.Event().wait()

        asyncio.run(run())


class FakeProcess:
    def __init__(self, latency: float) -> None:
        parent, child = multiprocessing.Pipe()
        self.proc = multiprocessing.Process(
            target=FakeSlackApi(latency).serve, args=(child,), daemon=True
        )
        self.proc.start()
        self.port = parent.recv()
        self.url = f"http://127.0.0.1:{self.port}/api/"

    async def digests(self, session: aiohttp.ClientSession) -> Counter[str]:
        async with session.get(f"http://127.0.0.1:{self.port}/stats") as resp:
            return Counter(await resp.json())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.join()


def prepare(url: str, channels: int, prefix: str) -> Database:
    db = Database(url)
    db.upgrade()
    day = NOW.date()
    records = [
        PaperRecord(
            title=f"Bench paper {d} {i}",
            source="bench",
            paper_id=f"2603.{d:02d}{i:03d}",
            published=day - timedelta(days=d),
            upvotes=5 + i,
        )
        for d in range(4)
        for i in range(10)
    ]
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=NOW - timedelta(days=1))
    rows = [
        {
            "platform": "slack",
            "workspace": "T0BENCH",
            "channel": f"{prefix}{i:06d}",
            "at_time": "09:00",
            "timezone": "UTC",
            "weekdays": "0,1,2,3,4,5,6",
            "keywords": [],
            "min_upvotes": 0,
            "top_n": 5,
            "window_days": 3,
            "next_run_at": DUE,
            "paused": False,
            "consecutive_failures": 0,
            "created_at": NOW - timedelta(days=1),
            "updated_at": NOW - timedelta(days=1),
        }
        for i in range(channels)
    ]
    with db.session() as session:
        for start in range(0, len(rows), 2000):
            session.execute(insert(SubscriptionRow), rows[start : start + 2000])
    return db


@dataclass
class Measured:
    channels: int
    seconds: float
    sent: int
    duplicates: int
    missing: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0


async def measure(
    url: str, channels: int, concurrency: int, latency: float, prefix: str
) -> Measured:
    db = prepare(url, channels, prefix)
    fake = FakeProcess(latency)
    connector = aiohttp.TCPConnector(limit=max(100, concurrency * 2))
    session = aiohttp.ClientSession(connector=connector)
    try:
        # One shared HTTP session: a client without one opens a new connection per call.
        client = AsyncWebClient(token=TOKEN, base_url=fake.url, session=session, timeout=30)
        runner = DigestRunner(
            db.uow,
            {Platform.SLACK: SlackSink(client)},
            worker_id=f"bench-{prefix}",
            concurrency=concurrency,
        )
        started = time.perf_counter()
        report = await runner.run_due(NOW)
        seconds = time.perf_counter() - started
        counts = await fake.digests(session)
    finally:
        await session.close()
        fake.stop()
        db.dispose()
    expected = {f"{prefix}{i:06d}" for i in range(channels)}
    return Measured(
        channels=channels,
        seconds=seconds,
        sent=report.sent,
        duplicates=sum(max(0, counts[c] - 1) for c in expected),
        missing=sum(1 for c in expected if counts[c] == 0),
    )


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        if args.database_url:
            fan_url = base_url = args.database_url
        else:
            fan_url = f"sqlite:///{tmp}/fanout.db"
            base_url = f"sqlite:///{tmp}/baseline.db"
        baseline = await measure(base_url, args.baseline_channels, 1, args.latency, "B")
        fanout = await measure(fan_url, args.channels, args.concurrency, args.latency, "F")
    extrapolated = args.channels / baseline.rate if baseline.rate else float("inf")
    return {
        "channels": args.channels,
        "latency_ms": args.latency * 1000,
        "database": "postgresql" if args.database_url else "sqlite",
        "fanout": {
            "concurrency": args.concurrency,
            "seconds": round(fanout.seconds, 2),
            "digests_per_s": round(fanout.rate, 1),
            "sent": fanout.sent,
            "duplicates": fanout.duplicates,
            "missing": fanout.missing,
        },
        "sequential_baseline": {
            "measured_channels": baseline.channels,
            "measured_seconds": round(baseline.seconds, 2),
            "digests_per_s": round(baseline.rate, 1),
            "extrapolated_seconds_for_all": round(extrapolated, 1),
            "duplicates": baseline.duplicates,
            "missing": baseline.missing,
            "note": f"measured on {baseline.channels} channels, extrapolated linearly",
        },
        "speedup": round(fanout.rate / baseline.rate, 1) if baseline.rate else None,
        "target_digests_per_s": 200,
        "target_met": fanout.rate >= 200 and fanout.duplicates == 0 and fanout.missing == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="Fake API latency, s.")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--baseline-channels", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="Default: temporary SQLite files.")
    parser.add_argument("--json", action="store_true", help="Print one JSON object.")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    result = asyncio.run(main_async(args))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    fan, seq = result["fanout"], result["sequential_baseline"]
    print(f"digest fan-out to {args.channels} channels, fake latency {args.latency * 1000:.0f} ms")
    print(f"{'':24}{'fan-out':>14}{'sequential':>14}")
    print(f"{'concurrency':24}{fan['concurrency']:>14}{1:>14}")
    print(f"{'digests/s':24}{fan['digests_per_s']:>14}{seq['digests_per_s']:>14}")
    print(f"{'seconds for all':24}{fan['seconds']:>14}{seq['extrapolated_seconds_for_all']:>13}*")
    print(f"{'duplicates':24}{fan['duplicates']:>14}{seq['duplicates']:>14}")
    print(f"{'missing':24}{fan['missing']:>14}{seq['missing']:>14}")
    print(f"speed-up {result['speedup']}x; target >= 200 digests/s met: {result['target_met']}")
    print(f"* {seq['note']}")


if __name__ == "__main__":
    main()
