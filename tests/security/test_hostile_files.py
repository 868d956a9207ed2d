"""Hostile files end in one `IngestError` naming what and where, and never stop later files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.ingest.arxiv_atom import parse_arxiv_page
from bot.ingest.errors import IngestError
from bot.ingest.hf_json import parse_hf_json
from bot.ingest.jsonl import iter_jsonl
from bot.ingest.limits import Limits
from bot.ingest.service import ingest_file, parse_bytes
from storage.db import Database
from tests.runtime.cli.helpers import run_cli

AS_OF = date(2025, 11, 7)
NOW = datetime(2025, 11, 7, tzinfo=UTC)
ATOM = "http://www.w3.org/2005/Atom"
FEED = (
    '<?xml version="1.0" encoding="{enc}"?>\n'
    f'<feed xmlns="{ATOM}" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">'
    "<opensearch:totalResults>{total}</opensearch:totalResults>"
    "<entry><id>http://arxiv.org/abs/2410.17243v2</id><title>T</title></entry></feed>"
)
LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
    f'<feed xmlns="{ATOM}"><entry><id>http://arxiv.org/abs/2410.17243</id>'
    "<title>&lol3;</title></entry></feed>"
)


def test_json_nested_100k_deep() -> None:
    with pytest.raises(IngestError, match="nested too deeply"):
        parse_hf_json("[" * 100_000 + "]" * 100_000)
    with pytest.raises(IngestError, match="line 1"):
        list(iter_jsonl([b'{"a":' * 100_000 + b"1" + b"}" * 100_000 + b"\n"]))


def test_integer_of_5000_digits() -> None:
    with pytest.raises(IngestError):
        parse_hf_json('[{"paper": {"id": "2410.1", "upvotes": ' + "9" * 5000 + "}}]")
    with pytest.raises(IngestError, match="line 2"):
        list(iter_jsonl([b"\n", b'{"title": "x", "n": ' + b"9" * 5000 + b"}\n"]))


def test_superscript_total_results_is_not_a_count() -> None:
    page = parse_arxiv_page(FEED.format(enc="UTF-8", total="²").encode())
    assert page.total_results is None and len(page.records) == 1


@pytest.mark.parametrize("encoding", ["UTV-8", "UTF-7"])
def test_unusable_declared_encoding(encoding: str) -> None:
    with pytest.raises(IngestError, match="prolog"):
        parse_arxiv_page(FEED.format(enc=encoding, total="1").encode())


def test_snapshot_year_99999999999() -> None:
    line = json.dumps(
        {"title": "x", "versions": [{"created": "Mon, 2 Apr 99999999999 18:09:34 GMT"}]}
    )
    with pytest.raises(IngestError, match="line 1"):
        list(iter_jsonl([line.encode()]))


def test_utf16_atom_without_bom_is_refused() -> None:
    data = FEED.format(enc="UTF-16", total="1").encode("utf-16-le")
    with pytest.raises(IngestError, match="not UTF-8"):
        parse_arxiv_page(data)


def test_billion_laughs_is_refused() -> None:
    with pytest.raises(IngestError, match="DTD"):
        parse_arxiv_page(LAUGHS.encode())
    with pytest.raises(IngestError):
        parse_arxiv_page(LAUGHS.encode("utf-16-le"))


def _line(abstract_bytes: int, n: int = 0) -> bytes:
    row = {"id": f"2411.{n:05d}", "title": f"Paper {n}", "abstract": "a" * abstract_bytes}
    return json.dumps(row).encode() + b"\n"


def test_gzip_bomb_record_is_refused(tmp_path: Path, sqlite_db: Database) -> None:
    # 8 MiB abstract, about 8 KB on disk.
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(_line(0, 1) + _line(8 << 20, 2)))
    assert path.stat().st_size < 64 << 10
    with pytest.raises(IngestError, match=r"line 2: record exceeds the 1 MiB per-record limit"):
        ingest_file(sqlite_db.uow, path, as_of=AS_OF, now=NOW)
    with sqlite_db.uow() as uow:
        assert uow.papers.count() == 0


def test_gzip_bomb_file_is_refused(tmp_path: Path, sqlite_db: Database) -> None:
    # 40 MiB of small lines under a 16 MiB file cap; the whole file is refused.
    body = b"".join(_line(1000, n) for n in range(40_000))
    path = tmp_path / "bomb.jsonl.gz"
    path.write_bytes(gzip.compress(body, compresslevel=9))
    assert path.stat().st_size < 2 << 20
    with pytest.raises(IngestError, match="16 MiB per-file limit"):
        ingest_file(sqlite_db.uow, path, as_of=AS_OF, now=NOW, limits=Limits(16 << 20, 1 << 20))
    with sqlite_db.uow() as uow:
        assert uow.papers.count() == 0
    with pytest.raises(IngestError, match="per-file limit"):
        parse_bytes(path.read_bytes(), as_of=AS_OF, limits=Limits(16 << 20, 1 << 20))


def test_one_hf_json_record_too_large() -> None:
    item = {"paper": {"id": "2410.00001", "title": "t", "summary": "s" * (2 << 20)}}
    with pytest.raises(IngestError, match="record 1"):
        parse_bytes(json.dumps([item]).encode(), as_of=AS_OF)


def test_cli_bad_files_do_not_stop_the_good_ones(tmp_path: Path) -> None:
    good_a, good_b = tmp_path / "a.jsonl", tmp_path / "c.jsonl"
    good_a.write_bytes(_line(10, 1))
    good_b.write_bytes(_line(10, 3))
    hostile = {
        "deep.json": b"[" * 100_000 + b"]" * 100_000,
        "digits.jsonl": b'{"title": "x", "n": ' + b"9" * 5000 + b"}\n",
        "laughs.xml": LAUGHS.encode(),
        "utv.xml": FEED.format(enc="UTV-8", total="1").encode(),
        "bomb.jsonl.gz": gzip.compress(_line(0, 5) + _line(2 << 20, 2)),
    }
    paths = [good_a]
    for name, data in hostile.items():
        (tmp_path / name).write_bytes(data)
        paths.append(tmp_path / name)
    paths.append(good_b)
    url = f"sqlite:///{tmp_path / 'papers.db'}"
    result = run_cli("ingest", "file", *map(str, paths), "--json", database_url=url)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stderr
    report = json.loads(result.stdout)
    files = report["files"] if isinstance(report, dict) else report
    errors = {Path(f["file"]).name: f["error"] for f in files}
    assert errors["a.jsonl"] is None and errors["c.jsonl"] is None
    assert all(errors[name] for name in hostile), errors
