"""SQL implementations of the core's repository ports (`bot.ports`).

Paper upserts are batched: each chunk of records is matched against stored rows with two
`IN` queries (by paper id and by title key), merged in Python and written with bulk
inserts, so the 138k-paper corpus ingests in seconds rather than minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from itertools import islice
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import JSON, Integer, Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.models import (
    ChannelRef,
    Delivery,
    DeliveryStatus,
    Paper,
    PaperRecord,
    Platform,
    Subscription,
    SubscriptionSpec,
    UpsertStats,
    Weekday,
)
from bot.ports import ClaimRequest, FinishRequest
from bot.text import title_key
from storage.tables import (
    DeliveryRow,
    PaperRow,
    SentPaperRow,
    SubscriptionRow,
    UpvoteSnapshotRow,
    UTCDateTime,
)

CHUNK = 2000

# Fields where a newer non-empty value wins; every other field is only filled when empty.
_COUNT_FIELDS = ("upvotes", "comments")
_FILL_FIELDS = (
    "abstract",
    "published",
    "github_repo",
    "organization",
    "ai_summary",
    "author_count",
)
_UNION_FIELDS = ("keywords", "categories", "sources")


def _chunks(items: Iterable[PaperRecord], size: int) -> Iterator[list[PaperRecord]]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def _union(old: Sequence[str], new: Sequence[str]) -> list[str]:
    return list(dict.fromkeys([*old, *new]))


@dataclass(slots=True)
class _Draft:
    """A paper's merged field values while a chunk is being reconciled."""

    values: dict[str, Any]
    key: int | None = None
    original: dict[str, Any] = field(default_factory=dict)
    absorbed: list[int] = field(default_factory=list)


# The Core table: bulk inserts through it skip the ORM's per-row bookkeeping.
_PAPERS = cast(Table, PaperRow.__table__)


def _record_values(rec: PaperRecord) -> dict[str, Any]:
    urls: dict[str, Any] = {}
    if rec.project_page:
        urls["project"] = rec.project_page
    return {
        "paper_id": rec.paper_id,
        "title_key": title_key(rec.title),
        "title": rec.title,
        "abstract": rec.abstract or None,
        "authors": list(rec.authors),
        "author_count": rec.author_count
        if rec.author_count is not None
        else (len(rec.authors) or None),
        "published": rec.published,
        "upvotes": rec.upvotes,
        "comments": rec.comments,
        "urls": urls,
        "github_repo": rec.github_repo,
        "organization": rec.organization,
        "keywords": list(rec.keywords),
        "categories": list(rec.categories),
        "ai_summary": rec.ai_summary,
        "sources": [rec.source],
    }


def _merge_into(target: dict[str, Any], new: dict[str, Any]) -> None:
    """Merge `new` into `target` without ever erasing a stored value."""
    if target.get("paper_id") is None and new.get("paper_id") is not None:
        target["paper_id"] = new["paper_id"]
    for name in _COUNT_FIELDS:
        if new.get(name) is not None:
            target[name] = new[name]
    for name in _FILL_FIELDS:
        if target.get(name) in (None, "") and new.get(name) not in (None, ""):
            target[name] = new[name]
    # A source that names the authors beats one that only counted them.
    if len(new.get("authors") or []) > len(target.get("authors") or []):
        target["authors"] = list(new["authors"])
    for name in _UNION_FIELDS:
        target[name] = _union(target.get(name) or [], new.get(name) or [])
    target["urls"] = {**(new.get("urls") or {}), **(target.get("urls") or {})}
    if not target.get("title"):
        target["title"] = new["title"]
        target["title_key"] = new["title_key"]


_ROW_FIELDS = (
    "paper_id",
    "title_key",
    "title",
    "abstract",
    "authors",
    "author_count",
    "published",
    "upvotes",
    "comments",
    "urls",
    "github_repo",
    "organization",
    "keywords",
    "categories",
    "ai_summary",
    "sources",
)


