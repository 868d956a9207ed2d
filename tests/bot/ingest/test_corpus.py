"""The full 138k-paper corpus plus the seeds (slow; SQLite): the exact distinct count."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.ingest.service import ingest_file, ingest_seeds
from storage.db import Database

NOW = datetime(2025, 11, 7, 12, tzinfo=UTC)


@pytest.mark.slow
def test_seeds_plus_corpus_make_138268_papers(sqlite_db: Database, shared_dir: Path) -> None:
    seeds = ingest_seeds(sqlite_db.uow, as_of=date(2025, 11, 7), now=NOW)
    assert sum(r.stats.inserted for r in seeds) == 195
    result = ingest_file(
        sqlite_db.uow, shared_dir / "corpus" / "papers.jsonl.gz", as_of=date(2025, 11, 7), now=NOW
    )
    assert result.records == 138_083
    with sqlite_db.uow() as uow:
        total = uow.papers.count()
        # Papers with no Latin letters in the title (e.g. Chinese ACL papers) are kept.
        chinese = uow.papers.find_by_paper_id("2024.ccl-3.10")
    # 10 seed papers are in the corpus and merge with it by title.
    assert total == 138_268
    assert result.stats.inserted == 138_083 - 10
    assert chinese is not None and chinese.title.startswith("基于")
