"""The stored-only fields of a paper (`engine._meta`): the bytes the former dict-and-filter
version wrote, so generations written before and after read back the same papers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.models import Paper
from bot.search.engine import _meta, _paper_from_doc


def former_meta(paper: Paper) -> bytes:
    """`_meta` as it was before the rebuild work of issue 11 (without the memo)."""

    def iso(value: date | None) -> str | None:
        return value.isoformat() if value is not None else None

    data: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "author_count": paper.author_count,
        "published": iso(paper.published),
        "upvotes": paper.upvotes,
        "comments": paper.comments,
        "github_repo": paper.github_repo,
        "project_page": paper.project_page,
        "organization": paper.organization,
        "ai_summary": paper.ai_summary,
        "categories": list(paper.categories),
        "sources": list(paper.sources),
        "first_seen": iso(paper.first_seen),
        "updated": iso(paper.updated),
        "abstract_none": paper.abstract is None,
    }
    return json.dumps({k: v for k, v in data.items() if v not in (None, [], False)}).encode()


texts = st.one_of(st.none(), st.just(""), st.text(max_size=12))
counts = st.one_of(st.none(), st.integers(min_value=0, max_value=3))
stamps = st.one_of(
    st.none(),
    st.datetimes(
        min_value=datetime(2000, 1, 1),
        max_value=datetime(2030, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))]),
    ),
)


@given(
    paper_id=texts,
    abstract=texts,
    author_count=counts,
    published=st.one_of(st.none(), st.dates(min_value=date(1950, 1, 1))),
    upvotes=counts,
    comments=counts,
    strings=st.tuples(texts, texts, texts, texts),
    categories=st.lists(st.text(max_size=5), max_size=2),
    sources=st.lists(st.text(max_size=5), max_size=2),
    first_seen=stamps,
    updated=stamps,
)
def test_meta_writes_the_bytes_it_always_wrote(
    paper_id: str | None,
    abstract: str | None,
    author_count: int | None,
    published: date | None,
    upvotes: int | None,
    comments: int | None,
    strings: tuple[str | None, str | None, str | None, str | None],
    categories: list[str],
    sources: list[str],
    first_seen: datetime | None,
    updated: datetime | None,
) -> None:
    github_repo, project_page, organization, ai_summary = strings
    paper = Paper(
        key=1,
        title="T",
        paper_id=paper_id,
        abstract=abstract,
        author_count=author_count,
        published=published,
        upvotes=upvotes,
        comments=comments,
        github_repo=github_repo,
        project_page=project_page,
        organization=organization,
        ai_summary=ai_summary,
        categories=tuple(categories),
        sources=tuple(sources),
        first_seen=first_seen,
        updated=updated,
    )
    assert _meta(paper) == former_meta(paper)
    doc = {"key": [1], "title": ["T"], "abstract": [abstract or ""], "meta": [_meta(paper)]}
    back = _paper_from_doc(doc)
    assert back.first_seen == first_seen and back.published == published
