"""JSON Lines: the corpus shape (from the real corpus), the arXiv snapshot shape, bad lines."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import date
from pathlib import Path

import pytest

from bot.ingest.errors import IngestError
from bot.ingest.jsonl import iter_jsonl

SNAPSHOT_LINE = {
    "id": "0704.0001",
    "submitter": "Pavel Nadolsky",
    "authors": "C. Bal\\'azs, E. L. Berger, P. M. Nadolsky and C.-P. Yuan",
    "title": (
        "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies"
    ),
    "comments": "37 pages, 15 figures",
    "categories": "hep-ph",
    "abstract": (
        "  A fully differential calculation in perturbative quantum chromodynamics is\npresented.\n"
    ),
    "versions": [
        {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"},
        {"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
    ],
    "update_date": "2008-11-13",
}


def _corpus_head(shared_dir: Path, n: int) -> list[bytes]:
    with gzip.open(shared_dir / "corpus" / "papers.jsonl.gz", "rb") as stream:
        return list(itertools.islice(stream, n))


def test_corpus_sample_lines(shared_dir: Path) -> None:
    lines = _corpus_head(shared_dir, 500)
    records = list(iter_jsonl(lines))
    assert len(records) == 500
    raw = [json.loads(line) for line in lines]
    for rec, src in zip(records, raw, strict=True):
        # ACL ids are kept as ids too.
        assert rec.paper_id == src["id"]
        assert rec.authors == tuple(src["authors"])
        assert rec.published == date.fromisoformat(src["published"])
        assert rec.source == src["source"]
    assert records[0].paper_id == "1963.earlymt-1.1"


def test_arxiv_ids_in_the_corpus_stay_arxiv_ids(shared_dir: Path) -> None:
    line = json.dumps(
        {"id": "2504.04083", "title": "T", "abstract": "A", "authors": ["X"], "published": None}
    )
    (record,) = iter_jsonl([line.encode()])
    assert record.paper_id == "2504.04083" and record.published is None
    assert record.source == "jsonl"


def test_snapshot_shape() -> None:
    (record,) = iter_jsonl([json.dumps(SNAPSHOT_LINE).encode() + b"\n"])
    assert record.paper_id == "0704.0001"
    assert record.title == (
        "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert (
        record.abstract
        == "A fully differential calculation in perturbative quantum chromodynamics is presented."
    )
    assert record.authors == ("C. Bal\\'azs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan")
    assert record.published == date(2007, 4, 2)
    assert record.categories == ("hep-ph",)
    assert record.source == "arxiv-snapshot"


def test_snapshot_prefers_authors_parsed_and_falls_back_to_update_date() -> None:
    line = {
        **SNAPSHOT_LINE,
        "id": "math/0406123v2",
        "authors_parsed": [["Balázs", "C.", ""], ["Yuan", "C. -P.", "Jr"]],
        "versions": [],
    }
    (record,) = iter_jsonl([json.dumps(line).encode()])
    assert record.paper_id == "math/0406123"
    assert record.authors == ("C. Balázs", "C. -P. Yuan Jr")
    assert record.published == date(2008, 11, 13)


def test_blank_lines_are_skipped() -> None:
    line = json.dumps({"id": "P19-1001", "title": "T", "authors": []}).encode()
    assert len(list(iter_jsonl([b"\n", line, b"   \n"]))) == 1


@pytest.mark.parametrize(
    ("lines", "location", "needle"),
    [
        ([b'{"id": "1", "title": "ok"}\n', b'{"id": "2", "title": '], "line 2", "invalid JSON"),
        ([b"[1, 2]\n"], "line 1", "expected a JSON object"),
        ([b'{"id": "1"}\n'], "line 1", "has no title"),
        ([b'{"id": 5, "title": "t"}\n'], "line 1", "id should be a string"),
        ([b'{"title": "t", "authors": "A", "versions": 3}\n'], "line 1", "versions"),
        ([b'{"title": "t", "authors": [1]}\n'], "line 1", "authors"),
        ([b'{"title": "t", "published": "later"}\n'], "line 1", "ISO"),
        ([b'{"title": "t", "abstract": 3}\n'], "line 1", "abstract"),
        ([b'{"title": "ok"}\n', b'{"title": "caf\xe9"}\n'], "line 2", "byte offset 30"),
    ],
)
def test_bad_lines_name_the_line(lines: list[bytes], location: str, needle: str) -> None:
    with pytest.raises(IngestError) as info:
        list(iter_jsonl(lines))
    assert info.value.location == location
    assert needle in info.value.message


def test_streaming_yields_good_lines_before_the_bad_one() -> None:
    good = json.dumps({"id": "1", "title": "ok"}).encode()
    stream = iter_jsonl([good, good, b"{oops"])
    assert next(stream).title == "ok" and next(stream).title == "ok"
    with pytest.raises(IngestError, match="line 3"):
        next(stream)
