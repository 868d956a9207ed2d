"""How incoming paper records merge with stored ones: pure Python, no database.

`SqlPaperRepository.upsert_many` loads the stored rows that could match a chunk of
records (by paper id or by title key), and `reconcile` decides what each becomes: a new
row, an update of a stored row, or a title-only row folded into the row that now has the
arXiv id. A merge never erases a stored value and does not depend on the order records
arrive in (`bot.merge_rules`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from bot.merge_rules import count, fill, more_authors, union
from bot.models import PaperRecord
from bot.text import title_key

CHUNK = 2000  # records matched against stored rows per round trip

# Fields where a newer non-empty value wins; every other field is only filled when empty.
_COUNT_FIELDS = ("upvotes", "comments")
_FILL_FIELDS = (
    "abstract",
    "published",
    "github_repo",
    "organization",
    "ai_summary",
    "author_count",
)
_UNION_FIELDS = ("keywords", "categories", "sources")


def chunks(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


@dataclass(slots=True)
class Draft:
    """A paper's merged field values while a chunk is being reconciled."""

    values: dict[str, Any]
    key: int | None = None
    original: dict[str, Any] = field(default_factory=dict)
    absorbed: list[int] = field(default_factory=list)
    # An incoming record landed here; rows loaded only because they share a title are
    # not counted in the stats.
    hit: bool = False


def record_values(rec: PaperRecord) -> dict[str, Any]:
    urls: dict[str, Any] = {}
    if rec.project_page:
        urls["project"] = rec.project_page
    return {
        "paper_id": rec.paper_id,
        "title_key": title_key(rec.title),
        "title": rec.title,
        "abstract": rec.abstract or None,
        "authors": list(rec.authors),
        "author_count": rec.author_count
        if rec.author_count is not None
        else (len(rec.authors) or None),
        "published": rec.published,
        "upvotes": rec.upvotes,
        "comments": rec.comments,
        "urls": urls,
        "github_repo": rec.github_repo,
        "organization": rec.organization,
        "keywords": list(rec.keywords),
        "categories": list(rec.categories),
        "ai_summary": rec.ai_summary,
        "sources": [rec.source],
    }


def _merge_into(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge `new` into `target` by `bot.merge_rules`: never erases a stored value, and
    gives the same row whatever order the records arrive in."""
    if target.get("paper_id") is None and new.get("paper_id") is not None:
        target["paper_id"] = new["paper_id"]
    for name in _COUNT_FIELDS:
        target[name] = count(target.get(name), new.get(name))
    for name in _FILL_FIELDS:
        target[name] = fill(target.get(name), new.get(name))
    target["authors"] = list(more_authors(target.get("authors") or [], new.get("authors") or []))
    for name in _UNION_FIELDS:
        target[name] = union(
            target.get(name) or [], new.get(name) or [], primary=name == "categories"
        )
    urls = dict(target.get("urls") or {})
    for key, value in (new.get("urls") or {}).items():
        urls[key] = fill(urls.get(key), value)
    target["urls"] = urls
    title = fill(target.get("title"), new.get("title"))
    if title != target.get("title"):
        target["title"] = title
        target["title_key"] = new["title_key"]


ROW_FIELDS = (
    "paper_id",
    "title_key",
    "title",
    "abstract",
    "authors",
    "author_count",
    "published",
    "upvotes",
    "comments",
    "urls",
    "github_repo",
    "organization",
    "keywords",
    "categories",
    "ai_summary",
    "sources",
)


def reconcile(
    stored: Iterable[tuple[int, dict[str, Any]]], incoming: Iterable[dict[str, Any]]
) -> tuple[list[Draft], int]:
    """Merge `incoming` record values into the `stored` rows (key, values) they match.

    Returns the drafts to write (stored rows keep their key; new papers have none) and how
    many title-only rows were folded into a row with an arXiv id.
    """
    by_id: dict[str, Draft] = {}
    by_title: dict[str, list[Draft]] = {}
    drafts: list[Draft] = []

    def register(draft: Draft) -> None:
        drafts.append(draft)
        if draft.values["paper_id"]:
            by_id[draft.values["paper_id"]] = draft
        by_title.setdefault(draft.values["title_key"], []).append(draft)

    for key, values in stored:
        register(Draft(values=values, key=key, original=dict(values)))

    merged = 0
    for values in incoming:
        if not values["title_key"]:
            continue
        pid = values["paper_id"]
        same_title = by_title.get(values["title_key"], [])
        target = by_id.get(pid) if pid else None
        if pid is None:
            # No id: any paper with this title is the same paper; prefer one with an id.
            target = next((d for d in same_title if d.values["paper_id"]), None) or next(
                iter(same_title), None
            )
        else:
            orphan = next(
                (d for d in same_title if d.values["paper_id"] is None and d is not target),
                None,
            )
            if target is None and orphan is not None:
                target = orphan
            elif target is not None and orphan is not None:
                # The id arrived after a title-only row was stored: fold that row in.
                _merge_into(target.values, orphan.values)
                if orphan.key is not None:
                    target.absorbed.append(orphan.key)
                    if target.key is None:
                        target.key, orphan.key = orphan.key, None
                        target.absorbed.remove(target.key)
                drafts.remove(orphan)
                same_title.remove(orphan)
                merged += 1
        if target is None:
            register(Draft(values=values, hit=True))
        else:
            target.hit = True
            had_id = target.values["paper_id"]
            _merge_into(target.values, values)
            if had_id is None and target.values["paper_id"]:
                by_id[target.values["paper_id"]] = target
    return drafts, merged
