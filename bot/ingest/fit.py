"""Fit each record to what every supported database stores, before it reaches storage.

SQLite stores any length and any integer; PostgreSQL refuses a `paper_id` over 64
characters, a title key over 1,024, an organisation over 256, a GitHub URL over 512 and
integers of 2^31 or more, and one such value used to fail the whole batch (so a single
odd item in a live HF page blocked every scheduled ingest). Here display text is cut to
fit, and a record whose identity or counts cannot fit is rejected alone, with one line
saying why, so the rest of the batch goes in and both databases behave the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator

from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.text import shorten, title_key

# Column sizes in storage/tables.py (kept in step by tests/security/test_fit.py).
MAX_PAPER_ID = 64
MAX_TITLE_KEY = 1024
MAX_ORGANIZATION = 256
MAX_URL = 512
MAX_INT = 2**31 - 1
# Titles are cut well under the key limit; NFKC can lengthen a key a little.
_TITLE_CHARS = 900


class RecordRejected(IngestError):
    """One record that cannot be stored; the rest of its batch still can."""


def fit_record(record: PaperRecord, where: str) -> PaperRecord:
    """`record` cut to fit the columns, or `RecordRejected` when its id or a count cannot."""
    if record.paper_id is not None and len(record.paper_id) > MAX_PAPER_ID:
        raise RecordRejected(
            f"paper id {record.paper_id[:40]!r}… is longer than {MAX_PAPER_ID} characters", where
        )
    for name in ("upvotes", "comments", "author_count"):
        value = getattr(record, name)
        if value is not None and not 0 <= value <= MAX_INT:
            raise RecordRejected(f"{name} {value} is outside 0..{MAX_INT}", where)
    changes: dict[str, object] = {}
    if len(title_key(record.title)) > MAX_TITLE_KEY:
        title = shorten(record.title, _TITLE_CHARS)
        if len(title_key(title)) > MAX_TITLE_KEY:
            raise RecordRejected("title is too long to store", where)
        changes["title"] = title
    if record.organization and len(record.organization) > MAX_ORGANIZATION:
        changes["organization"] = shorten(record.organization, MAX_ORGANIZATION)
    # A cut URL is a broken link: drop it instead.
    if record.github_repo and len(record.github_repo) > MAX_URL:
        changes["github_repo"] = None
    if record.project_page and len(record.project_page) > MAX_URL:
        changes["project_page"] = None
    return dataclasses.replace(record, **changes) if changes else record  # type: ignore[arg-type]


def fit_records(records: Iterable[PaperRecord], rejected: list[str]) -> Iterator[PaperRecord]:
    """Fitted records; each rejected one adds its line to `rejected` and is skipped."""
    for number, record in enumerate(records, start=1):
        try:
            yield fit_record(record, f"record {number}")
        except RecordRejected as exc:
            rejected.append(str(exc))
