"""A panic in native code (tantivy via pyo3) never escapes `CommandCore.dispatch`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest
import tantivy

from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.models import CommandRequest, Platform, ReplyKind, SearchResults
from storage.db import Database
from tests.bot.commands.test_core import SubstringEngine

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _tantivy_panic() -> BaseException:
    """The real PanicException tantivy raises for an absurd result count."""
    builder = tantivy.SchemaBuilder()
    builder.add_text_field("t", stored=True)
    index = tantivy.Index(builder.build())
    writer = index.writer()
    writer.add_document(tantivy.Document(t="hello"))
    writer.commit()
    index.reload()
    try:
        index.searcher().search(index.parse_query("hello", ["t"]), 2**63, count=False)
    except BaseException as exc:
        assert not isinstance(exc, Exception)
        return exc
    raise AssertionError("tantivy no longer panics; this test needs another trigger")


def _request() -> CommandRequest:
    return CommandRequest(
        platform=Platform.SLACK,
        workspace="T1",
        channel="C1",
        user="U1",
        can_manage=True,
        command=parse("search diffusion"),
    )


class PanickingEngine(SubstringEngine):
    """An engine whose native backend panics, as tantivy did before offsets were clamped."""

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        raise _tantivy_panic()


async def test_native_panic_gets_the_apology(
    sqlite_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    core = CommandCore(sqlite_db.uow, PanickingEngine([]), CoreConfig(), clock=lambda: NOW)
    with caplog.at_level(logging.ERROR):
        reply = await core.dispatch(_request())
    assert reply.kind is ReplyKind.ERROR and "ref" in reply.text
    assert "panicked in native code" in caplog.text


async def test_cancellation_still_propagates(sqlite_db: Database) -> None:
    class Interrupted(SubstringEngine):
        def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
            raise KeyboardInterrupt

    core = CommandCore(sqlite_db.uow, Interrupted([]), CoreConfig(), clock=lambda: NOW)
    with pytest.raises(KeyboardInterrupt):
        await core.dispatch(_request())
