"""A served Slack bot survives a burst of hostile requests: only 2xx/4xx, bounded RSS.

`papers-bot serve slack` runs as a subprocess (as in test_serve.py); 100 requests of
every hostile kind (unsigned and signed junk bodies, forged buttons, bad signatures,
oversized bodies) go to it on loopback. bench/hostile_burst.py sends 1,000.
"""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from itertools import islice
from pathlib import Path

import aiohttp
import pytest

from tests.adapters.slack.fake_slack import FakeSlack
from tests.adapters.slack.hostile import hostile_requests
from tests.adapters.slack.test_serve import ServedProcess, served_process

pytestmark = pytest.mark.slow
__all__ = ["served_process"]

# bench/hostile_burst.py runs this test with HOSTILE_BURST=1000.
BURST = int(os.environ.get("HOSTILE_BURST", "100"))
MAX_RSS_GROWTH = 50 << 20


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


async def burst(
    served: ServedProcess, fake: FakeSlack, n: int, concurrency: int = 8
) -> Counter[tuple[str, int]]:
    outcomes: Counter[tuple[str, int]] = Counter()
    requests = list(islice(hostile_requests(fake.response_url), n))
    queue: asyncio.Queue[tuple[str, bytes, dict[str, str]]] = asyncio.Queue()
    for item in requests:
        queue.put_nowait(item)

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty():
            kind, body, headers = queue.get_nowait()
            async with session.post(
                f"{served.url}/slack/events", data=body, headers=headers
            ) as resp:
                await resp.read()
                outcomes[(kind, resp.status)] += 1

    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return outcomes


async def test_burst_of_hostile_requests(
    served_process: tuple[ServedProcess, dict[str, str]], fake: FakeSlack
) -> None:
    served, _env = served_process
    await served.wait_ready()
    # Warm up with one real command so lazily built state is in the baseline.
    await served.command("search speech", "warm")
    before = rss(served.proc.pid)
    outcomes = await burst(served, fake, BURST)
    after = rss(served.proc.pid)
    # Shown by bench/hostile_burst.py (pytest -s); the assertions below decide.
    statuses = Counter(status for (_kind, status), n in outcomes.items() for _ in range(n))
    print(
        f"\n{sum(outcomes.values())} requests; RSS {before / 2**20:.1f} -> "
        f"{after / 2**20:.1f} MiB (+{(after - before) / 2**20:.1f}); "
        f"statuses {dict(sorted(statuses.items()))}; by kind {dict(sorted(outcomes.items()))}"
    )
    server_errors = {k: v for k, v in outcomes.items() if k[1] >= 500}
    assert not server_errors, (server_errors, served.stderr()[-3000:])
    assert all(200 <= status < 500 for _kind, status in outcomes)
    assert served.proc.returncode is None
    assert after - before < MAX_RSS_GROWTH, (before, after)
    # Unsigned junk is 401 and signed junk 400: bolt never sees either.
    assert {s for (k, s) in outcomes if k == "unsigned junk"} == {401}
    assert {s for (k, s) in outcomes if k == "signed junk"} <= {400, 404}
    assert "Traceback" not in served.stderr()
