"""The daily-papers page-text parser on the real captures, on crafted edge cases, and
on generated pages (hypothesis)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.ingest.common import clean, clean_all
from bot.ingest.errors import IngestError
from bot.ingest.hf_page import MONTHS, parse_hf_page, resolve_date
from bot.text import clean_text, title_key

AS_OF = date(2025, 11, 7)
HEADER = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
HEADER += "byAK and the research community\n\nNov 7\n\n"

# Per file: entries, entries with a metadata block, entries with an upvote count.
EXPECTED = {
    "000_bc1dae328157c801.txt": (47, 47, 7),
    "001_5dc950244780a2b1.txt": (48, 47, 3),
    "002_1bb46013d491ba01.txt": (63, 0, 0),
    "003_beacb78799436043.txt": (55, 0, 0),
}


def _parse(seeds_dir: Path, name: str) -> list:
    return parse_hf_page((seeds_dir / name).read_text(encoding="utf-8"), as_of=AS_OF)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_capture_has_the_expected_entries(seeds_dir: Path, name: str) -> None:
    records = _parse(seeds_dir, name)
    entries, with_meta, with_upvotes = EXPECTED[name]
    assert len(records) == entries
    # Every entry has a date: its own from the metadata block, else the page date.
    assert all(r.published is not None for r in records)
    assert sum(r.author_count is not None or r.organization is not None for r in records) == (
        with_meta
    )
    assert sum(r.upvotes is not None for r in records) == with_upvotes
    assert all(r.title and r.abstract and r.source == "hf-page" for r in records)
    assert all(r.paper_id is None for r in records)


def test_all_captures_hold_213_entries_and_195_distinct_papers(seeds_dir: Path) -> None:
    records = [r for name in sorted(EXPECTED) for r in _parse(seeds_dir, name)]
    assert len(records) == 213
    assert len({title_key(r.title) for r in records}) == 195


def test_metadata_block_fields(seeds_dir: Path) -> None:
    first, second = _parse(seeds_dir, "000_bc1dae328157c801.txt")[:2]
    assert first.title == "Advances in Speech Separation: Techniques, Challenges, and Future Trends"
    assert first.abstract is not None and first.abstract.startswith(
        "The field of speech separation"
    )
    assert (first.author_count, first.published, first.upvotes) == (11, date(2025, 8, 14), 2)
    assert second.title.startswith("When, Why and How Much? Adaptive Learning Rate")
    assert (second.author_count, second.published, second.upvotes) == (4, date(2023, 10, 11), None)
    by_title = {r.title: r for r in _parse(seeds_dir, "000_bc1dae328157c801.txt")}
    org = [r for r in by_title.values() if r.organization]
    assert [(r.organization, r.author_count, r.published, r.upvotes) for r in org] == [
        ("ServiceNow-AI", None, date(2025, 9, 30), 2)
    ]
    upvoted_with_year = [r for r in by_title.values() if r.published == date(2023, 9, 25)]
    assert [r.upvotes for r in upvoted_with_year] == [2]


def test_entry_without_metadata_in_a_page_with_metadata(seeds_dir: Path) -> None:
    records = _parse(seeds_dir, "001_5dc950244780a2b1.txt")
    bare = [r for r in records if r.author_count is None and r.organization is None]
    assert len(bare) == 1
    assert bare[0].upvotes is None
    # No date of its own: it takes the page date ("Nov 7" in this capture's header).
    page = resolve_date(*_page_date(seeds_dir / "001_5dc950244780a2b1.txt"), None, AS_OF, "x")
    assert bare[0].published == page


def _page_date(path: Path) -> tuple[str, int]:
    for line in path.read_text(encoding="utf-8").splitlines()[:20]:
        parts = line.split()
        if len(parts) == 2 and parts[0] in MONTHS and parts[1].isdigit():
            return parts[0], int(parts[1])
    raise AssertionError(f"no page date in {path}")


@pytest.mark.parametrize("name", ["002_1bb46013d491ba01.txt", "003_beacb78799436043.txt"])
def test_captures_without_metadata_date_every_entry_by_the_page(seeds_dir: Path, name: str) -> None:
    month, day = _page_date(seeds_dir / name)
    page = resolve_date(month, day, None, AS_OF, "x")
    records = _parse(seeds_dir, name)
    assert {r.published for r in records} == {page}


def test_dates_without_year_resolve_against_as_of() -> None:
    # Same year when that is not in the future, otherwise the year before.
    assert resolve_date("Aug", 14, None, date(2025, 11, 7), "x") == date(2025, 8, 14)
    assert resolve_date("Dec", 24, None, date(2025, 11, 7), "x") == date(2024, 12, 24)
    assert resolve_date("Nov", 7, None, date(2025, 11, 7), "x") == date(2025, 11, 7)
    assert resolve_date("Feb", 29, None, date(2025, 11, 7), "x") == date(2024, 2, 29)
    assert resolve_date("Oct", 11, 2023, date(2025, 11, 7), "x") == date(2023, 10, 11)
    with pytest.raises(IngestError, match="Feb 30"):
        resolve_date("Feb", 30, None, date(2025, 11, 7), "line 9")


def test_as_of_changes_the_year_of_year_less_dates(seeds_dir: Path) -> None:
    early = parse_hf_page(
        (seeds_dir / "000_bc1dae328157c801.txt").read_text(encoding="utf-8"),
        as_of=date(2025, 3, 1),
    )
    assert early[0].published == date(2024, 8, 14)


@pytest.mark.parametrize(
    ("body", "location", "needle"),
    [
        ("", "line 1", "no page date"),
        ("Just some text\nwithout a date line\n", "line 1", "no page date"),
        (HEADER + "A lonely title\n", "line 13", "has no abstract"),
        (HEADER + "Title\n\nAbstract\n\n  • 3 authors\n\nAug 14\n", "line 17", "expected '·'"),
        (HEADER + "Title\n\nAbstract\n\n  • 3 authors\n·\nyesterday\n", "line 19", "a date like"),
        (HEADER + "Title\n\nAbstract\n\n  • 3 authors\n·\n", "line 18", "without a date"),
        (
            HEADER + "Title\n\nAbstract\n\n  • 3 authors\n·\nFeb 30, 2023\n",
            "line 19",
            "not a valid",
        ),
        (HEADER + "·\n\nAbstract\n", "line 13", "expected a paper title"),
        (HEADER + "Title\n\n  • 3 authors\n", "line 15", "expected an abstract"),
        (HEADER + "\u200b\n\nAbstract\n", "line 13", "title is empty"),
    ],
)
def test_bad_pages_name_the_line(body: str, location: str, needle: str) -> None:
    with pytest.raises(IngestError) as info:
        parse_hf_page(body, as_of=AS_OF)
    assert info.value.location == location
    assert needle in info.value.message


# --- generated pages ---------------------------------------------------------------------

_WORD = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-:'?!()é∞"
    ),
    min_size=1,
    max_size=12,
)
_SENTENCE = st.lists(_WORD, min_size=1, max_size=12).map(" ".join)
_DATE = st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))


@st.composite
def _entries(draw: st.DrawFn) -> list[dict[str, object]]:
    count = draw(st.integers(min_value=0, max_value=8))
    entries = []
    for _ in range(count):
        meta = draw(st.sampled_from(["none", "authors", "org"]))
        entry: dict[str, object] = {
            "title": draw(_SENTENCE),
            "abstract": draw(_SENTENCE),
            "meta": meta,
            "authors": draw(st.integers(min_value=1, max_value=300)),
            "org": draw(st.from_regex(r"[A-Za-z][A-Za-z0-9\-]{0,15}", fullmatch=True)),
            "date": draw(_DATE),
            "with_year": draw(st.booleans()),
            "upvotes": draw(st.none() | st.integers(min_value=0, max_value=9999)),
        }
        entries.append(entry)
    return entries


def _render(entries: list[dict[str, object]], as_of: date) -> str:
    out = [HEADER]
    for e in entries:
        out.append(f"{e['title']}\n\n{e['abstract']}\n\n")
        if e["meta"] == "none":
            continue
        when = e["date"]
        assert isinstance(when, date)
        if e["meta"] == "authors":
            out.append(f"  • {e['authors']} authors\n")
        else:
            out.append(f"{e['org']} {e['org']}\n")
        text = f"{MONTHS[when.month - 1]} {when.day}"
        if e["with_year"]:
            text += f", {when.year}"
        if e["upvotes"] is not None:
            text += f" {e['upvotes']}"
        out.append(f"·\n{text}\n\n")
    return "".join(out)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(entries=_entries(), as_of=_DATE)
def test_generated_pages_round_trip(entries: list[dict[str, object]], as_of: date) -> None:
    records = parse_hf_page(_render(entries, as_of), as_of=as_of)
    assert len(records) == len(entries)
    for entry, record in zip(entries, records, strict=True):
        assert record.title == clean_text(str(entry["title"]))
        assert record.abstract == clean_text(str(entry["abstract"]))
        if entry["meta"] == "none":
            # The generated header's page date is "Nov 7".
            page = resolve_date("Nov", 7, None, as_of, "x")
            assert record.published == page and record.upvotes is None
            continue
        when = entry["date"]
        assert isinstance(when, date) and record.published is not None
        assert (record.published.month, record.published.day) == (when.month, when.day)
        if entry["with_year"]:
            assert record.published == when
        else:
            assert record.published <= as_of
        assert record.upvotes == entry["upvotes"]
        if entry["meta"] == "authors":
            assert record.author_count == entry["authors"]
        else:
            assert record.organization == entry["org"]


@settings(max_examples=300)
@given(body=st.text(max_size=400), as_of=_DATE)
def test_garbage_raises_only_ingest_error(body: str, as_of: date) -> None:
    for text in (body, HEADER + body):
        try:
            records = parse_hf_page(text, as_of=as_of)
        except IngestError:
            continue
        assert all(r.title for r in records)


@settings(max_examples=300)
@given(
    lines=st.lists(
        st.sampled_from(
            [
                "Title",
                "Abstract",
                "·",
                "  • 3 authors",
                "Aug 14",
                "Feb 29",
                "Org Org",
                "Oct 11, 2023 5",
                "Feb 31",
                "",
            ]
        ),
        max_size=20,
    )
)
def test_shuffled_page_pieces_raise_only_ingest_error(lines: list[str]) -> None:
    try:
        parse_hf_page(HEADER + "\n".join(lines), as_of=AS_OF)
    except IngestError as exc:
        assert exc.location is not None and exc.location.startswith("line ")


@given(st.text(max_size=200))
def test_fast_clean_matches_clean_text(value: str) -> None:
    assert clean(value) == clean_text(value)


_TRICKY = st.sampled_from(
    list(" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2007\u2028\u2029\u202f\u3000")
    + list("\u200b\u200e\u202e\u2066\ufeff\xad\x00\x07\x7f\u0301\u00b4ﬁ①Å")
    + list("ab é")
)


@settings(max_examples=1000)
@given(st.text(alphabet=_TRICKY, max_size=40))
def test_fast_clean_matches_clean_text_on_whitespace_and_controls(value: str) -> None:
    assert clean(value) == clean_text(value)


@settings(max_examples=500)
@given(st.lists(st.text(alphabet=_TRICKY | st.sampled_from(list("|xY")), max_size=8), max_size=6))
def test_clean_all_matches_clean_text_per_name(values: list[str]) -> None:
    expected = tuple(name for name in (clean_text(v) for v in values) if name)
    assert clean_all(values) == expected
