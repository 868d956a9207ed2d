"""Bounded, seeded fuzzing: whatever the input, only the project's own error types escape.

Every parser may raise `IngestError` and nothing else; both button decoders return a
value or None and never raise. `derandomize` makes each run the same examples, so a
failure reproduces and the suite stays a few seconds long.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.views import _TEMPLATE, page_offset
from adapters.slack.blocks import decode_button
from bot.ingest.arxiv_atom import parse_arxiv_page
from bot.ingest.detect import detect_format
from bot.ingest.errors import IngestError
from bot.ingest.hf_json import parse_hf_json
from bot.ingest.hf_page import parse_hf_page
from bot.ingest.jsonl import iter_jsonl
from bot.ingest.service import parse_bytes
from bot.paging import MAX_OFFSET

FUZZ = settings(
    max_examples=100,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
AS_OF = date(2025, 11, 7)

# JSON values with the shapes the parsers look at, and hostile scalars mixed in.
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=40),
    st.sampled_from(["2024-10-22", "99999999999-01-01", "Mon, 2 Apr 99999999999 18:09:34 GMT"]),
)
keys = st.sampled_from(
    [
        "id",
        "title",
        "abstract",
        "summary",
        "authors",
        "published",
        "publishedAt",
        "upvotes",
        "paper",
        "githubRepo",
        "organization",
        "versions",
        "update_date",
        "categories",
        "authors_parsed",
        "ai_keywords",
        "numComments",
        "name",
        "created",
        "source",
    ]
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=6),
    max_leaves=20,
)


def _only_ingest_errors(call: Callable[[], object]) -> None:
    # Any other exception fails the test, and hypothesis shrinks it to a small example.
    with contextlib.suppress(IngestError):
        call()


@FUZZ
@given(json_values)
def test_hf_json_raises_only_ingest_error(value: object) -> None:
    _only_ingest_errors(lambda: parse_hf_json(json.dumps(value)))


@FUZZ
@given(st.lists(json_values, max_size=4))
def test_jsonl_raises_only_ingest_error(values: list[object]) -> None:
    lines = [json.dumps(v).encode() + b"\n" for v in values]
    _only_ingest_errors(lambda: list(iter_jsonl(lines)))


@FUZZ
@given(st.binary(max_size=300))
def test_jsonl_bytes_raise_only_ingest_error(data: bytes) -> None:
    _only_ingest_errors(lambda: list(iter_jsonl(data.splitlines(keepends=True))))


ATOM_PARTS = st.lists(
    st.sampled_from(
        [
            '<?xml version="1.0" encoding="UTV-8"?>',
            '<?xml version="1.0" encoding="UTF-7"?>',
            '<feed xmlns="http://www.w3.org/2005/Atom" '
            'xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">',
            "</feed>",
            "<entry>",
            "</entry>",
            "<id>http://arxiv.org/abs/2410.17243v2</id>",
            "<title>T</title>",
            "<title>Error</title>",
            "<published>99999999999-01-01</published>",
            "<opensearch:totalResults>²</opensearch:totalResults>",
            "<opensearch:totalResults>99999999999999999999999</opensearch:totalResults>",
            '<!DOCTYPE x [<!ENTITY a "b">]>',
            "&a;",
            "<author><name>A</name></author>",
        ]
    )
    | st.text(max_size=10),
    max_size=12,
)


@FUZZ
@given(ATOM_PARTS, st.sampled_from(["utf-8", "utf-16-le", "utf-16"]))
def test_arxiv_atom_raises_only_ingest_error(parts: list[str], encoding: str) -> None:
    data = "".join(parts).encode(encoding, errors="replace")
    _only_ingest_errors(lambda: parse_arxiv_page(data))


PAGE_LINES = st.lists(
    st.sampled_from(
        [
            "Nov 7",
            "• 3 authors",
            "• 999999 authors",
            "·",
            "Aug 14 2",
            "Feb 29, 2023 5",
            "Oct 11, 9999 9999999",
            "Org Org",
            "²",
            "",
        ]
    )
    | st.text(max_size=30),
    max_size=16,
)


@FUZZ
@given(PAGE_LINES)
def test_hf_page_raises_only_ingest_error(lines: list[str]) -> None:
    _only_ingest_errors(lambda: parse_hf_page("\n".join(lines), as_of=AS_OF))


@FUZZ
@given(st.binary(max_size=400) | st.text(max_size=200).map(str.encode))
def test_detect_and_parse_raise_only_ingest_error(data: bytes) -> None:
    _only_ingest_errors(lambda: detect_format(data))
    _only_ingest_errors(lambda: parse_bytes(data, as_of=AS_OF))


@FUZZ
@given(json_values | st.text(max_size=60))
def test_slack_button_decoder_never_raises(value: object) -> None:
    raw = value if isinstance(value, str) else json.dumps({"c": "search", "q": "x", "o": value})
    state = decode_button(raw)
    assert state is None or 0 <= state.offset <= MAX_OFFSET


@FUZZ
@given(st.text(max_size=120))
def test_discord_page_id_decoder_never_raises(tail: str) -> None:
    for custom_id in (tail, f"papers:page:search:{tail}", f"papers:page:trending:{tail}:q:x"):
        match = _TEMPLATE.fullmatch(custom_id)
        if match is not None:
            offset = page_offset(match)
            assert offset is None or 0 <= offset <= MAX_OFFSET
