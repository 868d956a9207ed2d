"""Unsigned or unparseable Slack bodies get 401/400 from the raw-bytes guard, never 500."""

from __future__ import annotations

import logging

import pytest

from adapters.slack.raw_guard import RateLimitedLog
from tests.adapters.slack.conftest import Served
from tests.adapters.slack.hostile import FORM, JUNK, signed


async def _post(served: Served, body: bytes, headers: dict[str, str]) -> int:
    async with served.session.post(served.events_url, data=body, headers=headers) as resp:
        return resp.status


@pytest.mark.parametrize(("body", "ctype"), JUNK)
async def test_unsigned_junk_is_401(served: Served, body: bytes, ctype: str) -> None:
    assert await _post(served, body, {"Content-Type": ctype}) == 401


@pytest.mark.parametrize(("body", "ctype"), [j for j in JUNK if j[0]])
async def test_signed_junk_is_4xx(served: Served, body: bytes, ctype: str) -> None:
    # 400 from the guard when bolt could not parse it; a form bolt parses (`[1]=`) but
    # no listener handles is bolt's own 404.
    status = await _post(served, body, {"Content-Type": ctype, **signed(body)})
    assert status in (400, 404)


@pytest.mark.parametrize(
    ("body", "ctype"),
    [
        (b"[1]", "application/json"),
        (b"null", "application/json"),
        (b"payload=%7Bx", FORM),
        (b"text=\xff", FORM),
        (b'{"type": "x"', FORM),
    ],
)
async def test_signed_unparseable_is_400(served: Served, body: bytes, ctype: str) -> None:
    assert await _post(served, body, {"Content-Type": ctype, **signed(body)}) == 400


async def test_rejections_are_logged_once_per_client_per_minute(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="adapters.slack.raw_guard"):
        for _ in range(20):
            assert await _post(served, b"[1]", {"Content-Type": FORM}) == 401
    lines = [r for r in caplog.records if r.name == "adapters.slack.raw_guard"]
    assert len(lines) == 1 and "missing signature headers" in lines[0].getMessage()


def test_rate_limited_log_is_per_client() -> None:
    limiter = RateLimitedLog(every=60)
    assert limiter.warning("a", "x") and limiter.warning("b", "x")
    assert not limiter.warning("a", "x")