_INSERT_COLUMNS = (*_ROW_FIELDS, "first_seen", "updated")
_LIST_COLUMNS = frozenset({"keywords", "categories", "sources"})


@functools.cache
def _plain_insert_plan(
    dialect: Dialect,
) -> tuple[str, list[str], list[tuple[int, str, Callable[[Any], Any]]]]:
    """The positional INSERT for `dialect`, its parameter order, and the bind processors
    (position, column, processor) of the columns that need one."""
    compiled = insert(_PAPERS).compile(dialect=dialect, column_keys=list(_INSERT_COLUMNS))
    order = list(compiled.positiontup or _INSERT_COLUMNS)
    processed: list[tuple[int, str, Callable[[Any], Any]]] = []
    for index, name in enumerate(order):
        process = _PAPERS.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processed.append((index, name, process))
    return compiled.string, order, processed


def _row_values(row: PaperRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in _ROW_FIELDS}


def to_paper(row: PaperRow) -> Paper:
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
    def __init__(self, session: Session) -> None:
        self.session = session

    def upsert_many(self, records: Iterable[PaperRecord], *, seen_at: datetime) -> UpsertStats:
        stats = UpsertStats()
        for chunk in _chunks(records, CHUNK):
            stats = stats + self._upsert_chunk(chunk, seen_at)
        return stats

    def _upsert_chunk(self, chunk: list[PaperRecord], seen_at: datetime) -> UpsertStats:
        incoming = [_record_values(rec) for rec in chunk]
        ids = {v["paper_id"] for v in incoming if v["paper_id"]}
        keys = {v["title_key"] for v in incoming if v["title_key"]}
        if not keys:
            return UpsertStats()
        stored = {row.key: row for row in self._rows_matching(ids, keys)}
        by_id: dict[str, _Draft] = {}
        by_title: dict[str, list[_Draft]] = {}
        drafts: list[_Draft] = []

        def register(draft: _Draft) -> None:
            drafts.append(draft)
            if draft.values["paper_id"]:
                by_id[draft.values["paper_id"]] = draft
            by_title.setdefault(draft.values["title_key"], []).append(draft)

        for row in stored.values():
            values = _row_values(row)
            register(_Draft(values=values, key=row.key, original=dict(values)))

        merged = 0
        for values in incoming:
            if not values["title_key"]:
                continue
            pid = values["paper_id"]
            same_title = by_title.get(values["title_key"], [])
            target = by_id.get(pid) if pid else None
            if pid is None:
                # No id: any paper with this title is the same paper; prefer one with an id.
                target = next((d for d in same_title if d.values["paper_id"]), None) or next(
                    iter(same_title), None
                )
            else:
                orphan = next(
                    (d for d in same_title if d.values["paper_id"] is None and d is not target),
                    None,
                )
                if target is None and orphan is not None:
                    target = orphan
                elif target is not None and orphan is not None:
                    # The id arrived after a title-only row was stored: fold that row in.
                    _merge_into(target.values, orphan.values)
                    if orphan.key is not None:
                        target.absorbed.append(orphan.key)
                        if target.key is None:
                            target.key, orphan.key = orphan.key, None
                            target.absorbed.remove(target.key)
                    drafts.remove(orphan)
                    same_title.remove(orphan)
                    merged += 1
            if target is None:
                register(_Draft(values=values))
            else:
                had_id = target.values["paper_id"]
                _merge_into(target.values, values)
                if had_id is None and target.values["paper_id"]:
                    by_id[target.values["paper_id"]] = target
        return self._write(drafts, stored, seen_at, merged)

    def _rows_matching(self, ids: set[str], keys: set[str]) -> list[PaperRow]:
        condition: ColumnElement[bool] = PaperRow.title_key.in_(keys)
        if ids:
            condition = or_(condition, PaperRow.paper_id.in_(ids))
        return list(self.session.scalars(select(PaperRow).where(condition)))

    def _write(
        self, drafts: list[_Draft], stored: dict[int, PaperRow], seen_at: datetime, merged: int
    ) -> UpsertStats:
        inserted = updated = unchanged = 0
        snapshots: list[dict[str, Any]] = []
        absorbed = [key for d in drafts for key in d.absorbed]
        if absorbed:
            self._absorb(drafts)
        new_rows: list[dict[str, Any]] = []
        for draft in drafts:
            if draft.key is None:
                new_rows.append({**draft.values, "first_seen": seen_at, "updated": seen_at})
                continue
            if draft.values == draft.original and not draft.absorbed:
                unchanged += 1
                continue
            row = stored[draft.key]
            for name, value in draft.values.items():
                setattr(row, name, value)
            row.updated = seen_at
            updated += 1
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
        # Only rows with upvotes need their new key back (for the first snapshot); the
        # rest (all of a bulk corpus) go in through the cheaper insert without RETURNING.
        counted = [values for values in new_rows if values["upvotes"] is not None]
        plain = [values for values in new_rows if values["upvotes"] is None]
        if plain:
            self._insert_plain(plain)
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
        return UpsertStats(inserted=inserted, updated=updated, unchanged=unchanged, merged=merged)

    def _insert_plain(self, rows: list[dict[str, Any]]) -> None:
        """Insert new paper rows, no keys returned.

        On SQLite this hands pre-converted tuples straight to the driver's executemany:
        SQLAlchemy's per-row parameter processing (five JSON columns, timestamps) was most
        of the time of a bulk ingest. Values are converted with the columns' own bind
        processors, so what is stored is exactly what the ORM would store.
        """
        connection = self.session.connection()
        if connection.dialect.name != "sqlite":
            self.session.execute(insert(_PAPERS), rows)
            return
        sql, order, processed = _plain_insert_plan(connection.dialect)
        raw = itemgetter(*order)
        # Timestamps, dates and the short JSON lists repeat across rows: convert each
        # distinct value once (memo per column). Authors differ per paper: converted directly.
        memos: dict[int, dict[Any, Any]] = {index: {} for index, name, _ in processed}
        params: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(raw(row))
            for index, name, process in processed:
                value = values[index]
                if value is None:
                    continue
                if name == "authors":
                    values[index] = process(value)
                    continue
                key = (
                    tuple(value)
                    if name in _LIST_COLUMNS
                    else tuple(value.items())
                    if name == "urls"
                    else value
                )
                memo = memos[index]
                if key not in memo:
                    memo[key] = process(value)
                values[index] = memo[key]
            params.append(tuple(values))
        connection.exec_driver_sql(sql, params)

    def _absorb(self, drafts: list[_Draft]) -> None:
        """Re-point history of absorbed title-only rows at the surviving row, then drop them."""
        for draft in drafts:
            for old in draft.absorbed:
                if draft.key is None:
                    continue
                self.session.execute(
                    update(UpvoteSnapshotRow)
                    .where(UpvoteSnapshotRow.paper_key == old)
                    .values(paper_key=draft.key)
                )
                already = set(
                    self.session.scalars(
                        select(SentPaperRow.channel_key).where(SentPaperRow.paper_key == draft.key)
                    )
                )
                if already:
                    self.session.execute(
                        delete(SentPaperRow).where(
                            SentPaperRow.paper_key == old, SentPaperRow.channel_key.in_(already)
                        )
                    )
                self.session.execute(
                    update(SentPaperRow)
                    .where(SentPaperRow.paper_key == old)
                    .values(paper_key=draft.key)
                )
                self.session.execute(delete(PaperRow).where(PaperRow.key == old))
        self.session.flush()
        self.session.expire_all()

    def get(self, key: int) -> Paper | None:
        row = self.session.get(PaperRow, key)
        return to_paper(row) if row else None

    def get_many(self, keys: Sequence[int]) -> list[Paper]:
        if not keys:
            return []
        rows = {
            row.key: row
            for row in self.session.scalars(select(PaperRow).where(PaperRow.key.in_(list(keys))))
        }
        return [to_paper(rows[k]) for k in keys if k in rows]

    def find_by_paper_id(self, paper_id: str) -> Paper | None:
        row = self.session.scalars(select(PaperRow).where(PaperRow.paper_id == paper_id)).first()
        return to_paper(row) if row else None

    def find_by_title(self, title: str) -> Paper | None:
        row = self.session.scalars(
            select(PaperRow).where(PaperRow.title_key == title_key(title))
        ).first()
        return to_paper(row) if row else None

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(PaperRow)) or 0)

    def keys(self) -> set[int]:
        return set(self.session.scalars(select(PaperRow.key)))

    def iter_all(self, batch_size: int = 5000) -> Iterator[Paper]:
        last = 0
        while True:
            rows = list(
                self.session.scalars(
                    select(PaperRow)
                    .where(PaperRow.key > last)
                    .order_by(PaperRow.key)
                    .limit(batch_size)
                )
            )
            if not rows:
                return
            for row in rows:
                yield to_paper(row)
            last = rows[-1].key
            self.session.expunge_all()

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

    def changed_since(self, since: datetime) -> list[Paper]:
        rows = self.session.scalars(select(PaperRow).where(PaperRow.updated >= since))
        return [to_paper(row) for row in rows]

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


