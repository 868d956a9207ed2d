"""Check a Slack request on its raw bytes, before bolt builds a request or parses a body.

bolt's aiohttp adapter decodes the body (`request.text()`) and parses it (JSON, form, or
a form `payload` holding JSON) while building the `AsyncBoltRequest`, which happens
before any middleware, so our signature guard ran too late: `[1]`, `null`,
`payload=%7Bx`, a form body with byte 0xff, or JSON sent as a form all raised inside
that step and came back as HTTP 500 with a traceback. `check_raw` runs first, on the
bytes: 401 for a request Slack did not sign, 400 for a signed body bolt could not
parse into an object. Rejections are logged at most once per client per minute.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

from adapters.slack.guard import check_signature

log = logging.getLogger(__name__)

LOG_EVERY_SECONDS = 60.0
# Forget clients once this many are remembered, so a scan from many addresses cannot
# grow the table without bound.
MAX_CLIENTS = 10_000


class RateLimitedLog:
    """Logs a warning for a client at most once per `every` seconds."""

    def __init__(self, every: float = LOG_EVERY_SECONDS) -> None:
        self.every = every
        self._last: dict[str, float] = {}

    def warning(self, client: str, message: str, *args: object) -> bool:
        now = time.monotonic()
        last = self._last.get(client)
        if last is not None and now - last < self.every:
            return False
        if len(self._last) >= MAX_CLIENTS:
            self._last.clear()
        self._last[client] = now
        log.warning(message, *args)
        return True


def _parse_error(body: bytes, content_type: str | None) -> str | None:
    """None if bolt will parse `body` into a JSON object, else what is wrong with it."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body is not UTF-8"
    media = content_type.split(";")[0].strip() if content_type else None
    try:
        # bolt's own parser, so this accepts exactly what bolt will accept. Its annotation
        # says dict, but a JSON body of `[1]` or `null` comes back as it is.
        parsed: object = parse_body(text, media)
    except (ValueError, RecursionError):
        return "unparseable body"
    if not isinstance(parsed, dict):
        return f"body is a JSON {type(parsed).__name__}, not an object"
    return None


class RawGuard:
    """Decides, from the raw request alone, whether bolt may see it."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret=signing_secret)
        self.log = RateLimitedLog()

    def check(self, client: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, str] | None:
        """None to pass the request on, else (HTTP status, reason)."""
        reason = check_signature(self.verifier, body, headers)
        if reason is not None:
            # Only the reason: the body may hold user text and a response_url.
            self.log.warning(client, "rejected Slack request from %s: %s", client, reason)
            return 401, reason
        problem = _parse_error(body, headers.get("content-type"))
        if problem is not None:
            self.log.warning(client, "rejected signed Slack request from %s: %s", client, problem)
            return 400, problem
        return None
