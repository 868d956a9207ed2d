"""The ingest service against real storage, on SQLite and PostgreSQL: exact counts,
idempotent re-ingest, and bad files that leave the database untouched."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.ingest.detect import Format
from bot.ingest.errors import IngestError
from bot.ingest.service import ingest_file, ingest_paths, ingest_seeds, seed_files
from storage.db import Database
from storage.tables import PaperRow, UpvoteSnapshotRow

AS_OF = date(2025, 11, 7)
NOW = datetime(2025, 11, 7, 12, tzinfo=UTC)
LATER = datetime(2025, 11, 8, 12, tzinfo=UTC)


def _snapshot(db: Database) -> tuple[int, int, list[tuple[object, ...]]]:
    """Row counts plus the full content of a few rows, to prove nothing changed."""
    with db.session() as session:
        papers = session.scalar(select(func.count()).select_from(PaperRow)) or 0
        snaps = session.scalar(select(func.count()).select_from(UpvoteSnapshotRow)) or 0
        rows = session.execute(
            select(
                PaperRow.key,
                PaperRow.paper_id,
                PaperRow.title,
                PaperRow.abstract,
                PaperRow.upvotes,
                PaperRow.sources,
                PaperRow.updated,
            )
            .order_by(PaperRow.key)
            .limit(5)
        ).all()
    return papers, snaps, [tuple(r) for r in rows]


def _count(db: Database) -> int:
    with db.uow() as uow:
        return uow.papers.count()


def test_seed_files_are_package_data() -> None:
    names = [name for name, _ in seed_files()]
    assert names == [
        "seeds/000_bc1dae328157c801.txt",
        "seeds/001_5dc950244780a2b1.txt",
        "seeds/002_1bb46013d491ba01.txt",
        "seeds/003_beacb78799436043.txt",
    ]


def test_seeds_and_api_fixtures_make_234_papers_and_reingest_changes_nothing(
    db: Database, fixtures_dir: Path
) -> None:
    results = ingest_seeds(db.uow, as_of=AS_OF, now=NOW)
    assert [r.records for r in results] == [47, 48, 63, 55]
    assert all(r.ok and r.format is Format.HF_PAGE for r in results)
    assert _count(db) == 195
    files = [
        fixtures_dir / "hf_daily_papers_2024-10-25.json",
        fixtures_dir / "arxiv_query_sample.xml",
    ]
    results = ingest_paths(db.uow, files, as_of=AS_OF, now=NOW)
    assert [(r.format, r.records, r.stats.inserted) for r in results] == [
        (Format.HF_JSON, 29, 29),
        (Format.ARXIV_ATOM, 10, 10),
    ]
    assert _count(db) == 234
    before = _snapshot(db)

    again = ingest_seeds(db.uow, as_of=AS_OF, now=LATER)
    again += ingest_paths(db.uow, files, as_of=AS_OF, now=LATER)
    assert all(r.ok for r in again)
    assert sum(r.stats.inserted + r.stats.updated + r.stats.merged for r in again) == 0
    assert [r.stats.unchanged for r in again] == [47, 48, 63, 55, 29, 10]
    assert _snapshot(db) == before


def test_upvotes_update_and_fields_are_never_erased(db: Database, tmp_path: Path) -> None:
    first = [
        {
            "paper": {
                "id": "2410.17243",
                "title": "A paper",
                "summary": "Abstract.",
                "upvotes": 3,
                "ai_keywords": ["k"],
            },
            "numComments": 1,
        }
    ]
    second = [{"paper": {"id": "2410.17243v2", "upvotes": 9}, "title": "A paper"}]
    path = tmp_path / "day.json"
    path.write_text(json.dumps(first))
    ingest_file(db.uow, path, as_of=AS_OF, now=NOW)
    path.write_text(json.dumps(second))
    result = ingest_file(db.uow, path, as_of=AS_OF, now=LATER)
    assert result.stats.updated == 1
    with db.uow() as uow:
        paper = uow.papers.find_by_paper_id("2410.17243")
    assert paper is not None
    assert (paper.upvotes, paper.comments, paper.abstract, paper.keywords) == (
        9,
        1,
        "Abstract.",
        ("k",),
    )


BAD_FILES = {
    "unknown.bin": b"\x00\x01 just some bytes, not papers\n",
    "notes.txt": b"Shopping list\n\neggs\nmilk\n",
    "truncated.json": b'[{"paper": {"id": "2501.00001"}, "title": "Fine"}, {"paper": {"id": "25',
    "wrong_shape.json": b'{"count": 2, "next": null}',
    "missing_id.json": b'[{"paper": {"id": "2501.00001"}, "title": "ok"}, {"title": "no id"}]',
    "bad_utf8.txt": b"Daily Papers\n\nNov 7\n\nA title\n\nAn abstract\n" + b"\xc3\x28\n",
    "error.xml": (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><entry>'
        b"<id>http://arxiv.org/api/errors#bad</id><title>Error</title>"
        b"<summary>incorrect id format for 1234</summary></entry></feed>"
    ),
    "bad_line.jsonl": (
        b'{"id": "2501.00001", "title": "Fine", "abstract": "x"}\n'
        b'{"id": "2501.00002", "title": "Also fine", "abstract": "y"}\n'
        b'{"id": "2501.00003", "title": \n'
    ),
    "bad_line.jsonl.gz": gzip.compress(
        b'{"id": "2501.00001", "title": "Fine", "abstract": "x"}\n' + b"nope\n"
    ),
    "corrupt.gz": gzip.compress(b'{"id": "1", "title": "t", "abstract": "x"}\n' * 50)[:-30],
}
EXPECTED_ERRORS = {
    "unknown.bin": "is not a known format",
    "notes.txt": "is not a known format",
    "truncated.json": "truncated JSON",
    "wrong_shape.json": "top level: expected a JSON list of papers",
    "missing_id.json": "item 1: has no paper.id",
    "bad_utf8.txt": "byte offset 42: invalid UTF-8: invalid continuation byte (byte 0xc3)",
    "error.xml": "entry 1: arXiv API error: incorrect id format for 1234",
    "bad_line.jsonl": "line 3: invalid JSON",
    "bad_line.jsonl.gz": "line 2: invalid JSON",
    "corrupt.gz": "corrupt gzip data",
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_file_changes_nothing(db: Database, tmp_path: Path, name: str) -> None:
    ingest_seeds(db.uow, as_of=AS_OF, now=NOW)
    before = _snapshot(db)
    path = tmp_path / name
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(IngestError) as info:
        ingest_file(db.uow, path, as_of=AS_OF, now=LATER)
    assert EXPECTED_ERRORS[name] in str(info.value)
    assert _snapshot(db) == before


def test_bad_file_among_good_ones(db: Database, tmp_path: Path, fixtures_dir: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_bytes(BAD_FILES["truncated.json"])
    paths = [fixtures_dir / "arxiv_query_sample.xml", bad, tmp_path / "missing.json"]
    results = ingest_paths(db.uow, paths, as_of=AS_OF, now=NOW)
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].error is not None and "truncated JSON" in results[1].error
    assert results[2].error is not None and "cannot read" in results[2].error
    assert _count(db) == 10


def test_jsonl_gzip_streams_with_progress(db: Database, tmp_path: Path) -> None:
    lines = [
        json.dumps(
            {
                "id": f"2501.{i:05d}",
                "title": f"Paper {i}",
                "abstract": "x",
                "authors": ["A"],
                "published": "2025-01-02",
            }
        )
        for i in range(5000)
    ]
    path = tmp_path / "papers.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(lines).encode()))
    seen: list[tuple[int, int]] = []
    result = ingest_file(
        db.uow, path, as_of=AS_OF, now=NOW, progress=lambda done, total: seen.append((done, total))
    )
    assert (result.format, result.records, result.stats.inserted) == (Format.JSONL, 5000, 5000)
    size = path.stat().st_size
    assert seen[-1] == (size, size)
    assert len(seen) >= 3 and all(total == size for _, total in seen)
    assert _count(db) == 5000
