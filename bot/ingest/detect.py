"""Recognise an input's format from its content, never from its file name.

`detect_format` looks at the first bytes of the (already decompressed) content: `<feed`
is arXiv Atom, `[` or a pretty-printed `{` is HF API JSON, one JSON object per line is
JSON Lines, and text whose header holds a page date (`Nov 7`) is a daily-papers page.
"""

from __future__ import annotations

import enum
import json
import re

from bot.ingest.errors import IngestError
from bot.ingest.hf_page import find_page_date

GZIP_MAGIC = b"\x1f\x8b"
# Enough to hold the first line of any realistic JSON Lines dump.
HEAD_BYTES = 1 << 20
EXPECTED = "HF daily-papers page text, HF API JSON, arXiv Atom XML or JSON Lines"
# How JSON can start; an INI or TOML `[section]` line cannot.
_JSON_ARRAY = re.compile(r'\[\s*(?:[{\["\]\d-]|true|false|null|$)')
_JSON_OBJECT = re.compile(r'\{\s*(?:["}]|$)')


class Format(enum.StrEnum):
    HF_PAGE = "hf-page"
    HF_JSON = "hf-json"
    ARXIV_ATOM = "arxiv-atom"
    JSONL = "jsonl"


def is_gzip(head: bytes) -> bool:
    return head.startswith(GZIP_MAGIC)


def decode_utf8(data: bytes, *, partial: bool = False) -> str:
    """Strict UTF-8 (a BOM is dropped). `partial`: `data` may end inside a character."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if partial and exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8-sig")
        bad = data[exc.start : exc.start + 1].hex()
        raise IngestError(
            f"invalid UTF-8: {exc.reason} (byte 0x{bad})",
            f"byte offset {exc.start}",
        ) from None


def detect_format(head: bytes) -> Format:
    """The format of content that starts with `head` (decompressed, up to `HEAD_BYTES`)."""
    text = decode_utf8(head, partial=True).lstrip()
    if not text:
        raise IngestError("file is empty")
    if text.startswith("<"):
        if "<feed" in text[:4096] and "http://www.w3.org/2005/Atom" in text[:4096]:
            return Format.ARXIV_ATOM
    elif _JSON_ARRAY.match(text):
        return Format.HF_JSON
    elif _JSON_OBJECT.match(text):
        return _json_or_jsonl(text)
    elif find_page_date(text[:65536]) is not None:
        return Format.HF_PAGE
    raise IngestError(f"content is not a known format (expected {EXPECTED})")


def _json_or_jsonl(text: str) -> Format:
    first, _, rest = text.partition("\n")
    try:
        obj = json.loads(first)
    except (ValueError, RecursionError):
        # A pretty-printed, truncated or hostile object (nested too deep, a 5,000-digit
        # number): the JSON parser reports what is wrong.
        return Format.HF_JSON
    if rest.strip() or (isinstance(obj, dict) and "abstract" in obj):
        return Format.JSONL
    return Format.HF_JSON
