"""A new index generation built while an ingest writes the database (issue 11).

An ingest into a database without a usable index used to write every row and only then
rebuild the index from them, so tantivy's indexing followed the database writes instead
of overlapping them. `GenerationFeed` builds the generation alongside: each `feed()` reads
what was committed since the last one, by change number (the catch-up's own ranges: the
papers stamped in `(upto, head]` and the tombstones of keys not stored again), and hands
it to one open tantivy writer; `finish()` commits tantivy after the database has
committed everything, then writes the state and publishes, as `LiveIndex.rebuild` does.

Consistency is the catch-up's: a row is fed as the database held it when read, a row
written again later is fed again (it replaces its earlier document), and the state names
the last change read, so whatever came later is applied by the next catch-up. Until
`finish` publishes, the generation is a `.building` directory that nothing points at: a
crash leaves the old index (or none) live, and the next rebuild removes the leftover.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence

from bot.crashpoints import pause_point
from bot.ports import UnitOfWorkFactory
from bot.search.engine import IndexBuilder, PaperIndex
from bot.search.live import IndexPart, LiveIndex, collector_paused
from bot.search.store import IndexHome, IndexState


def usable(home: IndexHome, uow: UnitOfWorkFactory, parts: Sequence[IndexPart] = ()) -> bool:
    """Whether the live generation can be opened and caught up rather than rebuilt (the
    checks of `LiveIndex.open`, without opening tantivy)."""
    generation = home.current()
    if generation is None:
        return False
    try:
        state = home.read_state(generation)
        with uow() as work:
            if state.database != work.papers.database_id():
                return False
        for part in parts:
            part.open(generation / part.name)
    except (FileNotFoundError, ValueError, KeyError):
        return False
    return True


class GenerationFeed:
    """One `.building` generation fed from the database's changes until `finish`."""

    def __init__(
        self, home: IndexHome, uow: UnitOfWorkFactory, parts: Sequence[IndexPart] = ()
    ) -> None:
        self.home = home
        self.uow = uow
        self.parts = tuple(parts)
        self.building = home.new_generation()
        self.builder = IndexBuilder(self.building)
        self.upto: int | None = None
        with uow() as work:
            self.database = work.papers.database_id()

    def __len__(self) -> int:
        return len(self.builder)

    def feed(self) -> int:
        """Index what the database committed since the last call; papers fed."""
        with self.uow() as work, collector_paused():
            head = work.papers.last_change()
            if self.upto is None:
                # First round: every row, as a rebuild reads them (a row written before
                # change numbers existed may carry none); later rows are fed again below.
                count = self.builder.add(work.papers.iter_all())
            elif head == self.upto:
                return 0
            else:
                count = self.builder.add(work.papers.changed_between(self.upto, head))
                self.builder.remove(work.papers.removed_between(self.upto, head))
        self.upto = head
        return count

    def finish(self) -> LiveIndex:
        """Feed the last changes, commit, write the state and publish the generation."""
        self.feed()
        assert self.upto is not None
        index = self.builder.finish()
        papers = len(index)
        del index
        for part in self.parts:
            (self.building / part.name).mkdir()
            with self.uow() as work, collector_paused():
                part.build(self.building / part.name, work.papers.iter_all())
        state = IndexState(change=self.upto, papers=papers, database=self.database)
        self.home.write_state(self.building, state)
        pause_point("feed-before-publish")
        final = self.home.publish(self.building)
        return LiveIndex(self.home, PaperIndex.open(final), self.home.read_state(final), self.parts)

    def abandon(self) -> None:
        """Drop the unpublished generation (the ingest failed or stopped)."""
        self.builder.discard()
        shutil.rmtree(self.building, ignore_errors=True)
