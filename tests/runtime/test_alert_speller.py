"""`runtime.alerts.search_speller`: saved searches get the typo fixes of the search index,
through the real `AlertRunner` on SQLite (a misspelt alert finds the paper it means)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.alerts.ledger import enqueue_new_papers
from bot.alerts.runner import AlertRunner
from bot.follow.matching import AlertKind
from bot.models import ChannelRef, Paper, PaperRecord, Platform
from bot.search.engine import PaperIndex
from bot.testing.fakes import FakeSink
from runtime.alerts import search_speller
from storage.db import Database

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CHANNEL = ChannelRef(Platform.SLACK, "C1", "T1")
KNOWN = [
    Paper(key=i, title=f"Quasiparticle braiding study {i}", paper_id=f"2501.{i:05d}")
    for i in range(1, 4)
]


async def run_alert(db: Database, query: str, index: PaperIndex | None) -> int:
    with db.uow() as uow:
        uow.alerts.add(CHANNEL, AlertKind.SEARCH, query, created_by="U1")
        uow.papers.upsert_many(
            [
                PaperRecord(
                    title="Quasiparticle braiding on a chip",
                    source="test",
                    paper_id="2603.00001",
                    published=date(2026, 3, 9),
                )
            ],
            seen_at=T0,
        )
    enqueue_new_papers(db.uow, since=T0, now=T0)
    speller = search_speller(lambda: index) if index is not None else None
    sink = FakeSink()
    runner = AlertRunner(
        db.uow, {Platform.SLACK: sink}, worker_id="w1", per_channel_interval=0.0, speller=speller
    )
    return (await runner.run(T0)).sent


async def test_a_misspelt_saved_search_matches_with_the_index_speller(sqlite_db: Database) -> None:
    assert await run_alert(sqlite_db, "quasiparticel braiding", PaperIndex.build(KNOWN)) == 1


async def test_without_the_index_words_match_exactly(sqlite_db: Database) -> None:
    assert await run_alert(sqlite_db, "quasiparticel braiding", None) == 0
