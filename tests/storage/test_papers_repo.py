"""Paper upserts (SQLite, PostgreSQL, the fake): dedupe by id, else by title, never erase.

The fake (`bot.testing.fakes`) runs the same assertions, so core tests on it can be trusted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.models import PaperRecord
from bot.testing.fakes import FakeDatabase
from storage.db import Database


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    return db_or_fake


NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def upsert(db: Database, *records: PaperRecord, at: datetime = NOW):
    with db.uow() as uow:
        return uow.papers.upsert_many(records, seen_at=at)


def test_insert_then_reingest_changes_nothing(db: Database) -> None:
    rec = PaperRecord(
        title="Attention Is All You Need",
        source="arxiv",
        paper_id="1706.03762",
        authors=("Ashish Vaswani", "Noam Shazeer"),
        published=date(2017, 6, 12),
    )
    assert upsert(db, rec).inserted == 1
    again = upsert(db, rec, at=NOW + timedelta(hours=1))
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    with db.uow() as uow:
        paper = uow.papers.find_by_paper_id("1706.03762")
        assert paper is not None
        assert paper.updated == NOW  # unchanged rows keep their timestamp
        assert paper.authors == ("Ashish Vaswani", "Noam Shazeer")


def test_title_only_row_merges_when_id_arrives(db: Database) -> None:
    upsert(
        db,
        PaperRecord(
            title="Diffusion Models: A Survey!", source="hf-page", author_count=4, upvotes=3
        ),
    )
    stats = upsert(
        db,
        PaperRecord(
            title="diffusion models   a survey",
            source="arxiv",
            paper_id="2209.00796",
            abstract="We survey.",
            authors=("A", "B", "C", "D"),
        ),
    )
    assert stats.updated == 1 and stats.inserted == 0
    with db.uow() as uow:
        assert uow.papers.count() == 1
        paper = uow.papers.find_by_paper_id("2209.00796")
        assert paper is not None
        assert paper.upvotes == 3 and paper.abstract == "We survey."
        assert paper.sources == ("arxiv", "hf-page")  # sorted: any order merges the same


def test_two_rows_fold_into_one_when_id_links_them(db: Database) -> None:
    upsert(db, PaperRecord(title="Sparse Experts at Scale", source="hf-page", upvotes=7))
    upsert(
        db,
        PaperRecord(
            title="Sparse Experts at Scale (v2 title)", source="arxiv", paper_id="2401.00001"
        ),
    )
    stats = upsert(
        db,
        PaperRecord(
            title="Sparse experts at scale", source="hf-api", paper_id="2401.00001", upvotes=9
        ),
    )
    assert stats.merged == 1
    with db.uow() as uow:
        assert uow.papers.count() == 1
        paper = uow.papers.find_by_paper_id("2401.00001")
        assert paper is not None and paper.upvotes == 9
        history = uow.papers.upvote_history([paper.key])[paper.key]
        assert [votes for _, votes in history] == [7, 9]


def test_upsert_never_erases_fields(db: Database) -> None:
    upsert(
        db,
        PaperRecord(
            title="Rich Paper",
            source="hf-api",
            paper_id="2402.00002",
            abstract="Full abstract.",
            github_repo="https://github.com/x/y",
            keywords=("moe",),
            upvotes=10,
            comments=2,
        ),
    )
    upsert(db, PaperRecord(title="Rich Paper", source="hf-page"))
    with db.uow() as uow:
        paper = uow.papers.find_by_paper_id("2402.00002")
        assert paper is not None
        assert paper.abstract == "Full abstract."
        assert paper.github_repo == "https://github.com/x/y"
        assert paper.keywords == ("moe",)
        assert (paper.upvotes, paper.comments) == (10, 2)


def test_counts_update_and_snapshots_track_growth(db: Database) -> None:
    rec = PaperRecord(title="Growing", source="hf-api", paper_id="2403.00003", upvotes=1)
    upsert(db, rec)
    upsert(
        db,
        PaperRecord(title="Growing", source="hf-api", paper_id="2403.00003", upvotes=5),
        at=NOW + timedelta(hours=2),
    )
    with db.uow() as uow:
        paper = uow.papers.find_by_paper_id("2403.00003")
        assert paper is not None and paper.upvotes == 5
        assert [v for _, v in uow.papers.upvote_history([paper.key])[paper.key]] == [1, 5]


def test_same_title_different_ids_stay_distinct(db: Database) -> None:
    upsert(
        db,
        PaperRecord(title="Introduction", source="jsonl", paper_id="P19-1001"),
        PaperRecord(title="Introduction", source="jsonl", paper_id="P19-1002"),
    )
    with db.uow() as uow:
        assert uow.papers.count() == 2


def test_duplicates_within_one_batch_collapse(db: Database) -> None:
    stats = upsert(
        db,
        PaperRecord(title="Twice", source="hf-page", upvotes=1),
        PaperRecord(title="TWICE!", source="hf-page", upvotes=2),
    )
    assert stats.inserted == 1
    with db.uow() as uow:
        assert uow.papers.count() == 1


def test_failed_transaction_leaves_database_unchanged(db: Database) -> None:
    upsert(db, PaperRecord(title="Kept", source="hf-page"))
    try:
        with db.uow() as uow:
            uow.papers.upsert_many([PaperRecord(title="Lost", source="hf-page")], seen_at=NOW)
            raise RuntimeError("parser failed half-way")
    except RuntimeError:
        pass
    with db.uow() as uow:
        assert uow.papers.count() == 1


def test_published_since(db: Database) -> None:
    upsert(
        db,
        PaperRecord(title="Old", source="x", published=date(2020, 1, 1)),
        PaperRecord(title="New", source="x", published=date(2026, 11, 19)),
    )
    with db.uow() as uow:
        assert [p.title for p in uow.papers.published_since(date(2026, 11, 1))] == ["New"]


def test_concurrent_upgrades_are_serialised(database_url: str) -> None:
    """Replicas starting together (separate processes) must not trip over each other."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": database_url}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "runtime.cli.main", "db", "upgrade"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outcomes = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    assert [code for code, _ in outcomes] == [0, 0, 0], outcomes
    database = Database(database_url)
    with database.uow() as uow:
        assert uow.papers.count() == 0
    database.dispose()


