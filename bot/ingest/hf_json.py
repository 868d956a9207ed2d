"""Parser for Hugging Face papers API JSON: `api/daily_papers` and `api/papers/search`.

Both answer a JSON list of items shaped `{paper: {id, title, summary, authors, …}, title,
numComments, …}`; a single paper (`api/papers/{id}`) is the bare `paper` object. Only
`paper.id` and a title are required: HF adds and drops fields over time, so every other
field is optional, but a field that is present with the wrong type is an error rather
than silently ignored.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.ingest.common import clean, clean_or_none, iso_date
from bot.ingest.errors import IngestError
from bot.models import PaperRecord
from bot.text import bare_arxiv_id

SOURCE = "hf-api"
# Keys under which a wrapper object might hold the item list.
_LIST_KEYS = ("papers", "items", "results", "data")


def parse_hf_json(text: str | bytes) -> list[PaperRecord]:
    """Decode HF API JSON text and parse its items."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # A cut-off download fails at (or in a string running to) the end of the text.
        tail = exc.doc.rstrip()
        truncated = exc.pos >= len(tail) or not tail.endswith(("]", "}"))
        problem = "truncated JSON" if truncated else "invalid JSON"
        raise IngestError(
            f"{problem}: {exc.msg}", f"line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise IngestError("JSON is nested too deeply", "top level") from None
    except ValueError as exc:
        # e.g. an integer of thousands of digits (Python's int conversion limit).
        raise IngestError(f"invalid JSON: {exc}", "top level") from None
    return parse_hf_items(data)


def parse_hf_items(data: object) -> list[PaperRecord]:
    """Records from already-decoded JSON: a list of items, a wrapper object, or one paper."""
    return [_parse_item(item, f"item {index}") for index, item in enumerate(_items(data))]


def _items(data: object) -> Sequence[object]:
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        for key in _LIST_KEYS:
            if isinstance(data.get(key), list):
                return list(data[key])
        if "paper" in data or ("id" in data and "title" in data):
            return [data]
        keys = ", ".join(sorted(map(str, data))[:8]) or "none"
        raise IngestError(
            f"expected a JSON list of papers, got an object without one (keys: {keys})", "top level"
        )
    raise IngestError(f"expected a JSON list of papers, got {type(data).__name__}", "top level")


def _get(obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int subclass; an upvote count of `true` is a shape error, not 1.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise IngestError(f"{key} should be {_kind_name(kind)}, got {type(value).__name__}", where)
    return value


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", list: "a list", dict: "an object"}
    kinds = kind if isinstance(kind, tuple) else (kind,)
    return " or ".join(names.get(k, k.__name__) for k in kinds)


def _parse_item(item: object, where: str) -> PaperRecord:
    if not isinstance(item, dict):
        raise IngestError(f"expected an object, got {type(item).__name__}", where)
    paper = item.get("paper", item)
    if not isinstance(paper, dict):
        raise IngestError(f"paper should be an object, got {type(paper).__name__}", where)
    raw_id = _get(paper, "id", str, where)
    if not raw_id or not raw_id.strip():
        raise IngestError("has no paper.id", where)
    # Top-level `title` is the clean one; paper.title has hard line breaks.
    raw_title = _get(item, "title", str, where) or _get(paper, "title", str, where)
    title = clean(raw_title or "")
    if not title:
        raise IngestError(f"paper {raw_id} has no title", where)

    def field(key: str, kind: type | tuple[type, ...]) -> Any:
        value = _get(paper, key, kind, where)
        return value if value is not None else _get(item, key, kind, where)

    authors = _authors(paper.get("authors"), where)
    published_raw = field("publishedAt", str)
    keywords = field("ai_keywords", list) or []
    if not all(isinstance(k, str) for k in keywords):
        raise IngestError("ai_keywords should be a list of strings", where)
    return PaperRecord(
        title=title,
        source=SOURCE,
        paper_id=bare_arxiv_id(raw_id) or raw_id.strip(),
        abstract=clean_or_none(field("summary", str)),
        authors=authors,
        author_count=len(authors) or None,
        published=iso_date(published_raw, where, "publishedAt") if published_raw else None,
        upvotes=_get(paper, "upvotes", int, where),
        comments=_get(item, "numComments", int, where),
        github_repo=clean_or_none(field("githubRepo", str)),
        project_page=clean_or_none(field("projectPage", str)),
        organization=_organization(field("organization", (str, dict)), where),
        keywords=tuple(k for k in (clean(k) for k in keywords) if k),
        ai_summary=clean_or_none(field("ai_summary", str)),
    )


def _authors(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise IngestError(f"paper.authors should be a list, got {type(value).__name__}", where)
    names: list[str] = []
    for author in value:
        name = author.get("name") if isinstance(author, dict) else author
        if not isinstance(name, str):
            raise IngestError("paper.authors entries need a name", where)
        if cleaned := clean(name):
            names.append(cleaned)
    return tuple(names)


def _organization(value: str | dict[str, Any] | None, where: str) -> str | None:
    # Newer responses give an object {name, fullname, avatar}; older ones a plain name.
    if isinstance(value, dict):
        name = value.get("fullname") or value.get("name")
        if name is not None and not isinstance(name, str):
            raise IngestError("organization.name should be a string", where)
        return clean_or_none(name)
    return clean_or_none(value)
