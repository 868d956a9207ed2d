"""Prometheus metrics of the core, in a registry of their own, plus small recording helpers.

The registry is private (not prometheus_client's global one) so tests and the ops
endpoint see exactly the bot's metrics. Labels only take values from small fixed sets
(command verbs, outcome and status words, source names), never user text, so the number
of time series stays bounded whatever people type.

Hooks for the rest of the code base:
- `observe_command(platform, command, outcome)` — called by `CommandCore.dispatch` with
  the command's own `label` (`bot.commands.types`);
- `time_search()` — context manager around a search-engine call;
- `count_digest(status)` — one per digest attempt: sent, failed, empty or skipped;
- `count_digest_report(report)` — all counts of one `DigestRunner.run_due` report;
- `count_ingested(source, stats)` — after a batch upsert, with its `UpsertStats`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import Protocol

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import generate_latest

from bot.commands.parser import VERBS
from bot.models import UpsertStats

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

OUTCOMES = ("ok", "rejected", "failed")
DIGEST_STATUSES = ("sent", "failed", "empty", "skipped")
INGEST_RESULTS = ("inserted", "updated", "unchanged", "merged")
PLATFORMS = ("slack", "discord", "console", "cli")
_COMMANDS = (*VERBS, "page", "other")

COMMANDS = Counter(
    "papers_commands",
    "Commands answered, by platform, command verb and outcome "
    "(ok; rejected: the user's input or permissions; failed: our error).",
    ["platform", "command", "outcome"],
    registry=REGISTRY,
)
SEARCH_SECONDS = Histogram(
    "papers_search",
    "Search-engine latency per query, in seconds.",
    unit="seconds",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
DIGESTS = Counter(
    "papers_digests",
    "Digest attempts by status (sent, failed, empty: nothing to send, skipped: "
    "already delivered or paused).",
    ["status"],
    registry=REGISTRY,
)
INGESTED = Counter(
    "papers_ingested",
    "Papers processed by ingestion, by source and upsert result.",
    ["source", "result"],
    registry=REGISTRY,
)

# Pre-create the fixed series, so dashboards see zeros rather than missing data.
for _status in DIGEST_STATUSES:
    DIGESTS.labels(status=_status)


def _word(value: str | Enum) -> str:
    raw = value.value if isinstance(value, Enum) else value
    return str(raw).strip().lower()


def _known(word: str, allowed: tuple[str, ...], what: str) -> str:
    # A metrics call must never break the work it measures, so a wrong word is logged
    # and counted as "other" instead of raising.
    if word in allowed:
        return word
    log.warning("unknown %s %r; expected one of %s", what, word, ", ".join(allowed))
    return "other"


def observe_command(platform: str | Enum, command: str, outcome: str) -> None:
    """Count one answered command. `outcome` is "ok", "rejected" or "failed"."""
    outcome = _known(_word(outcome), OUTCOMES, "command outcome")
    command = _word(command)
    COMMANDS.labels(
        platform=_word(platform),
        command=command if command in _COMMANDS else "other",
        outcome=outcome,
    ).inc()


@contextmanager
def time_search() -> Iterator[None]:
    """Time the enclosed search-engine call into `papers_search_seconds` (even if it raises)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        SEARCH_SECONDS.observe(time.perf_counter() - started)


def count_digest(status: str | Enum, n: int = 1) -> None:
    """Count digest attempts: "sent", "failed", "empty" (nothing matched) or "skipped"."""
    DIGESTS.labels(status=_known(_word(status), DIGEST_STATUSES, "digest status")).inc(n)


class DigestCounts(Protocol):
    """The counts of one digest run (`bot.digests.runner.RunReport` has them)."""

    dry_run: bool
    sent: int
    failed: int
    empty: int
    skipped: int


def count_digest_report(report: DigestCounts) -> None:
    """Add one digest run's outcomes; a dry run sent nothing and counts nothing."""
    if report.dry_run:
        return
    for status in DIGEST_STATUSES:
        amount = int(getattr(report, status))
        if amount:
            DIGESTS.labels(status=status).inc(amount)


def count_ingested(source: str, stats: UpsertStats) -> None:
    """Add one upsert batch's counts to `papers_ingested_total{source, result}`."""
    source = _word(source) or "unknown"
    for result in INGEST_RESULTS:
        amount = getattr(stats, result)
        if amount:
            INGESTED.labels(source=source, result=result).inc(amount)


def render_latest() -> tuple[bytes, str]:
    """The registry in Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
