"""Replies count things in the right grammatical number (issue 15, item 12)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.models import CommandRequest, PaperRecord, Platform, SearchResults
from bot.text import plural
from storage.db import Database

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


class NoSearch:
    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        return SearchResults((), 0, query)

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return []

    def add(self, papers: object) -> None:
        return None

    def __len__(self) -> int:
        return 0


@pytest.fixture
def core(sqlite_db: Database) -> CommandCore:
    with sqlite_db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title="Only one", source="t", published=date(2026, 11, 19), upvotes=3)],
            seen_at=NOW,
        )
    return CommandCore(sqlite_db.uow, NoSearch(), CoreConfig(page_size=5), clock=lambda: NOW)


def _request(args: str) -> CommandRequest:
    return CommandRequest(
        platform=Platform.SLACK,
        channel="C1",
        user="U1",
        command=parse(args),
        workspace="T1",
        can_manage=True,
    )


def test_plural() -> None:
    assert [plural(n, "paper") for n in (0, 1, 2)] == ["0 papers", "1 paper", "2 papers"]
    assert plural(1, "upvote") == "1 upvote"
    assert plural(3, "query", "queries") == "3 queries"


async def test_one_trending_paper_is_singular(core: CommandCore) -> None:
    reply = await core.dispatch(_request("trending"))
    assert reply.text.startswith("Top 1 trending paper") and "papers" not in reply.text


async def test_at_least_one_upvote_is_singular(core: CommandCore) -> None:
    reply = await core.dispatch(_request("subscribe 09:00 UTC min=1"))
    assert "at least 1 upvote" in reply.text and "1 upvotes" not in reply.text
