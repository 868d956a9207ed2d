"""Full reads of the papers table as `Paper`s, at bulk speed (an index rebuild, a catch-up).

A rebuild reads every row once and hands it to tantivy, so the read is a large part of the
Python thread's work (docs/search.md, "What a rebuild costs"). Two things keep it cheap:

- the JSON columns (and `urls`) come as one JSON array per row (`bundle`): five
  `json.loads` per row were 40 % of the reading at 138k papers;
- the date and timestamp columns, and that array, come as the driver hands them over
  (text on SQLite; `date`, aware `datetime` and decoded JSON on PostgreSQL), without
  SQLAlchemy's result processing, and `ScanDecoder` turns them into what the ORM would
  give: a `date`, a UTC-aware `datetime` (as `storage.tables.UTCDateTime`), a list.
  Texts are memoised: a bulk ingest stamps every paper with the same two timestamps and
  the corpus has a few thousand publication days. With the cheaper `engine._meta`, reading
  the 138k papers and building their documents went from 3.5-3.6 to 2.6 CPU-s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import func, type_coerce
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from bot.models import Paper
from storage.tables import PaperRow

_T = TypeVar("_T")

# The plain columns a full scan reads, in `ScanDecoder.paper`'s order; the JSON ones
# follow as one. Date and timestamp columns are read untyped (see the module docstring).
_UNTYPED = frozenset({"published", "first_seen", "updated"})
_NAMES = (
    *("key", "title", "paper_id", "abstract", "author_count", "published", "upvotes"),
    *("comments", "github_repo", "organization", "ai_summary", "first_seen", "updated"),
)
SCAN_COLUMNS: list[ColumnElement[Any]] = [
    type_coerce(getattr(PaperRow, name), NullType()).label(name)
    if name in _UNTYPED
    else getattr(PaperRow, name)
    for name in _NAMES
]
_JSON_COLUMNS = [PaperRow.authors, PaperRow.keywords, PaperRow.categories, PaperRow.sources]
# Distinct texts remembered per scan, for each of dates and timestamps.
_MEMO_MAX = 100_000


def bundle(dialect: str) -> ColumnElement[Any]:
    """The JSON columns (and `urls`) as one JSON array, untyped: text on SQLite, a list
    on PostgreSQL (psycopg decodes `json`)."""
    columns = [*_JSON_COLUMNS, PaperRow.urls]
    if dialect == "postgresql":
        array = func.json_build_array(*columns)
    else:
        # json(): embed the stored text as JSON, not as a quoted string.
        array = func.json_array(*(func.json(c) for c in columns))
    return type_coerce(array, NullType())


def _utc(value: datetime) -> datetime:
    # As `UTCDateTime.process_result_value`: SQLite stores naive UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _memo(parse: Callable[[str], _T]) -> Callable[[Any], _T | None]:
    memo: dict[str, _T] = {}

    def convert(value: Any) -> _T | None:
        if value is None:
            return None
        if not isinstance(value, str):
            return value  # type: ignore[no-any-return]
        found = memo.get(value)
        if found is None:
            found = parse(value)
            if len(memo) < _MEMO_MAX:
                memo[value] = found
        return found

    return convert


class ScanDecoder:
    """Rows of `SCAN_COLUMNS` plus `bundle` (by position) into `Paper`s; one per scan."""

    def __init__(self) -> None:
        self._day = _memo(date.fromisoformat)
        self._text_stamp = _memo(lambda text: _utc(datetime.fromisoformat(text)))

    def _stamp(self, value: Any) -> datetime | None:
        return _utc(value) if isinstance(value, datetime) else self._text_stamp(value)

    def paper(self, row: Sequence[Any]) -> Paper:
        (key, title, paper_id, abstract, author_count, published, upvotes, comments) = row[:8]
        (github_repo, organization, ai_summary, first_seen, updated, json_bundle) = row[8:14]
        if isinstance(json_bundle, str):
            json_bundle = json.loads(json_bundle)
        authors, keywords, categories, sources, urls = json_bundle
        stamp = self._stamp
        return Paper(
            key=key,
            title=title,
            paper_id=paper_id,
            abstract=abstract,
            authors=tuple(authors or ()),
            author_count=author_count,
            published=self._day(published),
            upvotes=upvotes,
            comments=comments,
            github_repo=github_repo,
            project_page=(urls or {}).get("project"),
            organization=organization,
            keywords=tuple(keywords or ()),
            ai_summary=ai_summary,
            categories=tuple(categories or ()),
            sources=tuple(sources or ()),
            first_seen=stamp(first_seen),
            updated=stamp(updated),
        )
