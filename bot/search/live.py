"""The persisted search index of one database, kept caught up by change number.

Every paper write in the database takes the next change number inside its transaction;
removed keys leave a tombstone with theirs, and a stored vector carries its own (see
docs/search.md).  The index records the last number it applied (`state.json`), so opening
it applies only what is newer: no time window, no full read of the database.  One process
at a time may write an index directory (tantivy's lock); others search what it held at
their last catch-up.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from bot.crashpoints import pause_point
from bot.models import Paper
from bot.ports import UnitOfWorkFactory
from bot.search.engine import IndexBusy, PaperIndex
from bot.search.store import IndexHome, IndexState

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
APPLY_BATCH = 20_000


def _counted(papers: Iterable[Paper], progress: Progress | None) -> Iterator[Paper]:
    for n, paper in enumerate(papers, 1):
        yield paper
        if progress is not None and n % 1000 == 0:
            progress(1000)


@contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a bulk read feeds the index.

    Every row read allocates a few container objects that live until tantivy has the
    document, so the collector ran its full passes over a growing heap again and again:
    30 % of an index rebuild's reading time at 138k papers.  Refcounting still frees
    everything; a bulk load creates no cycles worth collecting before it ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class IndexPart(Protocol):
    """Another artefact kept in each generation, beside tantivy (semantic vectors, issue 12).

    It lives in `<generation>/<name>/` and describes the same change number as the
    generation's state (docs/search.md, "Other artefacts in a generation").
    """

    name: str

    def build(self, directory: Path, papers: Iterable[Paper]) -> None:
        """Write the artefact for exactly `papers` into `directory` (created, empty)."""
        ...

    def open(self, directory: Path) -> None:
        """Load it from `directory`; FileNotFoundError when absent (the index is rebuilt)."""
        ...

    def apply(self, papers: Sequence[Paper], removed: Sequence[int]) -> None:
        """Add or replace `papers`, drop `removed`, in the opened directory; idempotent."""
        ...

    def catch_up(self, after: int, upto: int, progress: Progress | None = None) -> int:
        """Apply the part's own changes numbered in (after, upto] that came without a
        paper write (a paper embedded again: its vector row has the number, not the paper);
        the papers written in that range reach `apply` first. Idempotent; how many."""
        ...


class LiveIndex:
    """A generation of the index, the changes it has applied and its home directory."""

    def __init__(
        self,
        home: IndexHome,
        index: PaperIndex,
        state: IndexState,
        parts: Sequence[IndexPart] = (),
    ) -> None:
        self.home = home
        self.index = index
        self.state = state
        self.parts = tuple(parts)
        self.caught_up = False
        for part in self.parts:
            part.open(index.directory / part.name)

    @property
    def generation(self) -> str:
        return self.index.directory.name

    @classmethod
    def open(
        cls,
        home: IndexHome,
        uow: UnitOfWorkFactory,
        *,
        progress: Progress | None = None,
        parts: Sequence[IndexPart] = (),
    ) -> LiveIndex:
        """The live generation as it is on disk; built first when there is none."""
        generation = home.current()
        if generation is not None:
            try:
                state = home.read_state(generation)
                with uow() as work:
                    source = work.papers.database_id()
                if state.database != source:
                    raise ValueError(f"it was built from database {state.database or '?'}")
                return cls(home, PaperIndex.open(generation), state, parts)
            except (FileNotFoundError, ValueError, KeyError) as exc:
                log.warning("search index in %s is unusable (%s); rebuilding it", home.root, exc)
        return cls.rebuild(home, uow, progress=progress, parts=parts)

    @classmethod
    def rebuild(
        cls,
        home: IndexHome,
        uow: UnitOfWorkFactory,
        *,
        progress: Progress | None = None,
        parts: Sequence[IndexPart] = (),
    ) -> LiveIndex:
        """Build a new generation from the whole database and swap it in atomically."""
        building = home.new_generation()
        with uow() as work, collector_paused():
            # Read the head first: rows committed while we read are applied again below.
            upto = work.papers.last_change()
            source = work.papers.database_id()
            index = PaperIndex.build(_counted(work.papers.iter_all(), progress), building)
            for part in parts:
                (building / part.name).mkdir()
                part.build(building / part.name, work.papers.iter_all())
        papers = len(index)
        del index
        home.write_state(building, IndexState(change=upto, papers=papers, database=source))
        pause_point("rebuild-before-publish")
        final = home.publish(building)
        live = cls(home, PaperIndex.open(final), home.read_state(final), parts)
        live.catch_up(uow)
        return live

    def pending(self, uow: UnitOfWorkFactory) -> int:
        """How many change numbers the database is ahead of this index (a cheap query)."""
        with uow() as work:
            return max(0, work.papers.last_change() - self.state.change)

    def follow(self) -> bool:
        """Adopt what another process published since we opened; True if anything changed.

        A rebuild elsewhere (`papers-bot index rebuild`) publishes a new generation: switch
        to it, dropping our writer on the old one.  A writer elsewhere (an ingest, while
        we only read) advances the state of our generation: reload to see its commits.
        Costs one read of `CURRENT` (and of `state.json` for a reader): cheap per poll.
        """
        current = self.home.current()
        try:
            if current is not None and current != self.index.directory:
                state = self.home.read_state(current)
                if state.database == self.state.database:
                    index = PaperIndex.open(current)
                    # Search by meaning stays on (its function reads the parts, reopened here).
                    index.use_dense(self.index.dense)
                    for part in self.parts:
                        part.open(current / part.name)
                    self.index, self.state = index, state
                    log.info("search index: switched to generation %s", current.name)
                    return True
                return False
            if self.index.writable:
                return False  # nobody else can have written our generation
            state = self.home.read_state(self.index.directory)
        except (FileNotFoundError, ValueError, KeyError):
            return False  # half-published or removed: keep what we have
        if state.change > self.state.change:
            self.index.reload()
            for part in self.parts:
                part.open(self.index.directory / part.name)
            self.state = state
            log.info(
                "search index: reloaded at change %d, written by another process", state.change
            )
            return True
        return False

    def catch_up(self, uow: UnitOfWorkFactory, *, progress: Progress | None = None) -> int:
        """Apply every change newer than the state; the papers added or removed (and the
        vectors a part applied alone).

        Papers written in the range go to tantivy and every part; then each part applies its
        own changes of the range (`IndexPart.catch_up`); the state moves last, so a crash
        anywhere before it replays the whole range, idempotently.

        Raises `IndexBusy` when another process holds this index's writer: nothing is
        applied then, and a later call (or that process) picks the changes up.
        """
        self.follow()
        if self.pending(uow) == 0:
            self.caught_up = True
            return 0
        # The writer first, then the state on disk again: another writer may have applied
        # changes since we read it, and applying an older view over them is wasted work.
        self.index.take_writer()
        if self.follow():
            self.index.take_writer()
        applied = 0
        with uow() as work, collector_paused():
            upto = work.papers.last_change()
            removed = work.papers.removed_between(self.state.change, upto)
            batch: list[Paper] = []
            for paper in _counted(work.papers.changed_between(self.state.change, upto), progress):
                batch.append(paper)
                if len(batch) >= APPLY_BATCH:
                    self._apply(batch, ())
                    applied += len(batch)
                    batch = []
            self._apply(batch, removed)
            applied += len(batch) + len(removed)
        # Then what changed in a part alone (new vectors): tantivy is not touched for them.
        for part in self.parts:
            applied += part.catch_up(self.state.change, upto, progress)
        pause_point("index-before-state")
        self.state = IndexState(change=upto, papers=len(self.index), database=self.state.database)
        self.home.write_state(self.index.directory, self.state)
        self.caught_up = True
        return applied

    def _apply(self, papers: list[Paper], removed: Sequence[int]) -> None:
        self.index.apply(papers, removed)
        for part in self.parts:
            part.apply(papers, removed)

    def try_catch_up(
        self, uow: UnitOfWorkFactory, *, progress: Progress | None = None, own: bool = False
    ) -> int | None:
        """`catch_up`, or None when another process is writing the index.

        A reader still follows that writer: it reloads when the writer's state moves on.
        With `own` (a serving bot) the writer is taken even when nothing is pending and
        kept, so one long-lived process applies every change and CLI commands only read.
        """
        try:
            if own:
                self.index.take_writer()
            return self.catch_up(uow, progress=progress)
        except IndexBusy:
            return None
