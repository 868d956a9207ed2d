"""Streaming parser for JSON Lines paper dumps, plain or gzip.

Two line shapes are understood:

* the corpus shape: `{id, title, abstract, authors: [..], published: "YYYY-MM-DD", source}`;
  ids are arXiv ids (`2504.04083`) or ACL Anthology ids (`P19-1001`), both kept as ids;
* the arXiv metadata snapshot: `authors` is one string ("A, B and C"), the date comes
  from `versions[0].created` (RFC 2822) or `update_date`, `categories` is space-separated.

Lines are decoded and parsed one at a time, so a 200 MB dump never sits in memory, and
a bad line is reported by its number.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from email.utils import parsedate_to_datetime
from typing import Any

from bot.ingest.common import clean, clean_all, clean_or_none, iso_date
from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.text import bare_arxiv_id

SOURCE = "jsonl"
SNAPSHOT_SOURCE = "arxiv-snapshot"
# "A, B and C", also "A, B, and C"; never split inside a name.
_AUTHOR_SPLIT = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")


def iter_jsonl(lines: Iterable[bytes], *, source: str | None = None) -> Iterator[PaperRecord]:
    """Records from the lines of a JSON Lines file (bytes, as read from a binary file).

    `source` overrides the record source; otherwise a line's own `source` string is kept.
    """
    offset = 0
    for number, raw in enumerate(lines, start=1):
        where = f"line {number}"
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise IngestError(f"invalid UTF-8 at byte offset {offset + exc.start}", where) from None
        offset += len(raw)
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise IngestError(f"invalid JSON: {exc.msg} (column {exc.colno})", where) from None
        except RecursionError:
            raise IngestError("JSON is nested too deeply", where) from None
        except ValueError as exc:
            # e.g. an integer of thousands of digits (Python's int conversion limit).
            raise IngestError(f"invalid JSON: {exc}", where) from None
        if not isinstance(data, dict):
            raise IngestError(f"expected a JSON object, got {type(data).__name__}", where)
        yield parse_line(data, where, source=source)


def parse_line(data: dict[str, Any], where: str, *, source: str | None = None) -> PaperRecord:
    raw_id = data.get("id")
    if raw_id is not None and not isinstance(raw_id, str):
        raise IngestError(f"id should be a string, got {type(raw_id).__name__}", where)
    title_raw = data.get("title")
    if not isinstance(title_raw, str) or not (title := clean(title_raw)):
        raise IngestError("has no title", where)
    abstract = data.get("abstract")
    if abstract is not None and not isinstance(abstract, str):
        raise IngestError(f"abstract should be a string, got {type(abstract).__name__}", where)
    authors_raw = data.get("authors")
    snapshot = isinstance(authors_raw, str) or "versions" in data or "update_date" in data
    if snapshot:
        authors = _snapshot_authors(data, where)
        published = _snapshot_date(data, where)
        categories = _snapshot_categories(data.get("categories"), where)
        record_source = source or SNAPSHOT_SOURCE
    else:
        authors = _author_list(authors_raw, where)
        published_raw = data.get("published")
        if published_raw is not None and not isinstance(published_raw, str):
            raise IngestError("published should be a YYYY-MM-DD string", where)
        published = iso_date(published_raw, where, "published") if published_raw else None
        categories = ()
        own = data.get("source")
        record_source = source or (own if isinstance(own, str) and own else SOURCE)
    paper_id = None
    if raw_id and raw_id.strip():
        paper_id = bare_arxiv_id(raw_id) or raw_id.strip()
    return PaperRecord(
        title=title,
        source=record_source,
        paper_id=paper_id,
        abstract=clean_or_none(abstract),
        authors=authors,
        author_count=len(authors) or None,
        published=published,
        categories=categories,
    )


def _author_list(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise IngestError("authors should be a list of strings", where)
    return clean_all(value)


def _snapshot_authors(data: dict[str, Any], where: str) -> tuple[str, ...]:
    parsed = data.get("authors_parsed")
    # authors_parsed ([last, first, suffix]) is cleaner than splitting the string.
    if isinstance(parsed, list) and parsed and all(isinstance(p, list) for p in parsed):
        names = [
            " ".join(x for x in (p[1:2] + p[0:1] + p[2:3]) if isinstance(x, str) and x)
            for p in parsed
        ]
        return tuple(n for n in (clean(n) for n in names) if n)
    value = data.get("authors")
    if value is None:
        return ()
    if not isinstance(value, str):
        raise IngestError("authors should be a string in the arXiv snapshot format", where)
    return tuple(n for n in (clean(p) for p in _AUTHOR_SPLIT.split(clean(value))) if n)


def _snapshot_date(data: dict[str, Any], where: str) -> date | None:
    versions = data.get("versions")
    if versions is not None:
        if not isinstance(versions, list):
            raise IngestError("versions should be a list", where)
        if versions:
            first = versions[0]
            created = first.get("created") if isinstance(first, dict) else None
            if isinstance(created, str):
                try:
                    return parsedate_to_datetime(created).date()
                except (TypeError, ValueError, OverflowError):
                    raise IngestError(
                        f"versions[0].created {created[:40]!r} is not an RFC 2822 date", where
                    ) from None
    updated = data.get("update_date")
    if isinstance(updated, str) and updated:
        return iso_date(updated, where, "update_date")
    return None


def _snapshot_categories(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(value.split())
    if isinstance(value, list) and all(isinstance(c, str) for c in value):
        return tuple(value)
    raise IngestError("categories should be a space-separated string", where)
