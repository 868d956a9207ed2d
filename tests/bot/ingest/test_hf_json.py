"""HF papers API JSON: the recorded daily_papers and papers/search responses, and bad shapes."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from bot.ingest.errors import IngestError
from bot.ingest.hf_json import parse_hf_items, parse_hf_json


def test_daily_papers_fixture(fixtures_dir: Path) -> None:
    records = parse_hf_json((fixtures_dir / "hf_daily_papers_2024-10-25.json").read_bytes())
    assert len(records) == 29
    assert len({r.paper_id for r in records}) == 29
    first = records[0]
    assert first.paper_id == "2410.17243"
    # The clean top-level title, not paper.title with its hard line break.
    assert first.title == (
        "Breaking the Memory Barrier: Near Infinite Batch Size Scaling for Contrastive Loss"
    )
    assert first.abstract is not None and "\n" not in first.abstract
    assert first.abstract.startswith("Contrastive loss is a powerful approach")
    assert first.authors[:2] == ("Zesen Cheng", "Hang Zhang")
    assert first.author_count == len(first.authors)
    assert first.published == date(2024, 10, 22)
    assert (first.upvotes, first.comments) == (64, 3)
    assert first.source == "hf-api"
    assert [r.upvotes for r in records] == sorted((r.upvotes or 0 for r in records), reverse=True)
    assert all("\n" not in r.title for r in records)


def test_papers_search_fixture(fixtures_dir: Path) -> None:
    records = parse_hf_json((fixtures_dir / "hf_papers_search_sample.json").read_text("utf-8"))
    assert len(records) == 9
    kazqad = records[0]
    assert kazqad.paper_id == "2404.04487"
    assert kazqad.title == "KazQAD: Kazakh Open-Domain Question Answering Dataset"
    assert kazqad.keywords[:2] == ("open-domain question answering (ODQA)", "reading comprehension")
    assert kazqad.comments == 0
    assert sum(bool(r.keywords) for r in records) == 6


def test_newer_fields_are_mapped() -> None:
    item = {
        "paper": {
            "id": "2501.00001v3",
            "title": "Wrapped\n  title",
            "summary": "Line one\nline two",
            "ai_summary": "Short\nsummary.",
            "ai_keywords": ["a", "b"],
            "githubRepo": "https://github.com/x/y",
            "projectPage": "https://x.github.io",
            "organization": {"name": "acme", "fullname": "Acme Labs"},
            "upvotes": 5,
        },
        "numComments": 2,
    }
    (record,) = parse_hf_items([item])
    assert record.paper_id == "2501.00001"
    assert record.title == "Wrapped title"
    assert record.abstract == "Line one line two"
    assert record.ai_summary == "Short summary."
    assert record.keywords == ("a", "b")
    assert record.github_repo == "https://github.com/x/y"
    assert record.project_page == "https://x.github.io"
    assert record.organization == "Acme Labs"
    assert (record.upvotes, record.comments) == (5, 2)


def test_minimal_items_and_single_paper_object() -> None:
    (minimal,) = parse_hf_items([{"paper": {"id": "2501.00002"}, "title": "Only a title"}])
    assert minimal.title == "Only a title" and minimal.abstract is None
    assert minimal.authors == () and minimal.published is None and minimal.upvotes is None
    (single,) = parse_hf_json(json.dumps({"id": "2501.00003", "title": "Bare paper"}))
    assert single.paper_id == "2501.00003"
    assert len(parse_hf_items({"papers": [{"id": "2501.00004", "title": "Wrapped"}]})) == 1


@pytest.mark.parametrize(
    ("text", "location", "needle"),
    [
        ('[{"paper": {"id": "2410.1', "line 1 column 19", "truncated JSON"),
        ('[{"paper": }]', "line 1 column 12", "invalid JSON"),
        ('{"count": 3}', "top level", "got an object without one"),
        ('"hello"', "top level", "got str"),
        ('[{"paper": {"title": "x"}}]', "item 0", "has no paper.id"),
        ('[{"paper": {"id": "1"}, "title": "ok"}, {"title": "no id"}]', "item 1", "no paper.id"),
        ('[{"paper": {"id": "2410.00001"}}]', "item 0", "has no title"),
        ("[1, 2]", "item 0", "expected an object"),
        ('[{"paper": "2410.00001"}]', "item 0", "paper should be an object"),
        ('[{"paper": {"id": "1", "upvotes": "many"}, "title": "t"}]', "item 0", "upvotes"),
        ('[{"paper": {"id": "1", "upvotes": true}, "title": "t"}]', "item 0", "upvotes"),
        ('[{"paper": {"id": "1", "authors": "A, B"}, "title": "t"}]', "item 0", "authors"),
        ('[{"paper": {"id": "1", "authors": [{"x": 1}]}, "title": "t"}]', "item 0", "name"),
        ('[{"paper": {"id": "1", "publishedAt": "soon"}, "title": "t"}]', "item 0", "ISO"),
        ('[{"paper": {"id": "1", "ai_keywords": [1]}, "title": "t"}]', "item 0", "keywords"),
    ],
)
def test_bad_json_names_the_place(text: str, location: str, needle: str) -> None:
    with pytest.raises(IngestError) as info:
        parse_hf_json(text)
    assert info.value.location == location
    assert needle in info.value.message


def test_truncated_fixture_is_reported_as_truncated(fixtures_dir: Path) -> None:
    data = (fixtures_dir / "hf_daily_papers_2024-10-25.json").read_bytes()[:50000]
    with pytest.raises(IngestError, match="truncated JSON"):
        parse_hf_json(data)
