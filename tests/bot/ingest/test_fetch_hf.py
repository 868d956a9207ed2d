"""The HF daily-papers fetcher against a loopback server replaying the recorded response:
paging (Link and p/limit), 429 with Retry-After, RateLimit headers, 5xx and 4xx."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from bot.ingest.errors import FetchError
from bot.ingest.fetch_hf import fetch_daily_papers
from bot.ingest.hf_json import parse_hf_items
from bot.ingest.http_retry import RetryPolicy, rate_limit_wait, retry_after
from tests.bot.ingest.loopback import Reply, Request, json_reply, serve

FAST = RetryPolicy(retries=2, backoff=0.5, max_wait=60)


@pytest.fixture
def items(fixtures_dir: Path) -> list[object]:
    data = json.loads((fixtures_dir / "hf_daily_papers_2024-10-25.json").read_bytes())
    assert isinstance(data, list)
    return data


def _page(items: list[object], request: Request) -> list[object]:
    p, limit = int(request.query.get("p", 0)), int(request.query["limit"])
    return items[p * limit : (p + 1) * limit]


def test_follows_link_next(items: list[object]) -> None:
    def script(request: Request) -> Reply:
        p = int(request.query.get("p", 0))
        headers = {}
        if (p + 1) * 10 < len(items):
            headers["Link"] = f'</api/daily_papers?date=2024-10-25&p={p + 1}&limit=10>; rel="next"'
        return json_reply(json.dumps(_page(items, request)).encode(), **headers)

    sleeps: list[float] = []
    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(
            client, server.url + "/api", date="2024-10-25", limit=10, sleep=sleeps.append
        )
    assert len(got) == 29 and got == items
    assert len(parse_hf_items(got)) == 29
    assert [r.path for r in server.requests] == ["/api/daily_papers"] * 3
    assert [r.query for r in server.requests] == [
        {"date": "2024-10-25", "p": str(p), "limit": "10"} for p in range(3)
    ]
    assert sleeps == []


def test_pages_with_p_when_there_is_no_link(items: list[object]) -> None:
    def script(request: Request) -> Reply:
        return json_reply(json.dumps(_page(items, request)).encode())

    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(client, server.url, week="2024-W43", limit=10)
    assert got == items
    assert [r.query["p"] for r in server.requests] == ["0", "1", "2"]
    assert all(r.query["week"] == "2024-W43" for r in server.requests)


def test_stops_when_a_server_ignores_p(items: list[object]) -> None:
    def script(request: Request) -> Reply:
        return json_reply(json.dumps(items[:10]).encode())

    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(client, server.url, month="2024-10", limit=10)
    assert got == items[:10]
    assert len(server.requests) == 2


def test_429_with_retry_after_then_success(items: list[object]) -> None:
    calls = {"n": 0}

    def script(request: Request) -> Reply:
        calls["n"] += 1
        if calls["n"] == 1:
            return Reply(429, b"slow down", {"Retry-After": "7"})
        return json_reply(json.dumps(items).encode())

    sleeps: list[float] = []
    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(client, server.url, policy=FAST, sleep=sleeps.append)
    assert len(got) == 29
    assert sleeps == [7.0]
    assert len(server.requests) == 2


def test_ratelimit_header_makes_it_wait_before_the_next_page(items: list[object]) -> None:
    def script(request: Request) -> Reply:
        p = int(request.query["p"])
        headers = {"RateLimit-Policy": '"fixed window";"api";q=500;w=300'}
        headers["RateLimit"] = '"api";r=0;t=30' if p == 0 else '"api";r=499;t=300'
        return json_reply(json.dumps(_page(items, request)).encode(), **headers)

    sleeps: list[float] = []
    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(client, server.url, limit=20, sleep=sleeps.append)
    assert len(got) == 29
    assert sleeps == [30.0]


def test_5xx_is_retried_a_bounded_number_of_times_then_fails(items: list[object]) -> None:
    def script(request: Request) -> Reply:
        return Reply(503, b"<html>upstream unavailable</html>")

    sleeps: list[float] = []
    with serve(script) as server, httpx.Client() as client, pytest.raises(FetchError) as info:
        fetch_daily_papers(client, server.url, date="2024-10-25", policy=FAST, sleep=sleeps.append)
    assert len(server.requests) == 3
    assert sleeps == [0.5, 1.0]
    assert "HTTP 503 after 3 attempts" in info.value.message
    assert info.value.location is not None and "daily_papers" in info.value.location


def test_5xx_then_recovery(items: list[object]) -> None:
    calls = {"n": 0}

    def script(request: Request) -> Reply:
        calls["n"] += 1
        return Reply(502) if calls["n"] == 1 else json_reply(json.dumps(items).encode())

    with serve(script) as server, httpx.Client() as client:
        got = fetch_daily_papers(client, server.url, policy=FAST, sleep=lambda s: None)
    assert len(got) == 29


@pytest.mark.parametrize(
    ("reply", "needle"),
    [
        (Reply(404, b'{"error": "not found"}'), "HTTP 404"),
        (Reply(200, b"<html>hi</html>"), "not JSON"),
        (json_reply(b'{"error": "Invalid date"}'), "expected a list of papers"),
    ],
)
def test_other_failures_are_not_retried(reply: Reply, needle: str) -> None:
    with (
        serve(lambda request: reply) as server,
        httpx.Client() as client,
        pytest.raises(FetchError, match=needle),
    ):
        fetch_daily_papers(client, server.url, policy=FAST, sleep=lambda s: None)
    assert len(server.requests) == 1


def test_unreachable_server_fails_after_retries() -> None:
    sleeps: list[float] = []
    with httpx.Client() as client, pytest.raises(FetchError, match="unreachable after 3 attempts"):
        # Port 9 on loopback (discard) is closed here: the connection is refused.
        fetch_daily_papers(client, "http://127.0.0.1:9", policy=FAST, sleep=sleeps.append)
    assert sleeps == [0.5, 1.0]


def test_argument_checks() -> None:
    with httpx.Client() as client:
        with pytest.raises(ValueError, match="limit"):
            fetch_daily_papers(client, "http://127.0.0.1:9", limit=101)
        with pytest.raises(ValueError, match="at most one"):
            fetch_daily_papers(client, "http://127.0.0.1:9", date="2024-10-25", week="2024-W43")


@pytest.mark.parametrize(
    ("headers", "wait"),
    [
        ({"ratelimit": '"default";r=0;t=30'}, 30.0),
        ({"ratelimit": '"default";r=5;t=30'}, None),
        ({"ratelimit": '"a";r=3;t=10, "b";r=0;t=45'}, 45.0),
        ({"ratelimit": "limit=100, remaining=0, reset=12"}, 12.0),
        ({"ratelimit-remaining": "0", "ratelimit-reset": "20"}, 20.0),
        ({"ratelimit-remaining": "3", "ratelimit-reset": "20"}, None),
        ({}, None),
    ],
)
def test_rate_limit_headers(headers: dict[str, str], wait: float | None) -> None:
    assert rate_limit_wait(httpx.Headers(headers)) == wait


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"Retry-After": "12"})) == 12.0
    assert retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert retry_after(httpx.Headers({"Retry-After": "soon"})) is None
    assert retry_after(httpx.Headers({})) is None
