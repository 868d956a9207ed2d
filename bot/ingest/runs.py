"""Large files staged, then applied in short batches (issue 16; docs/operations.md).

One transaction per file held SQLite's write lock for the whole file, so a bot's
`/papers subscribe` gave up behind a long ingest, and every PostgreSQL paper writer
queued behind it. Instead, a file's records are staged batch by batch in short
transactions (invisible to readers), the run is sealed once the whole file is parsed,
and then each batch is applied in its own transaction with its own change number. A
failure before the seal discards the run (the file leaves nothing); after it, the run is
applied to the end, by this process or, after a crash, by the next ingest (roll forward).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from bot.crashpoints import pause_point
from bot.models import PaperRecord, UpsertStats

# Records per staged batch, and so per applying transaction: about 0.1-0.2 s of write
# lock on SQLite, far below the 30 s a waiting writer gives up after.
BATCH = 2000
# Batches an ingest keeps in memory to apply without decoding them again (about 200k
# records); a larger file's later batches are read back from the database.
KEEP_BATCHES = 100
# A run whose owner wrote no batch for this long belongs to a dead process (an owner on
# the same host is checked by its pid at once).
STALE_RUN = timedelta(minutes=10)


class WrittenPapers:
    """Identities of the papers one ingest has written (id, else title key), so a paper
    repeated in a later batch counts as a repeat, not as one more update."""

    def __init__(self) -> None:
        self.ids: set[str] = set()
        self.titles: set[str] = set()

    def add(self, drafts: Iterable[dict[str, Any]]) -> None:
        for values in drafts:
            if values["paper_id"]:
                self.ids.add(values["paper_id"])
            else:
                self.titles.add(values["title_key"])

    def has(self, values: dict[str, Any]) -> bool:
        if values.get("paper_id"):
            return values["paper_id"] in self.ids
        return values.get("title_key") in self.titles


class IngestRuns(Protocol):
    """Staged runs in storage. Each method runs in the caller's unit of work, and the
    caller commits after each, so no transaction spans a whole file."""

    def open(self, name: str, *, seen_at: datetime) -> int:
        """Start staging a file; returns the run's id."""
        ...

    def stage(self, run: int, seq: int, records: Sequence[PaperRecord]) -> None:
        """Keep one batch of the run's records (invisible to readers until applied)."""
        ...

    def seal(self, run: int) -> None:
        """The whole file is staged: from now on the run is applied to the end."""
        ...

    def discard(self, run: int) -> None:
        """Drop a run and its staged batches (the file failed before it was sealed)."""
        ...

    def apply_next(
        self, run: int, written: WrittenPapers, kept: Sequence[PaperRecord] | None = None
    ) -> UpsertStats | None:
        """Upsert the run's next staged batch and delete it, taking a change number first
        (so paper writers queue here). None, and the run deleted, when none is left.
        `kept` is that batch's records if the caller still holds them (not decoded again)."""
        ...

    def ready(self, *, stale_before: datetime) -> list[tuple[int, str]]:
        """Sealed runs of dead processes, left to apply, as (id, name). A run's process is
        dead when its pid is gone from this host or it wrote no batch since `stale_before`;
        such a run still staging is dropped."""
        ...


class HasIngestRuns(Protocol):
    """A unit of work with ingest runs (a base of `bot.ports.UnitOfWork`)."""

    @property
    def ingest_runs(self) -> IngestRuns: ...


RunsFactory = Callable[[], AbstractContextManager[HasIngestRuns]]


def chunked(records: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    batch: list[PaperRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def staged(
    uow_factory: RunsFactory,
    first: list[PaperRecord],
    rest: Iterator[list[PaperRecord]],
    *,
    now: datetime,
    name: str,
) -> UpsertStats:
    """Stage `first` and every batch of `rest`, seal the run, then apply it."""
    with uow_factory() as uow:
        run = uow.ingest_runs.open(name, seen_at=now)
    kept: list[list[PaperRecord]] = []
    try:
        seq = 0
        batch: list[PaperRecord] | None = first
        while batch is not None:
            with uow_factory() as uow:
                uow.ingest_runs.stage(run, seq, batch)
            if seq < KEEP_BATCHES:
                kept.append(batch)
            seq += 1
            batch = next(rest, None)
    except BaseException:
        # Parsing failed (or the process is stopping): nothing of the file is kept. If this
        # cleanup fails too, the run is dropped once stale (`IngestRuns.ready`).
        with uow_factory() as uow:
            uow.ingest_runs.discard(run)
        raise
    with uow_factory() as uow:
        uow.ingest_runs.seal(run)
    pause_point("ingest-sealed")
    return apply_run(uow_factory, run, kept)


def apply_run(
    uow_factory: RunsFactory, run: int, kept: list[list[PaperRecord]] | None = None
) -> UpsertStats:
    """Apply a sealed run's batches, one transaction each, until none is left.

    `kept` holds the first batches' records, in order, when this process staged them.
    Only the staging process passes them, and it alone applies a live run, so the batch
    it pops is the one `apply_next` deletes."""
    stats = UpsertStats()
    written = WrittenPapers()
    kept = list(kept or [])
    while True:
        records = kept.pop(0) if kept else None
        with uow_factory() as uow:
            step = uow.ingest_runs.apply_next(run, written, records)
        if step is None:
            return stats
        stats = stats + step
        pause_point("ingest-batch-applied")
