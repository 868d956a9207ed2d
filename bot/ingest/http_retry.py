"""Polite HTTP GETs for the live fetchers: bounded retries, backoff, and rate-limit headers.

`get` retries network errors, HTTP 429 and 5xx a bounded number of times, waiting as the
server asks (`Retry-After`, or the `RateLimit` headers) and otherwise backing off
exponentially, then raises `FetchError` with one clear line. `rate_limit_wait` reads
both the current IETF draft (`RateLimit: "default";r=0;t=30`) and the older
`RateLimit-Remaining`/`RateLimit-Reset` pair. Sleeping and the clock are injected so
tests prove the waits without waiting.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from bot.ingest.errors import FetchError

Sleep = Callable[[float], None]
Clock = Callable[[], float]

_ITEM_PARAM = re.compile(r"(?:^|;)\s*([a-z]+)\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
_DRAFT_PARAM = re.compile(r"\b(remaining|reset)\s*=\s*(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to try: `retries` extra attempts, backoff `backoff * 2**n`, waits capped."""

    retries: int = 4
    backoff: float = 1.0
    max_wait: float = 300.0

    def backoff_for(self, attempt: int) -> float:
        return float(min(self.backoff * 2**attempt, self.max_wait))


DEFAULT_POLICY = RetryPolicy()


class Throttle:
    """At most one request per `interval` seconds (arXiv asks for 3 s)."""

    def __init__(
        self, interval: float, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep
    ):
        self.interval = interval
        self._clock, self._sleep = clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        now = self._clock()
        if self._last is not None:
            delay = self._last + self.interval - now
            if delay > 0:
                self._sleep(delay)
                now = self._clock()
        self._last = now


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a `Retry-After` header (delta-seconds or an HTTP date)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def rate_limit_wait(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait before the next request when the quota is used up, else None."""
    waits: list[float] = []
    combined = headers.get("ratelimit")
    if combined:
        # Draft 07+: one structured item per policy, `"name";r=<remaining>;t=<reset>`.
        for item in combined.split(","):
            params = {k.lower(): int(v) for k, v in _ITEM_PARAM.findall(item)}
            if params.get("r") == 0:
                waits.append(float(params.get("t", 1)))
        # Drafts 03-06 put `limit=, remaining=, reset=` in the one header.
        draft = {k.lower(): int(v) for k, v in _DRAFT_PARAM.findall(combined)}
        if draft.get("remaining") == 0:
            waits.append(float(draft.get("reset", 1)))
    remaining = headers.get("ratelimit-remaining")
    if remaining is not None and remaining.strip() == "0":
        reset = headers.get("ratelimit-reset", "1").strip()
        waits.append(float(reset) if reset.isdigit() else 1.0)
    return max(waits) if waits else None


def _snippet(response: httpx.Response) -> str:
    text = " ".join(response.text.split())
    return f": {text[:120]}" if text else ""


def get(
    client: httpx.Client,
    url: str,
    *,
    params: Mapping[str, Any] | None = None,
    what: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Sleep = time.sleep,
    before_request: Callable[[], None] | None = None,
) -> httpx.Response:
    """GET with bounded retries; returns a 2xx/3xx response or raises `FetchError`."""
    attempt = 0
    while True:
        if before_request is not None:
            before_request()
        try:
            response = client.get(url, params=params)
        except httpx.TransportError as exc:
            if attempt >= policy.retries:
                raise FetchError(
                    f"{what} unreachable after {attempt + 1} attempts: {exc}", url
                ) from None
            sleep(policy.backoff_for(attempt))
            attempt += 1
            continue
        status = response.status_code
        if status == 429 or status >= 500:
            if attempt >= policy.retries:
                raise FetchError(
                    f"{what} answered HTTP {status} after {attempt + 1} attempts"
                    + _snippet(response),
                    str(response.url),
                )
            wait = retry_after(response.headers)
            if wait is None and status == 429:
                wait = rate_limit_wait(response.headers)
            sleep(min(wait if wait is not None else policy.backoff_for(attempt), policy.max_wait))
            attempt += 1
            continue
        if status >= 400:
            raise FetchError(
                f"{what} answered HTTP {status}" + _snippet(response), str(response.url)
            )
        return response
