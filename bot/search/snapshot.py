"""Loads the search index: rebuilt from the database, or reopened from a persisted snapshot.

A snapshot directory (PAPERS_SEARCH_INDEX_DIR) holds the tantivy index plus a marker with
the time up to which the database is covered; on start only papers changed since then are
added, so a 1M-paper bot starts in seconds instead of rebuilding for a minute.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.ports import UnitOfWorkFactory
from bot.search.engine import IndexBusy, PaperIndex

log = logging.getLogger(__name__)

COVERED_MARKER = "covered-until"
# An ingest stamps its rows with the time it started and commits later, so rows stamped
# just before a refresh may become visible only after it: each catch-up also looks back
# this far before the last one, for papers the index does not have yet.
REFRESH_OVERLAP = timedelta(minutes=10)


def mark_covered(directory: Path, moment: datetime) -> None:
    (directory / COVERED_MARKER).write_text(moment.isoformat(), encoding="utf-8")


def _covered_until(directory: Path) -> datetime:
    return datetime.fromisoformat((directory / COVERED_MARKER).read_text(encoding="utf-8").strip())


def catch_up(index: PaperIndex, uow: UnitOfWorkFactory, since: datetime) -> int:
    """Bring `index` up to date with the database from `since`; the papers (re)indexed.

    Adds papers inserted or updated since then, plus papers stamped up to
    `REFRESH_OVERLAP` earlier that the index lacks; and drops indexed keys the database
    no longer has: a merge deletes the title-only row it absorbs and updates the
    surviving row in the same transaction, so the key check is needed only when
    something changed.
    """
    with uow() as work:
        recent = work.papers.changed_since(since - REFRESH_OVERLAP)
        indexed = index.keys()
        changed = [
            paper
            for paper in recent
            if paper.updated is None or paper.updated >= since or paper.key not in indexed
        ]
        stale = indexed - work.papers.keys() if recent else set()
    index.add(changed)
    if stale:
        log.info("dropping %d merged-away papers from the search index", len(stale))
        index.remove(stale)
    return len(changed)


def load_index(uow: UnitOfWorkFactory, directory: str | None) -> tuple[PaperIndex, datetime]:
    """The index and the time up to which it reflects the database."""
    started = datetime.now(UTC)
    if directory is None:
        with uow() as work:
            return PaperIndex.build(work.papers.iter_all()), started
    path = Path(directory)
    try:
        index = PaperIndex.open(path)
        covered = _covered_until(path)
    except (FileNotFoundError, ValueError) as exc:
        log.info("building the search snapshot in %s (%s)", path, exc)
        path.mkdir(parents=True, exist_ok=True)
        with uow() as work:
            index = PaperIndex.build(work.papers.iter_all(), directory=path)
        mark_covered(path, started)
        return index, started
    try:
        catch_up(index, uow, covered)
    except IndexBusy:
        # A running bot owns the snapshot's writer; search it as it is rather than fail.
        log.warning(
            "search snapshot %s is being updated by another process; using it as of %s",
            path,
            covered.isoformat(),
        )
        return index, covered
    mark_covered(path, started)
    return index, started
