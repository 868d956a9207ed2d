"""The in-memory ingest runs (staged batches, applied one per unit of work).

Part of `bot.testing.fakes.FakeDatabase`; its state lives in `FakeState.runs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bot.ingest.runs import WrittenPapers
from bot.models import PaperRecord, UpsertStats
from bot.testing.fake_papers import FakePaperRepository
from bot.testing.fake_repositories import FakeState


@dataclass(frozen=True, slots=True)
class FakeRun:
    name: str
    seen_at: datetime
    heartbeat_at: datetime
    ready: bool = False
    batches: tuple[tuple[int, tuple[PaperRecord, ...]], ...] = field(default=())


class FakeIngestRuns:
    def __init__(self, state: FakeState, papers: FakePaperRepository) -> None:
        self._s = state
        self._papers = papers

    def open(self, name: str, *, seen_at: datetime) -> int:
        run = self._s.new_id()
        self._s.runs[run] = FakeRun(name=name, seen_at=seen_at, heartbeat_at=datetime.now(UTC))
        return run

    def stage(self, run: int, seq: int, records: Sequence[PaperRecord]) -> None:
        old = self._s.runs[run]
        self._s.runs[run] = replace(
            old, heartbeat_at=datetime.now(UTC), batches=(*old.batches, (seq, tuple(records)))
        )

    def seal(self, run: int) -> None:
        self._s.runs[run] = replace(self._s.runs[run], ready=True)

    def discard(self, run: int) -> None:
        self._s.runs.pop(run, None)

    def apply_next(
        self, run: int, written: WrittenPapers, kept: Sequence[PaperRecord] | None = None
    ) -> UpsertStats | None:
        found = self._s.runs.get(run)
        if found is None or not found.batches:
            self._s.runs.pop(run, None)
            return None
        (_, records), *rest = sorted(found.batches)
        self._s.runs[run] = replace(found, batches=tuple(rest))
        return self._papers.upsert_many(records, seen_at=found.seen_at, written=written)

    def ready(self, *, stale_before: datetime) -> list[tuple[int, str]]:
        # Every owner of an in-memory run is alive: only its heartbeat can make it stale.
        stale = [run for run, found in self._s.runs.items() if found.heartbeat_at < stale_before]
        for run in stale:
            if not self._s.runs[run].ready:
                del self._s.runs[run]
        return [(run, self._s.runs[run].name) for run in sorted(stale) if run in self._s.runs]
