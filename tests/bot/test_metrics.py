"""Metric helpers: bounded labels, and counts that land in the bot's own registry."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from bot import metrics
from bot.commands.core import CommandCore, CoreConfig
from bot.commands.parser import parse
from bot.ingest.service import store
from bot.models import CommandRequest, PaperRecord, Platform, SearchResults, UpsertStats
from storage.db import Database


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("", "help"),
        ("find diffusion models", "search"),
        ("diffusion models", "search"),
        ("TOP 5", "trending"),
        ("sub 09:00 UTC", "subscribe"),
        ("unsub", "unsubscribe"),
        ("/papers status", "subscriptions"),
        ("search x", "search"),
        ("subscribe 25:99", "subscribe"),
        ("trendng", "other"),
    ],
)
def test_command_label(text: str, label: str) -> None:
    # The label comes from the typed command (issue 10), no longer from matching words;
    # Discord's verb-named requests ("search", "page", "drop table") no longer exist.
    assert parse(text).label == label
    assert label in metrics._COMMANDS


def value(name: str, labels: dict[str, str] | None = None) -> float:
    return metrics.REGISTRY.get_sample_value(name, labels or {}) or 0.0


def test_observe_command_folds_unknown_words(caplog: pytest.LogCaptureFixture) -> None:
    labels = {"platform": "slack", "command": "other", "outcome": "other"}
    before = value("papers_commands_total", labels)
    with caplog.at_level(logging.WARNING, logger="bot.metrics"):
        metrics.observe_command("slack", "free text from a user", "weird")
    assert value("papers_commands_total", labels) == before + 1
    assert "unknown command outcome" in caplog.text


def test_count_digest_accepts_enums_and_counts() -> None:
    import enum

    class Status(enum.StrEnum):
        SENT = "sent"

    before = value("papers_digests_total", {"status": "sent"})
    metrics.count_digest(Status.SENT)
    metrics.count_digest("SENT", 2)
    assert value("papers_digests_total", {"status": "sent"}) == before + 3


def test_count_ingested_adds_every_result() -> None:
    stats = UpsertStats(inserted=3, updated=2, unchanged=5, merged=1)
    keys = {r: {"source": "hf", "result": r} for r in metrics.INGEST_RESULTS}
    before = {r: value("papers_ingested_total", k) for r, k in keys.items()}
    metrics.count_ingested("HF", stats)
    after = {r: value("papers_ingested_total", k) for r, k in keys.items()}
    assert {r: after[r] - before[r] for r in keys} == {
        "inserted": 3,
        "updated": 2,
        "unchanged": 5,
        "merged": 1,
    }


def test_time_search_observes_even_when_the_search_raises() -> None:
    before = value("papers_search_seconds_count")
    with pytest.raises(KeyError), metrics.time_search():
        raise KeyError("index gone")
    assert value("papers_search_seconds_count") == before + 1


def test_render_latest_is_prometheus_text() -> None:
    body, content_type = metrics.render_latest()
    assert content_type.startswith("text/plain")
    assert b"# HELP papers_commands_total" in body


class _Engine:
    """A search engine stub: empty results, or an error when `fail` is set."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail

    def search(self, query: str, *, limit: int = 10, offset: int = 0) -> SearchResults:
        if self.fail:
            raise RuntimeError("index corrupted")
        return SearchResults(cards=(), total=0, query=query)

    def suggest(self, prefix: str, *, limit: int = 25) -> list[tuple[int, str]]:
        return []

    def add(self, papers: object) -> None:
        return None

    def __len__(self) -> int:
        return 0


def _no_uow() -> Any:
    raise AssertionError("these commands must not touch the database")


async def test_dispatch_counts_outcomes_and_times_searches() -> None:
    def req(args: str, **kw: Any) -> CommandRequest:
        return CommandRequest(Platform.CONSOLE, "c1", "u1", parse(args), **kw)

    ok = {"platform": "console", "command": "search", "outcome": "ok"}
    rejected = {"platform": "console", "command": "subscribe", "outcome": "rejected"}
    failed = {"platform": "console", "command": "search", "outcome": "failed"}
    series = {"ok": ok, "rej": rejected, "fail": failed}
    before = {k: value("papers_commands_total", v) for k, v in series.items()}
    searches = value("papers_search_seconds_count")

    good = CommandCore(_no_uow, _Engine(), CoreConfig())
    await good.dispatch(req("find diffusion"))
    await good.dispatch(req("subscribe 09:00 UTC", can_manage=False))
    await CommandCore(_no_uow, _Engine(fail=True), CoreConfig()).dispatch(req("diffusion"))

    assert value("papers_commands_total", ok) == before["ok"] + 1
    assert value("papers_commands_total", rejected) == before["rej"] + 1
    assert value("papers_commands_total", failed) == before["fail"] + 1
    assert value("papers_search_seconds_count") == searches + 2


def test_ingest_store_counts_committed_upserts(sqlite_db: Database) -> None:
    labels = {"source": "unit-test", "result": "inserted"}
    before = value("papers_ingested_total", labels)
    records = [PaperRecord(title=f"Metric paper {i}", source="unit-test") for i in range(3)]
    store(sqlite_db.uow, records, now=datetime.now(UTC), source="unit-test")
    assert value("papers_ingested_total", labels) == before + 3


def test_count_digest_report_adds_a_runs_outcomes_but_not_dry_runs() -> None:
    from dataclasses import dataclass

    @dataclass
    class Report:
        dry_run: bool = False
        sent: int = 3
        failed: int = 1
        empty: int = 2
        skipped: int = 0

    before = {s: value("papers_digests_total", {"status": s}) for s in metrics.DIGEST_STATUSES}
    metrics.count_digest_report(Report())
    metrics.count_digest_report(Report(dry_run=True, sent=100))
    after = {s: value("papers_digests_total", {"status": s}) for s in metrics.DIGEST_STATUSES}
    assert {s: after[s] - before[s] for s in before} == {
        "sent": 3,
        "failed": 1,
        "empty": 2,
        "skipped": 0,
    }