def test_full_scans_read_every_field_as_a_lookup_does(db: Database) -> None:
    """iter_all and changed_between read the JSON columns as one bundle, and dates and
    timestamps as the driver gives them (`storage.paper_scan`), for speed: the papers are
    the same, types included."""
    full = PaperRecord(
        title="Rich Paper",
        source="hf-api",
        paper_id="2401.00001",
        abstract="Abstract text.",
        authors=("Ada Lovelace", "Alan Turing"),
        author_count=2,
        published=date(2024, 1, 2),
        upvotes=7,
        comments=3,
        github_repo="https://github.com/x/y",
        project_page="https://example.org/p",
        organization="Lab",
        keywords=("graphs", "llm"),
        ai_summary="Summary.",
        categories=("cs.LG", "cs.AI"),
    )
    upsert(db, full)
    upsert(db, PaperRecord(title="Bare Paper", source="t"))
    with db.uow() as uow:
        scanned = list(uow.papers.iter_all())
        changed = list(uow.papers.changed_between(0, uow.papers.last_change()))
        looked_up = uow.papers.get_many([p.key for p in scanned])
    assert scanned == changed == looked_up
    rich = scanned[0]
    assert rich.project_page == "https://example.org/p" and rich.categories == ("cs.LG", "cs.AI")
    assert rich.sources == ("hf-api",) and rich.first_seen is not None
    assert scanned[1].authors == () and scanned[1].project_page is None
    assert type(rich.published) is date and rich.published == date(2024, 1, 2)
    for paper in scanned:
        for stamp in (paper.first_seen, paper.updated):
            assert isinstance(stamp, datetime) and stamp.utcoffset() == timedelta(0)


def test_overlapping_records_merge_the_same_in_any_order(
    db_or_fake: Database | FakeDatabase,
) -> None:
    """Issue 16 (8): concurrent ingests apply overlapping records in any order, so the
    merge must not depend on it."""

    def versions(n: int) -> tuple[PaperRecord, PaperRecord]:
        first = PaperRecord(
            title=f"Order Free Merging {n}",
            source="hf-page",
            paper_id=f"2401.0000{n}",
            upvotes=9,
            abstract="short",
            keywords=("b", "a"),
            categories=("cs.LG", "stat.ML"),
        )
        second = PaperRecord(
            title=f"Order free merging {n}",
            source="arxiv",
            paper_id=f"2401.0000{n}",
            upvotes=4,
            abstract="a longer abstract",
            authors=("X", "Y"),
            keywords=("c",),
            categories=("cs.AI", "cs.LG"),
        )
        return first, second

    one, two = versions(1)
    three, four = versions(2)
    results = []
    for n, records in ((1, (one, two)), (2, (four, three))):
        for record in records:
            with db_or_fake.uow() as uow:
                uow.papers.upsert_many([record], seen_at=NOW)
        with db_or_fake.uow() as uow:
            paper = uow.papers.find_by_paper_id(f"2401.0000{n}")
        assert paper is not None
        results.append(
            (
                paper.title.lower()[:-2],
                paper.upvotes,
                paper.abstract,
                paper.authors,
                paper.keywords,
                paper.categories,
                paper.sources,
            )
        )
    assert results[0] == results[1]
    assert results[0][1:3] == (9, "a longer abstract")
    assert results[0][4:] == (("a", "b", "c"), ("cs.AI", "cs.LG", "stat.ML"), ("arxiv", "hf-page"))
