"""Request signature guard: every HTTP request must be signed by Slack, recently.

bolt's built-in verification answers a non-numeric `X-Slack-Request-Timestamp` with 500
(`int()` raises inside its middleware). This guard replaces it and answers 401 for a
missing, non-numeric, stale (older than 5 minutes) or forged request, before
authorization (no `auth.test` for strangers) and before any listener runs.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

_TIMESTAMP = re.compile(r"^\d{1,12}$")
_SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")


def _first(headers: Mapping[str, Sequence[str]] | Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return value[0] if value else None


def check_signature(
    verifier: SignatureVerifier,
    body: str | bytes,
    headers: Mapping[str, Sequence[str]] | Mapping[str, str],
) -> str | None:
    """None if the request is genuine, else a short reason (safe to log: no secrets)."""
    timestamp = _first(headers, "x-slack-request-timestamp")
    signature = _first(headers, "x-slack-signature")
    if not timestamp or not signature:
        return "missing signature headers"
    if not _TIMESTAMP.match(timestamp.strip()):
        return "non-numeric timestamp"
    if not _SIGNATURE.match(signature.strip()):
        return "malformed signature"
    now = int(verifier.clock.now())
    if abs(now - int(timestamp)) > 60 * 5:
        return "stale timestamp"
    if not signature_matches(verifier.signing_secret, body, timestamp.strip(), signature.strip()):
        return "signature mismatch"
    return None


def signature_matches(secret: str, body: str | bytes, timestamp: str, signature: str) -> bool:
    """Slack's `v0` HMAC over the raw bytes. slack_sdk's verifier decodes the body as UTF-8
    first and raises on any other byte, so it cannot judge an arbitrary body."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    base = b"v0:" + timestamp.encode("ascii") + b":" + raw
    expected = "v0=" + hmac.new(secret.encode("utf-8"), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


class SignatureGuard(AsyncMiddleware):
    """bolt middleware (installed as `before_authorize`) that rejects unsigned requests."""

    def __init__(self, signing_secret: str) -> None:
        self.verifier = SignatureVerifier(signing_secret=signing_secret)

    @property
    def name(self) -> str:
        return "SignatureGuard"

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse:
        # Socket Mode frames arrive over an authenticated WebSocket and carry no signature.
        if req.mode == "socket_mode":
            return await next()
        reason = check_signature(self.verifier, req.raw_body, req.headers)
        if reason is None:
            return await next()
        # Only the reason is logged: the body may hold user text and a response_url.
        log.warning("rejected Slack request: %s", reason)
        return BoltResponse(status=401, body={"error": "invalid request"})