def _weekdays_text(days: Sequence[Weekday]) -> str:
    return ",".join(str(int(d)) for d in sorted(set(days)))


def _weekdays_parse(text: str) -> tuple[Weekday, ...]:
    return tuple(Weekday(int(x)) for x in text.split(",") if x.strip())


def to_subscription(row: SubscriptionRow) -> Subscription:
    hour, minute = (int(x) for x in row.at_time.split(":"))
    spec = SubscriptionSpec(
        channel=ChannelRef(Platform(row.platform), row.channel, row.workspace or None),
        at=time(hour, minute),
        timezone=row.timezone,
        weekdays=_weekdays_parse(row.weekdays),
        keywords=tuple(row.keywords or ()),
        min_upvotes=row.min_upvotes,
        top_n=row.top_n,
        window_days=row.window_days,
        created_by=row.created_by,
    )
    return Subscription(
        id=row.id,
        spec=spec,
        next_run_at=row.next_run_at,
        paused=row.paused,
        paused_reason=row.paused_reason,
        consecutive_failures=row.consecutive_failures,
        created_at=row.created_at,
    )


def _channel_filter(channel: ChannelRef) -> Any:
    return (
        (SubscriptionRow.platform == channel.platform.value)
        & (SubscriptionRow.workspace == (channel.workspace or ""))
        & (SubscriptionRow.channel == channel.channel)
    )


class SqlSubscriptionRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, channel: ChannelRef) -> SubscriptionRow | None:
        return self.session.scalars(select(SubscriptionRow).where(_channel_filter(channel))).first()

    def upsert(self, spec: SubscriptionSpec, *, next_run_at: datetime) -> Subscription:
        row = self._row(spec.channel)
        now = datetime.now().astimezone()
        if row is None:
            row = SubscriptionRow(
                platform=spec.channel.platform.value,
                workspace=spec.channel.workspace or "",
                channel=spec.channel.channel,
                created_by=spec.created_by,
                created_at=now,
            )
            self.session.add(row)
        row.at_time = spec.at.strftime("%H:%M")
        row.timezone = spec.timezone
        row.weekdays = _weekdays_text(spec.weekdays)
        row.keywords = list(spec.keywords)
        row.min_upvotes = spec.min_upvotes
        row.top_n = spec.top_n
        row.window_days = spec.window_days
        row.next_run_at = next_run_at
        row.paused = False
        row.paused_reason = None
        row.consecutive_failures = 0
        row.updated_at = now
        self.session.flush()
        return to_subscription(row)

    def remove(self, channel: ChannelRef) -> bool:
        result = self.session.execute(delete(SubscriptionRow).where(_channel_filter(channel)))
        return bool(getattr(result, "rowcount", 0))

    def for_channel(self, channel: ChannelRef) -> Subscription | None:
        row = self._row(channel)
        return to_subscription(row) if row else None

    def get(self, subscription_id: int) -> Subscription | None:
        row = self.session.get(SubscriptionRow, subscription_id)
        return to_subscription(row) if row else None

    def list_all(self, *, platform: str | None = None) -> list[Subscription]:
        stmt = select(SubscriptionRow).order_by(SubscriptionRow.id)
        if platform:
            stmt = stmt.where(SubscriptionRow.platform == platform)
        return [to_subscription(r) for r in self.session.scalars(stmt)]

    def due(
        self,
        now: datetime,
        *,
        limit: int | None = None,
        lock: bool = False,
        platforms: Collection[str] | None = None,
    ) -> list[Subscription]:
        """Active subscriptions whose `next_run_at` is at or before `now`, earliest first.

        With `lock=True` the caller is about to claim them and advance `next_run_at` in the
        same transaction: PostgreSQL locks the rows `FOR UPDATE SKIP LOCKED`, so concurrent
        replicas split the due set instead of queueing behind each other; SQLite has no row
        locks, so it takes the database write lock up front (a no-op UPDATE), which makes
        the read below see every earlier claim and keeps a second process waiting until
        this transaction commits.
        """
        stmt = (
            select(SubscriptionRow)
            .where(SubscriptionRow.paused.is_(False), SubscriptionRow.next_run_at <= now)
            .order_by(SubscriptionRow.next_run_at, SubscriptionRow.id)
        )
        if platforms is not None:
            stmt = stmt.where(SubscriptionRow.platform.in_(list(platforms)))
        if limit is not None:
            stmt = stmt.limit(limit)
        if lock:
            if self.session.get_bind().dialect.name == "postgresql":
                stmt = stmt.with_for_update(skip_locked=True, of=SubscriptionRow)
            else:
                self.session.execute(
                    update(SubscriptionRow)
                    .where(SubscriptionRow.id == -1)
                    .values(next_run_at=SubscriptionRow.next_run_at)
                )
        return [to_subscription(r) for r in self.session.scalars(stmt)]

    def count_due(self, now: datetime) -> int:
        return int(
            self.session.scalar(
                select(func.count())
                .select_from(SubscriptionRow)
                .where(SubscriptionRow.paused.is_(False), SubscriptionRow.next_run_at <= now)
            )
            or 0
        )

    def set_next_run(self, subscription_id: int, next_run_at: datetime) -> None:
        self.session.execute(
            update(SubscriptionRow)
            .where(SubscriptionRow.id == subscription_id)
            .values(next_run_at=next_run_at)
        )

    def record_outcome(
        self,
        subscription_id: int,
        *,
        permanent_failure: bool,
        reason: str | None = None,
        pause_after: int = 3,
    ) -> bool:
        row = self.session.get(SubscriptionRow, subscription_id)
        if row is None:
            return False
        if not permanent_failure:
            row.consecutive_failures = 0
            return False
        row.consecutive_failures += 1
        if row.consecutive_failures >= pause_after:
            row.paused = True
            row.paused_reason = reason
        self.session.flush()
        return row.paused

    def set_next_runs(self, next_runs: dict[int, datetime]) -> None:
        if not next_runs:
            return
        # Executed on the connection: a plain executemany, not the ORM's per-row bulk path.
        stmt = (
            update(SubscriptionRow)
            .where(SubscriptionRow.id == bindparam("b_id"))
            .values(next_run_at=bindparam("b_next", type_=UTCDateTime()))
        )
        self.session.connection().execute(
            stmt, [{"b_id": k, "b_next": v} for k, v in next_runs.items()]
        )

    def reset_failures(self, subscription_ids: Sequence[int]) -> None:
        if not subscription_ids:
            return
        self.session.execute(
            update(SubscriptionRow)
            .where(
                SubscriptionRow.id.in_(list(subscription_ids)),
                SubscriptionRow.consecutive_failures != 0,
            )
            .values(consecutive_failures=0)
            .execution_options(synchronize_session=False)
        )

    def resume(self, channel: ChannelRef) -> bool:
        row = self._row(channel)
        if row is None:
            return False
        row.paused, row.paused_reason, row.consecutive_failures = False, None, 0
        return True

    def count(self) -> int:
        return int(self.session.scalar(select(func.count()).select_from(SubscriptionRow)) or 0)

    def count_paused(self) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(SubscriptionRow).where(SubscriptionRow.paused)
            )
            or 0
        )


