"""The SQL paper repository: batched upserts, reads for search, trending and digests.

Paper upserts are batched: each chunk of records is matched against stored rows with two
`IN` queries (by paper id and by title key), merged in Python (`storage.paper_merge`) and
written with bulk inserts through the dialect's fast path, so the 138k-paper corpus
ingests in seconds rather than minutes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import date, datetime, time
from typing import Any, cast

from sqlalchemy import Row, Table, delete, func, insert, or_, select, tuple_
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.crashpoints import pause_point
from bot.ingest.runs import WrittenPapers
from bot.models import Paper, PaperRecord, UpsertStats
from storage.changes import bury, change_number, database_id, last_change, survivor
from storage.dialect import SqlDialect
from storage.merge_follow import follow_merges
from storage.paper_merge import (
    CHUNK,
    ROW_FIELDS,
    Draft,
    chunks,
    reconcile,
    record_values,
)
from storage.paper_scan import SCAN_COLUMNS, ScanDecoder, bundle
from storage.tables import PaperRow, PaperTombstoneRow, UpvoteSnapshotRow

# Merges `get` follows from one key before it gives up.
_MAX_HOPS = 8
# The Core table: bulk inserts through it skip the ORM's per-row bookkeeping.
_PAPERS = cast(Table, PaperRow.__table__)


def _row_values(row: PaperRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in ROW_FIELDS}


def to_paper(row: PaperRow | Row[Any]) -> Paper:
    """A `Paper` from an ORM row."""
    urls = row.urls or {}
    return Paper(
        key=row.key,
        title=row.title,
        paper_id=row.paper_id,
        abstract=row.abstract,
        authors=tuple(row.authors or ()),
        author_count=row.author_count,
        published=row.published,
        upvotes=row.upvotes,
        comments=row.comments,
        github_repo=row.github_repo,
        project_page=urls.get("project"),
        organization=row.organization,
        keywords=tuple(row.keywords or ()),
        ai_summary=row.ai_summary,
        categories=tuple(row.categories or ()),
        sources=tuple(row.sources or ()),
        first_seen=row.first_seen,
        updated=row.updated,
    )


class SqlPaperRepository:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def upsert_many(
        self,
        records: Iterable[PaperRecord],
        *,
        seen_at: datetime,
        written: WrittenPapers | None = None,
    ) -> UpsertStats:
        stats = UpsertStats()
        # Papers this call (or this ingest's earlier batches) already counted: a paper
        # repeated in a later chunk is a repeat, not one more "unchanged" paper.
        written = WrittenPapers() if written is None else written
        for chunk in chunks(records, CHUNK):
            stats = stats + self._upsert_chunk(chunk, seen_at, written)
        return stats

    def _upsert_chunk(
        self, chunk: list[PaperRecord], seen_at: datetime, written: WrittenPapers
    ) -> UpsertStats:
        incoming = [record_values(rec) for rec in chunk]
        ids = {v["paper_id"] for v in incoming if v["paper_id"]}
        keys = {v["title_key"] for v in incoming if v["title_key"]}
        if not keys:
            return UpsertStats()
        # Taken before reading: paper writers queue here, so each reads what the one
        # before it committed, and change numbers follow commit order.
        change = change_number(self.session)
        stored = {row.key: row for row in self._rows_matching(ids, keys)}
        drafts, merged = reconcile(((k, _row_values(r)) for k, r in stored.items()), incoming)
        return self._write(drafts, stored, seen_at, merged, written, change)

    def _rows_matching(self, ids: set[str], keys: set[str]) -> list[PaperRow]:
        condition: ColumnElement[bool] = PaperRow.title_key.in_(keys)
        if ids:
            condition = or_(condition, PaperRow.paper_id.in_(ids))
        return list(self.session.scalars(select(PaperRow).where(condition)))

    def _write(
        self,
        drafts: list[Draft],
        stored: dict[int, PaperRow],
        seen_at: datetime,
        merged: int,
        written: WrittenPapers,
        change: int,
    ) -> UpsertStats:
        inserted = updated = unchanged = 0
        repeats = {id(d) for d in drafts if d.key is not None and written.has(d.original)}
        snapshots: list[dict[str, Any]] = []
        absorbed = [key for d in drafts for key in d.absorbed]
        if absorbed:
            self._absorb(drafts)
        new_rows: list[dict[str, Any]] = []
        for draft in drafts:
            if draft.key is None:
                new_rows.append(
                    {**draft.values, "first_seen": seen_at, "updated": seen_at, "change": change}
                )
                continue
            if draft.values == draft.original and not draft.absorbed:
                unchanged += draft.hit and id(draft) not in repeats
                continue
            row = stored[draft.key]
            for name, value in draft.values.items():
                setattr(row, name, value)
            row.updated = seen_at
            row.change = change
            updated += id(draft) not in repeats
            if draft.values["upvotes"] is not None and draft.values[
                "upvotes"
            ] != draft.original.get("upvotes"):
                snapshots.append(
                    {
                        "paper_key": draft.key,
                        "taken_at": seen_at,
                        "upvotes": draft.values["upvotes"],
                    }
                )
        self.session.flush()
        if new_rows:
            self._keys_past_tombstones(new_rows)
        # Only rows with upvotes need their new key back (for the first snapshot); the
        # rest (all of a bulk corpus) go in through the cheaper insert without RETURNING.
        counted = [values for values in new_rows if values["upvotes"] is not None]
        plain = [values for values in new_rows if values["upvotes"] is None]
        if plain:
            self.dialect.insert_new_rows(self.session, _PAPERS, plain)
            inserted += len(plain)
        if counted:
            # Unordered RETURNING: with sort_by_parameter_order SQLite falls back to one
            # INSERT per row. Rows are matched back by (paper_id, title_key), which is
            # unique among a chunk's new drafts.
            returned = self.session.execute(
                insert(_PAPERS).returning(PaperRow.key, PaperRow.paper_id, PaperRow.title_key),
                counted,
            ).all()
            inserted += len(returned)
            upvotes = {(v["paper_id"], v["title_key"]): v["upvotes"] for v in counted}
            snapshots.extend(
                {"paper_key": key, "taken_at": seen_at, "upvotes": upvotes[(pid, tkey)]}
                for key, pid, tkey in returned
            )
        if snapshots:
            self.session.execute(insert(UpvoteSnapshotRow), snapshots)
        written.add(d.values for d in drafts if d.hit)
        pause_point("ingest-before-commit")
        return UpsertStats(inserted=inserted, updated=updated, unchanged=unchanged, merged=merged)

    def _absorb(self, drafts: list[Draft]) -> None:
        """Move every row naming an absorbed title-only paper to the surviving paper, then
        drop the absorbed rows (`storage.merge_follow`)."""
        moves = {old: d.key for d in drafts if d.key is not None for old in d.absorbed}
        # Locked first (PostgreSQL), the surviving rows too, in key order: a row naming a
        # merged-away paper inserted meanwhile (a Save) waits for this merge and then fails,
        # instead of being left behind by the move; one naming a surviving paper waits, or
        # is waited for and then combined, instead of failing the move on its primary key.
        locked = sorted({*moves, *moves.values()})
        lock = (
            select(PaperRow.key)
            .where(PaperRow.key.in_(locked))
            .order_by(PaperRow.key)
            .with_for_update()
        )
        self.session.execute(lock)
        follow_merges(self.session, moves)
        self.session.execute(delete(PaperRow).where(PaperRow.key.in_(list(moves))))
        bury(self.session, moves, survivors=moves)
        self.session.flush()
        self.session.expire_all()

    def _keys_past_tombstones(self, rows: list[dict[str, Any]]) -> None:
        """Give new rows keys past every removed one when the removed keys were the largest.

        SQLite gives a new row one more than the largest key stored, so the key of a paper
        just merged away would name the next new paper, and a button carrying it would act
        on that paper instead of the survivor. PostgreSQL's sequence never goes back.
        """
        if self.dialect.name != "sqlite":
            return
        stored = self.session.scalar(select(func.max(PaperRow.key))) or 0
        buried = self.session.scalar(select(func.max(PaperTombstoneRow.key))) or 0
        if buried > stored:
            for key, values in enumerate(rows, start=buried + 1):
                values["key"] = key

    def get_many(self, keys: Sequence[int]) -> list[Paper]:
        if not keys:
            return []
        rows = {
            row.key: row
            for row in self.session.scalars(select(PaperRow).where(PaperRow.key.in_(list(keys))))
        }
        return [to_paper(rows[k]) for k in keys if k in rows]

    def get(self, key: int) -> Paper | None:
        # A key merged away leads to its survivor, and a survivor merged since to its own;
        # bounded, though a survivor has an arXiv id and so is never folded again.
        for _ in range(_MAX_HOPS):
            row = self.session.get(PaperRow, key)
            if row is not None:
                return to_paper(row)
            found = survivor(self.session, key)
            if found is None:
                return None
            key = found
        return None

    def with_title_keys(self, title_keys: Collection[str]) -> list[Paper]:
        wanted = sorted(set(title_keys))
        found: list[Paper] = []
        for start in range(0, len(wanted), CHUNK):
            chunk = wanted[start : start + CHUNK]
            query = select(PaperRow).where(PaperRow.title_key.in_(chunk)).order_by(PaperRow.key)
            found.extend(map(to_paper, self.session.scalars(query)))
        return found

    def find_by_paper_id(self, paper_id: str) -> Paper | None:
        row = self.session.scalars(select(PaperRow).where(PaperRow.paper_id == paper_id)).first()
        return to_paper(row) if row else None

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(PaperRow)) or 0)

    def keys(self) -> set[int]:
        return set(self.session.scalars(select(PaperRow.key)))

    def iter_all(self, batch_size: int = 5000) -> Iterator[Paper]:
        return self._by_key(None, batch_size)

    def _by_key(self, where: ColumnElement[bool] | None, batch_size: int) -> Iterator[Paper]:
        """Rows matching `where`, in key order, `batch_size` at a time (keyset paging).

        Core rows, not ORM objects: a full read (an index rebuild) spent most of its time
        in the ORM's per-object bookkeeping, which a read-only scan does not need; and the
        JSON columns come as one value, dates and timestamps untyped (`storage.paper_scan`).
        """
        last = 0
        columns = [*SCAN_COLUMNS, bundle(self.dialect.name)]
        connection = self.session.connection()
        paper = ScanDecoder().paper
        while True:
            query = select(*columns).where(PaperRow.key > last)
            if where is not None:
                query = query.where(where)
            rows = connection.execute(query.order_by(PaperRow.key).limit(batch_size)).all()
            if not rows:
                return
            yield from map(paper, rows)
            last = rows[-1][0]

    def published_since(self, since: date) -> list[Paper]:
        since_dt = datetime.combine(since, time.min).astimezone()
        rows = self.session.scalars(
            select(PaperRow).where(
                or_(
                    PaperRow.published >= since,
                    PaperRow.published.is_(None) & (PaperRow.first_seen >= since_dt),
                )
            )
        )
        return [to_paper(row) for row in rows]

    def last_change(self) -> int:
        return last_change(self.session)

    def database_id(self) -> str:
        return database_id(self.session)

    def changed_between(self, after: int, upto: int, batch_size: int = 5000) -> Iterator[Paper]:
        """The papers stamped in `(after, upto]`, in (change, key) order, through the index
        on `change`: paging by key alone made SQLite walk the primary key and read every
        row of the table for each page, so a catch-up of one batch (an ingest feeding its
        index, a serving bot's refresh) cost a scan of the whole table."""
        columns = [*SCAN_COLUMNS, PaperRow.change, bundle(self.dialect.name)]
        connection = self.session.connection()
        paper = ScanDecoder().paper
        after_last: ColumnElement[bool] = PaperRow.change > after
        while True:
            query = (
                select(*columns)
                .where(after_last, PaperRow.change <= upto)
                .order_by(PaperRow.change, PaperRow.key)
                .limit(batch_size)
            )
            rows = connection.execute(query).all()
            if not rows:
                return
            for row in rows:
                yield paper((*row[:13], row[14]))
            after_last = tuple_(PaperRow.change, PaperRow.key) > tuple_(rows[-1][13], rows[-1][0])

    def removed_between(self, after: int, upto: int) -> list[int]:
        return list(
            self.session.scalars(
                select(PaperTombstoneRow.key).where(
                    PaperTombstoneRow.change > after,
                    PaperTombstoneRow.change <= upto,
                    PaperTombstoneRow.key.not_in(select(PaperRow.key)),
                )
            )
        )

    def upvote_history(self, keys: Sequence[int]) -> dict[int, list[tuple[datetime, int]]]:
        history: dict[int, list[tuple[datetime, int]]] = {}
        if not keys:
            return history
        rows = self.session.execute(
            select(
                UpvoteSnapshotRow.paper_key, UpvoteSnapshotRow.taken_at, UpvoteSnapshotRow.upvotes
            )
            .where(UpvoteSnapshotRow.paper_key.in_(list(keys)))
            .order_by(UpvoteSnapshotRow.taken_at)
        )
        for key, taken_at, upvotes in rows:
            history.setdefault(key, []).append((taken_at, upvotes))
        return history
