"""Hostile Slack HTTP requests, signed and unsigned: the kinds the issue-16 review sent.

`hostile_requests` cycles through them; the burst test in tests/ and
bench/hostile_burst.py both fire these at a served bot and expect only 2xx and 4xx.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from itertools import count

from tests.adapters.slack.conftest import SIGNING_SECRET, action_body, slash_body

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
# Bodies bolt could not parse: a JSON list, null, a broken form payload, a byte that is
# not UTF-8, JSON sent with a form content type, deep nesting, a huge integer.
JUNK: list[tuple[bytes, str]] = [
    (b"[1]", JSON),
    (b"null", JSON),
    (b"payload=%7Bx", FORM),
    (b"text=\xff&command=%2Fpapers", FORM),
    (b'{"type": "event_callback"', FORM),
    (b"[1]", FORM),
    (b"payload=" + b"%5B" * 5000, FORM),
    (b'{"a": ' + b"9" * 5000 + b"}", JSON),
    (b"", FORM),
    (b"\x00\x01\x02", "application/octet-stream"),
]
HOSTILE_OFFSETS: list[object] = [10**12, 2**63, -1, True, 1.5, "7", None, [1], 999_999_999]


def signed(
    body: bytes, *, timestamp: str | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    """Slack's signature headers for raw bytes (slack_sdk's signer needs UTF-8)."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    base = b"v0:" + ts.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def hostile_requests(
    response_url: Callable[[str], str],
) -> Iterator[tuple[str, bytes, dict[str, str]]]:
    """Endless (kind, body, headers) triples; `response_url(rid)` points replies at a fake."""
    for n in count():
        for body, ctype in JUNK:
            yield "unsigned junk", body, {"Content-Type": ctype}
            yield "signed junk", body, {"Content-Type": ctype, **signed(body)}
        for offset in HOSTILE_OFFSETS:
            value = json.dumps({"c": "search", "q": "speech", "o": offset})
            form = action_body("papers_next", value, response_url=response_url(f"b{n}")).encode()
            yield "signed hostile button", form, {"Content-Type": FORM, **signed(form)}
        command = slash_body("search " + "{" * 200, response_url=response_url(f"c{n}")).encode()
        yield "signed odd command", command, {"Content-Type": FORM, **signed(command)}
        yield "forged signature", command, {"Content-Type": FORM, **signed(command, secret="x")}
        yield "stale timestamp", command, {"Content-Type": FORM, **signed(command, timestamp="1")}
        yield (
            "non-numeric timestamp",
            command,
            {"Content-Type": FORM, **signed(command, timestamp="12ab")},
        )
        yield "oversized body", b"a=" + b"x" * (2 << 20), {"Content-Type": FORM}
