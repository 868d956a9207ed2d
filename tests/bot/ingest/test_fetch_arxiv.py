"""The arXiv fetcher against a loopback server replaying the recorded feed: paging, the
3-second spacing (proved with an injected clock, not by waiting), error entries, 5xx."""

from __future__ import annotations

import itertools
from pathlib import Path

import httpx
import pytest

from bot.ingest.errors import FetchError, IngestError
from bot.ingest.fetch_arxiv import fetch_arxiv
from bot.ingest.http_retry import RetryPolicy, Throttle
from tests.bot.ingest.loopback import Reply, Request, Script, atom_entries, atom_feed, serve

FAST = RetryPolicy(retries=2, backoff=0.5)
ERROR_ENTRY = (
    "<entry><id>http://arxiv.org/api/errors#start_must_be_non_negative</id>"
    "<title>Error</title><summary>start must be non-negative</summary></entry>"
)


class FakeClock:
    """Monotonic time that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def fixture_text(fixtures_dir: Path) -> str:
    return (fixtures_dir / "arxiv_query_sample.xml").read_text(encoding="utf-8")


def _paged(fixture_text: str) -> tuple[list[str], Script]:
    entries = atom_entries(fixture_text)

    def script(request: Request) -> Reply:
        start, size = int(request.query["start"]), int(request.query["max_results"])
        body = atom_feed(fixture_text, entries[start : start + size], total=len(entries))
        return Reply(200, body, {"Content-Type": "application/atom+xml"})

    return entries, script


def test_pages_until_max_with_the_documented_query(fixture_text: str) -> None:
    entries, script = _paged(fixture_text)
    assert len(entries) == 10
    clock = FakeClock()
    with serve(script) as server, httpx.Client() as client:
        records = fetch_arxiv(
            client,
            server.url + "/api/query",
            category="cs.LG",
            max_results=10,
            page_size=4,
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(records) == 10
    assert records[0].paper_id == "2202.12139"
    assert [(r.query["start"], r.query["max_results"]) for r in server.requests] == [
        ("0", "4"),
        ("4", "4"),
        ("8", "2"),
    ]
    assert all(
        r.query["search_query"] == "cat:cs.LG"
        and r.query["sortBy"] == "submittedDate"
        and r.query["sortOrder"] == "descending"
        and r.path == "/api/query"
        for r in server.requests
    )


def test_requests_are_spaced_by_the_interval(fixture_text: str) -> None:
    _, script = _paged(fixture_text)
    clock = FakeClock()
    sent_at: list[float] = []
    hooks = {"request": [lambda request: sent_at.append(clock())]}
    with serve(script) as server, httpx.Client(event_hooks=hooks) as client:
        fetch_arxiv(
            client,
            server.url,
            category="cs.LG",
            max_results=10,
            page_size=3,
            interval=3.0,
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(sent_at) == 4
    gaps = [b - a for a, b in itertools.pairwise(sent_at)]
    assert gaps == [3.0, 3.0, 3.0]
    assert clock.sleeps == [3.0, 3.0, 3.0]


def test_throttle_only_waits_for_the_rest_of_the_interval() -> None:
    clock = FakeClock()
    throttle = Throttle(3.0, clock=clock, sleep=clock.sleep)
    throttle.wait()
    clock.now += 1.0  # a request that took one second
    throttle.wait()
    clock.now += 5.0  # a slow one: no wait needed afterwards
    throttle.wait()
    assert clock.sleeps == [2.0]


def test_retries_are_throttled_too(fixture_text: str) -> None:
    calls = {"n": 0}
    entries = atom_entries(fixture_text)

    def script(request: Request) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return Reply(503, b"busy")
        return Reply(200, atom_feed(fixture_text, entries, total=10))

    clock = FakeClock()
    sent_at: list[float] = []
    hooks = {"request": [lambda request: sent_at.append(clock())]}
    with serve(script) as server, httpx.Client(event_hooks=hooks) as client:
        records = fetch_arxiv(
            client,
            server.url,
            category="cs.LG",
            max_results=50,
            policy=FAST,
            sleep=clock.sleep,
            clock=clock,
        )
    assert len(records) == 10
    # Backoff slept 0.5 s, then the throttle the remaining 2.5 s of its 3 s.
    assert sent_at[1] - sent_at[0] == 3.0
    assert clock.sleeps == [0.5, 2.5]


def test_error_entry_raises(fixture_text: str) -> None:
    def script(request: Request) -> Reply:
        return Reply(200, atom_feed(fixture_text, [ERROR_ENTRY], total=1))

    with serve(script) as server, httpx.Client() as client, pytest.raises(IngestError) as info:
        fetch_arxiv(client, server.url, category="cs.LG", max_results=5, interval=0.0)
    assert info.value.message == "arXiv API error: start must be non-negative"
    assert info.value.location is not None and "entry 1" in info.value.location


def test_5xx_fails_after_bounded_retries() -> None:
    with serve(lambda request: Reply(500, b"oops")) as server, httpx.Client() as client:
        with pytest.raises(FetchError, match="HTTP 500 after 3 attempts"):
            fetch_arxiv(
                client,
                server.url,
                category="cs.LG",
                max_results=5,
                interval=0.0,
                policy=FAST,
                sleep=lambda s: None,
            )
        assert len(server.requests) == 3


def test_empty_feed_stops(fixture_text: str) -> None:
    def script(request: Request) -> Reply:
        return Reply(200, atom_feed(fixture_text, [], total=0))

    with serve(script) as server, httpx.Client() as client:
        records = fetch_arxiv(client, server.url, category="cs.XX", max_results=500, interval=0.0)
    assert records == []
    assert len(server.requests) == 1
