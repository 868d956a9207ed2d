"""Format detection from content alone, and the invalid-UTF-8 report."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from bot.ingest.detect import Format, decode_utf8, detect_format, is_gzip
from bot.ingest.errors import IngestError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fixtures/hf_daily_papers_2024-10-25.json", Format.HF_JSON),
        ("fixtures/hf_papers_search_sample.json", Format.HF_JSON),
        ("fixtures/arxiv_query_sample.xml", Format.ARXIV_ATOM),
        ("seeds/000_bc1dae328157c801.txt", Format.HF_PAGE),
        ("seeds/002_1bb46013d491ba01.txt", Format.HF_PAGE),
    ],
)
def test_real_files(shared_dir: Path, name: str, expected: Format) -> None:
    assert detect_format((shared_dir / name).read_bytes()) is expected


def test_corpus_is_gzip_jsonl(shared_dir: Path) -> None:
    path = shared_dir / "corpus" / "papers.jsonl.gz"
    with path.open("rb") as raw:
        assert is_gzip(raw.read(2))
    with gzip.open(path, "rb") as stream:
        assert detect_format(stream.read(1 << 16)) is Format.JSONL


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"id": "1", "title": "a"}\n{"id": "2", "title": "b"}\n', Format.JSONL),
        (b'{"id": "1", "title": "a", "abstract": "x"}\n', Format.JSONL),
        (b'{"id": "2401.00001", "title": "a", "summary": "x"}', Format.HF_JSON),
        (b'{\n  "papers": []\n}\n', Format.HF_JSON),
        (b'\xef\xbb\xbf  [{"paper": {"id": "1"}}]', Format.HF_JSON),
        (b'{"truncated": ', Format.HF_JSON),
        (b"<?xml version='1.0'?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">", Format.ARXIV_ATOM),
    ],
)
def test_small_heads(head: bytes, expected: Format) -> None:
    assert detect_format(head) is expected


@pytest.mark.parametrize(
    "head",
    [
        b"hello world\nthis is not a paper list\n",
        b"<html><body>502 Bad Gateway</body></html>",
        b"id,title\n1,foo\n",
        b"[build-system]\nrequires = []\n",
        b"{not json at all}",
        b"\x00\x01\x02binary",
    ],
)
def test_unknown_formats(head: bytes) -> None:
    with pytest.raises(IngestError, match=r"is not a known format \(expected .*JSON Lines\)"):
        detect_format(head)


def test_empty() -> None:
    with pytest.raises(IngestError, match="empty"):
        detect_format(b"  \n")


def test_invalid_utf8_names_the_byte_offset() -> None:
    with pytest.raises(IngestError) as info:
        detect_format(b"Daily Papers\n\nNov 7\n\nT\xff\xfeitle\n")
    assert info.value.location == "byte offset 22"
    assert "0xff" in info.value.message


def test_partial_decode_tolerates_a_cut_character_only_at_the_end() -> None:
    assert decode_utf8("café".encode()[:-1], partial=True) == "caf"
    with pytest.raises(IngestError):
        decode_utf8("café".encode()[:-1])
