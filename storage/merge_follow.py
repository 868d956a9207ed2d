"""Rows that name a paper follow it when it is merged into another (nothing stored is lost).

`SqlPaperRepository` folds a title-only paper into the paper that has its arXiv id and
deletes the folded row. Before that delete, every table that references papers is
re-pointed at the surviving key: upvote history, sent and alerted papers, reading lists,
first shares, votes and vectors. Where the channel (person, model) already has a row for
the surviving paper, one row is kept with values chosen by `bot.merge_rules`. Paper key
lists stored as JSON (a digest's planned papers, an alert batch) are rewritten too, so a
re-sent digest and a reaction on an old digest still find the paper: exactly the rows
that `delivery_papers` and `alert_batch_papers` say name a merged-away key
(`storage.key_lists`). The tombstone left for the merged-away key names the survivor
(`storage.changes.bury`), so a button or link still carrying the old key acts on it.

The foreign keys to `papers.key` restrict deletes (migration 0012), so a table added
later and not listed here makes a merge fail loudly rather than lose its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, cast

from sqlalchemy import Table, and_, delete, select, update
from sqlalchemy.orm import Session

from bot.merge_rules import (
    keep_alert_item,
    keep_first_share,
    keep_saved,
    keep_sent,
    keep_survivor,
    keep_vote,
)
from storage.key_lists import rewrite_key_lists
from storage.tables import (
    AlertItemRow,
    Base,
    FirstShareRow,
    PaperVectorRow,
    SavedPaperRow,
    SentPaperRow,
    UpvoteSnapshotRow,
    VoteRow,
)

Rule = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]

# Every table with a foreign key to papers.key, and how two rows for one paper combine
# (None: rows have their own key and simply move).
REFERENCES: dict[type[Base], Rule | None] = {
    UpvoteSnapshotRow: None,
    SentPaperRow: keep_sent,
    AlertItemRow: keep_alert_item,
    SavedPaperRow: keep_saved,
    FirstShareRow: keep_first_share,
    VoteRow: keep_vote,
    PaperVectorRow: keep_survivor,
}


def follow_merges(session: Session, moves: Mapping[int, int]) -> None:
    """Re-point every row naming a merged-away key (`moves`: old key -> surviving key)."""
    for old, new in moves.items():
        for row, rule in REFERENCES.items():
            _follow(session, cast(Table, row.__table__), old, new, rule)
    rewrite_key_lists(session, moves)


def _follow(session: Session, table: Table, old: int, new: int, rule: Rule | None) -> None:
    paper = table.c.paper_key
    if rule is not None:
        # The rest of the primary key: channel, person or model.
        rest = [c for c in table.primary_key.columns if c.name != "paper_key"]
        rows = session.execute(select(table).where(paper.in_((old, new)))).mappings().all()
        pairs: dict[tuple[Any, ...], dict[int, Mapping[str, Any]]] = {}
        for row in rows:
            pairs.setdefault(tuple(row[c.name] for c in rest), {})[row["paper_key"]] = dict(row)
        for ident, pair in pairs.items():
            if old not in pair or new not in pair:
                continue
            same = and_(*(c == value for c, value in zip(rest, ident, strict=True)))
            session.execute(delete(table).where(same, paper == old))
            values = rule(pair[old], pair[new])
            if values:
                session.execute(update(table).where(same, paper == new).values(**values))
    session.execute(update(table).where(paper == old).values(paper_key=new))
