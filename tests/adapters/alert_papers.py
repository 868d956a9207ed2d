"""New papers for the alert tests of every platform: one ingest run's worth, all matching
the saved search `QUERY` and by `AUTHOR`, queued as one alert batch; and papers by two
namesakes, for `follow author` asking which one."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.alerts.ledger import enqueue_new_papers
from bot.models import PaperRecord
from runtime.core import Core
from storage.db import Database

QUERY = "quasiparticle braiding"
AUTHOR = "Ada Lovelace"


def ingest_matching(core: Core, count: int) -> list[str]:
    """Store `count` new papers matching `QUERY` and `AUTHOR`, queue them; their titles."""
    titles = [f"Quasiparticle braiding in lattice number {i}" for i in range(count)]
    records = [
        PaperRecord(
            title=title,
            source="test",
            paper_id=f"2603.{i:05d}",
            abstract="Anyons and their statistics.",
            authors=(AUTHOR,),
            published=date(2026, 3, 9),
        )
        for i, title in enumerate(titles)
    ]
    now = datetime.now(UTC)
    with core.db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=now)
    assert enqueue_new_papers(core.db.uow, since=now, now=now) is not None
    return titles


# Two people a followed "Y. Wang" may mean, with their titles (newest first).
NAMESAKES = {
    "Yi Wang": ["Vision agents that plan", "Graph transformers for molecules"],
    "Yu Wang": ["Speech tokens at scale"],
}


def store_namesakes(database_url: str) -> None:
    """Store papers by Yi Wang (two) and Yu Wang (one), so `follow author "Y. Wang"` asks."""
    records = [
        PaperRecord(
            title=title,
            source="test",
            paper_id=f"2411.{n}{i}001",
            authors=(author, "Ana Silva"),
            published=date(2025, 10, 20 - i),
        )
        for n, (author, titles) in enumerate(NAMESAKES.items())
        for i, title in enumerate(titles)
    ]
    database = Database(database_url)
    with database.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.now(UTC))
    database.dispose()