def to_delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        subscription_id=row.subscription_id,
        digest_date=row.digest_date,
        status=DeliveryStatus(row.status),
        message_id=row.message_id,
        reason=row.reason,
        attempts=row.attempts,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        updated_at=row.updated_at,
        paper_keys=tuple(row.paper_keys or ()),
        retry_at=row.retry_at,
    )


class SqlDeliveryLedger:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _insert(self) -> Any:
        if self.session.get_bind().dialect.name == "postgresql":
            return postgresql.insert(DeliveryRow)
        return sqlite.insert(DeliveryRow)

    def claim(
        self,
        subscription_id: int,
        digest_date: date,
        *,
        worker: str,
        now: datetime,
        status: DeliveryStatus = DeliveryStatus.PENDING,
        reason: str | None = None,
        paper_keys: Sequence[int] = (),
    ) -> Delivery | None:
        """Insert the (subscription, date) row unless one exists; None if it already does.

        The insert is `ON CONFLICT DO NOTHING` against `UNIQUE(subscription, digest_date)`,
        so of two concurrent claims exactly one gets a row back. `status` lets a run record
        a day it decided to skip, or found empty, with the same once-only guarantee;
        `paper_keys` stores the planned content before anything is posted, so a crash
        recovery can re-send, or mark as sent, exactly the papers that were chosen.
        """
        stmt = (
            self._insert()
            .values(
                subscription_id=subscription_id,
                digest_date=digest_date,
                status=status.value,
                reason=reason,
                attempts=0,
                claimed_by=worker,
                claimed_at=now,
                updated_at=now,
                paper_keys=list(paper_keys),
            )
            .on_conflict_do_nothing(index_elements=["subscription_id", "digest_date"])
            .returning(DeliveryRow.id)
        )
        new_id = self.session.scalar(stmt)
        if new_id is None:
            return None
        row = self.session.get(DeliveryRow, new_id)
        return to_delivery(row) if row else None

    def reclaim_stale(
        self,
        *,
        worker: str,
        now: datetime,
        older_than: datetime,
        is_alive: Callable[[str], bool] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        """Pending rows whose worker is gone, re-assigned to `worker` as claimed at `now`.

        A row is stale when `is_alive(claimed_by)` says its worker has died (exact: the
        worker's lease is a PostgreSQL advisory lock or a file lock, released by the OS when
        the process dies). Without `is_alive`, a row is stale once claimed before
        `older_than`. `worker`'s own rows are judged like any other (a runner calls this
        only between its runs, when none of its rows can be in flight). On PostgreSQL the rows
        are locked `FOR UPDATE SKIP LOCKED`, so two recovering replicas never take the
        same row; the re-assignment commits with the caller's transaction.
        """
        stmt = (
            select(DeliveryRow)
            .where(DeliveryRow.status == DeliveryStatus.PENDING.value)
            .order_by(DeliveryRow.id)
        )
        if is_alive is None:
            stmt = stmt.where(DeliveryRow.claimed_at < older_than)
        if limit is not None:
            stmt = stmt.limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(stmt))
        if is_alive is not None:
            verdict: dict[str, bool] = {}
            for row in rows:
                owner = row.claimed_by or ""
                if owner not in verdict:
                    verdict[owner] = bool(owner) and is_alive(owner)
            rows = [row for row in rows if not verdict[row.claimed_by or ""]]
        for row in rows:
            row.claimed_by = worker
            row.claimed_at = now
        self.session.flush()
        return [to_delivery(r) for r in rows]

    def plan(self, delivery_id: int, paper_keys: Sequence[int]) -> None:
        """Store the papers chosen for a pending delivery before it is posted."""
        self.session.execute(
            update(DeliveryRow)
            .where(DeliveryRow.id == delivery_id)
            .values(paper_keys=list(paper_keys))
        )

    def finish(
        self,
        delivery_id: int,
        status: DeliveryStatus,
        *,
        now: datetime,
        message_id: str | None = None,
        reason: str | None = None,
        paper_keys: Sequence[int] = (),
    ) -> None:
        row = self.session.get(DeliveryRow, delivery_id)
        if row is None:
            raise LookupError(f"delivery {delivery_id} does not exist")
        row.status = status.value
        row.message_id = message_id
        row.reason = reason
        row.updated_at = now
        # No keys given keeps the planned ones, so a failed row still shows what it held.
        if paper_keys:
            row.paper_keys = list(paper_keys)
        if status is DeliveryStatus.SENT and paper_keys:
            sub = self.session.get(SubscriptionRow, row.subscription_id)
            if sub is not None:
                channel = ChannelRef(Platform(sub.platform), sub.channel, sub.workspace or None)
                already = set(
                    self.session.scalars(
                        select(SentPaperRow.paper_key).where(
                            SentPaperRow.channel_key == channel.key,
                            SentPaperRow.paper_key.in_(list(paper_keys)),
                        )
                    )
                )
                fresh = [
                    {
                        "channel_key": channel.key,
                        "paper_key": k,
                        "delivery_id": delivery_id,
                        "sent_at": now,
                    }
                    for k in dict.fromkeys(paper_keys)
                    if k not in already
                ]
                if fresh:
                    self.session.execute(insert(SentPaperRow), fresh)
        self.session.flush()

    def bump_attempts(self, delivery_id: int, *, now: datetime) -> int:
        row = self.session.get(DeliveryRow, delivery_id)
        if row is None:
            raise LookupError(f"delivery {delivery_id} does not exist")
        row.attempts += 1
        row.updated_at = now
        self.session.flush()
        return row.attempts

    def get(self, delivery_id: int) -> Delivery | None:
        row = self.session.get(DeliveryRow, delivery_id)
        return to_delivery(row) if row else None

    def sent_paper_keys(self, channel: ChannelRef) -> set[int]:
        return set(
            self.session.scalars(
                select(SentPaperRow.paper_key).where(SentPaperRow.channel_key == channel.key)
            )
        )

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, worker: str, now: datetime
    ) -> dict[int, int]:
        """One multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING`: only new rows return."""
        if not requests:
            return {}
        rows = [
            {
                "subscription_id": r.subscription_id,
                "digest_date": r.digest_date,
                "status": r.status.value,
                "reason": r.reason,
                "attempts": 0,
                "claimed_by": worker,
                "claimed_at": now,
                "updated_at": now,
                "paper_keys": list(r.paper_keys),
            }
            for r in requests
        ]
        # executemany with RETURNING: SQLAlchemy batches it as "insertmanyvalues" from one
        # cached statement (a literal multi-row VALUES would be compiled anew every time).
        stmt = (
            self._insert()
            .on_conflict_do_nothing(index_elements=["subscription_id", "digest_date"])
            .returning(DeliveryRow.subscription_id, DeliveryRow.id)
        )
        result = self.session.connection().execute(stmt, rows)
        return {int(sub_id): int(row_id) for sub_id, row_id in result}

    def finish_many(self, requests: Sequence[FinishRequest], *, now: datetime) -> int:
        if not requests:
            return 0
        stmt = (
            update(DeliveryRow)
            .where(
                DeliveryRow.id == bindparam("b_id"),
                DeliveryRow.status == DeliveryStatus.PENDING.value,
            )
            .values(
                status=bindparam("b_status"),
                message_id=bindparam("b_message"),
                reason=bindparam("b_reason"),
                updated_at=bindparam("b_now", type_=UTCDateTime()),
                paper_keys=bindparam("b_keys", type_=JSON()),
                retry_at=bindparam("b_retry_at", type_=UTCDateTime()),
                attempts=func.coalesce(
                    bindparam("b_attempts", type_=Integer()), DeliveryRow.attempts
                ),
            )
        )
        params = [
            {
                "b_id": r.delivery_id,
                "b_status": r.status.value,
                "b_message": r.message_id,
                "b_reason": r.reason,
                "b_now": now,
                "b_keys": list(r.paper_keys),
                "b_retry_at": r.retry_at if r.status is DeliveryStatus.RETRYING else None,
                "b_attempts": r.attempts,
            }
            for r in requests
        ]
        changed = self.session.connection().execute(stmt, params).rowcount
        sent = [
            {
                "channel_key": r.channel_key,
                "paper_key": k,
                "delivery_id": r.delivery_id,
                "sent_at": now,
            }
            for r in requests
            if r.status is DeliveryStatus.SENT
            for k in dict.fromkeys(r.paper_keys)
        ]
        if sent:
            dialect = self.session.get_bind().dialect.name
            insert_sent = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(
                SentPaperRow
            ).on_conflict_do_nothing(index_elements=["channel_key", "paper_key"])
            self.session.execute(insert_sent, sent)
        self.session.expire_all()
        return int(changed or 0)

    def sent_paper_keys_many(self, channel_keys: Sequence[str]) -> dict[str, set[int]]:
        found: dict[str, set[int]] = {key: set() for key in channel_keys}
        if not channel_keys:
            return found
        rows = self.session.execute(
            select(SentPaperRow.channel_key, SentPaperRow.paper_key).where(
                SentPaperRow.channel_key.in_(list(channel_keys))
            )
        )
        for channel_key, paper_key in rows:
            found[channel_key].add(int(paper_key))
        return found

    def unfinished_paper_keys_many(self, subscription_ids: Sequence[int]) -> dict[int, set[int]]:
        found: dict[int, set[int]] = {}
        if not subscription_ids:
            return found
        rows = self.session.execute(
            select(DeliveryRow.subscription_id, DeliveryRow.paper_keys).where(
                DeliveryRow.subscription_id.in_(list(subscription_ids)),
                DeliveryRow.status.in_(
                    [DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value]
                ),
            )
        )
        for subscription_id, keys in rows:
            found.setdefault(int(subscription_id), set()).update(int(k) for k in keys or ())
        return found

    def take_retries(
        self,
        *,
        worker: str,
        now: datetime,
        platforms: Collection[str] | None = None,
        limit: int | None = None,
    ) -> list[Delivery]:
        stmt = (
            select(DeliveryRow)
            .where(
                DeliveryRow.status == DeliveryStatus.RETRYING.value,
                DeliveryRow.retry_at <= now,
            )
            .order_by(DeliveryRow.retry_at, DeliveryRow.id)
        )
        if platforms is not None:
            stmt = stmt.where(
                DeliveryRow.subscription_id.in_(
                    select(SubscriptionRow.id).where(SubscriptionRow.platform.in_(list(platforms)))
                )
            )
        if limit is not None:
            stmt = stmt.limit(limit)
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True, of=DeliveryRow)
        else:
            # No row locks: take the database write lock before reading (as `due` does), so
            # a concurrent process reads only after this transaction has moved the rows.
            self.session.execute(
                update(DeliveryRow).where(DeliveryRow.id == -1).values(status=DeliveryRow.status)
            )
        rows = list(self.session.scalars(stmt))
        for row in rows:
            row.status = DeliveryStatus.PENDING.value
            row.claimed_by = worker
            row.claimed_at = now  # the caller's clock, like every claim
            row.retry_at = None
        self.session.flush()
        return [to_delivery(r) for r in rows]

    def count(self, status: DeliveryStatus | None = None) -> int:
        stmt = select(func.count()).select_from(DeliveryRow)
        if status is not None:
            stmt = stmt.where(DeliveryRow.status == status.value)
        return int(self.session.scalar(stmt) or 0)
