"""SQLAlchemy 2.x typed ORM tables. Alembic migrations in `storage/migrations` create them.

Types are chosen to behave the same on SQLite and PostgreSQL: JSON lists for authors and
keywords, timezone-aware timestamps stored as UTC, BigInteger keys (SQLite maps them to
INTEGER so autoincrement still works).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigKey = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both backends.

    SQLite has no timezone type and hands back naive values; this stores UTC and always
    returns aware datetimes, so comparisons never mix naive and aware values.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class PaperRow(Base):
    __tablename__ = "papers"

    key: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    paper_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    title_key: Mapped[str] = mapped_column(String(1024), index=True)
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    author_count: Mapped[int | None] = mapped_column(Integer)
    published: Mapped[date | None] = mapped_column(Date, index=True)
    upvotes: Mapped[int | None] = mapped_column(Integer)
    comments: Mapped[int | None] = mapped_column(Integer)
    urls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    github_repo: Mapped[str | None] = mapped_column(String(512))
    organization: Mapped[str | None] = mapped_column(String(256))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    ai_summary: Mapped[str | None] = mapped_column(Text)
    sources: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    updated: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # The change number of the transaction that last wrote this row (storage/changes.py).
    change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", index=True)


class PaperChangeCounterRow(Base):
    """One row: the last change number handed out to a transaction that wrote papers."""

    __tablename__ = "paper_change_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
    database_id: Mapped[str] = mapped_column(String(36))


class PaperTombstoneRow(Base):
    """A paper key removed from the database, with the change that did it and, for a key
    merged away, the key of the paper it was folded into (how an old button finds it)."""

    __tablename__ = "paper_tombstones"

    key: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=False)
    change: Mapped[int] = mapped_column(BigInteger, index=True)
    survivor: Mapped[int | None] = mapped_column(BigKey)


class IngestRunRow(Base):
    """A large file being ingested in short batches (storage/ingest_runs.py).

    `staging` while its batches are written; `ready` once the whole file is staged, after
    which any process applies what is left (roll forward) and deletes the run.
    """

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(8))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # host:pid of the process staging or applying it, and when it last wrote a batch.
    owner: Mapped[str] = mapped_column(String(300))
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IngestBatchRow(Base):
    """One staged batch of a run's records (zlib-compressed JSON), deleted once applied."""

    __tablename__ = "ingest_batches"

    run_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("ingest_runs.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    records: Mapped[bytes] = mapped_column(LargeBinary)


class UpvoteSnapshotRow(Base):
    __tablename__ = "upvote_snapshots"

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), index=True
    )
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    upvotes: Mapped[int] = mapped_column(Integer)


class SubscriptionRow(Base):
    __tablename__ = "subscriptions"
    __table_args__ = (
        UniqueConstraint("platform", "workspace", "channel", name="uq_subscription_channel"),
        Index("ix_subscriptions_due", "paused", "next_run_at"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    # '' rather than NULL for "no workspace", so the unique constraint also holds in DMs.
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64))
    at_time: Mapped[str] = mapped_column(String(5))
    timezone: Mapped[str] = mapped_column(String(64))
    weekdays: Mapped[str] = mapped_column(String(32), default="0,1,2,3,4")
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_upvotes: Mapped[int] = mapped_column(Integer, default=0)
    top_n: Mapped[int] = mapped_column(Integer, default=5)
    window_days: Mapped[int] = mapped_column(Integer, default=3)
    cadence: Mapped[str] = mapped_column(String(8), default="daily", server_default="daily")
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_utcnow)


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("subscription_id", "digest_date", name="uq_delivery_per_day"),
        Index("ix_deliveries_status", "status"),
        # Channel taste (issue 13): a reaction names the digest message only.
        Index("ix_deliveries_message_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("subscriptions.id", ondelete="CASCADE")
    )
    digest_date: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paper_keys: Mapped[list[int]] = mapped_column(JSON, default=list)
    # {"paper key": [why, topic]} as planned (`Delivery.notes`), so a re-send shows them.
    paper_notes: Mapped[dict[str, list[str | None]] | None] = mapped_column(JSON)
    # Set while status is 'retrying': the earliest tick that may try the post again.
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DeliveryPaperRow(Base):
    """A paper a digest delivery names (`deliveries.paper_keys` as rows, for merges:
    storage/key_lists.py); no foreign key to papers, see there."""

    __tablename__ = "delivery_papers"

    delivery_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    paper_key: Mapped[int] = mapped_column(BigKey, primary_key=True, index=True)


class SentPaperRow(Base):
    """Which papers each channel has received, so no digest ever repeats one."""

    __tablename__ = "sent_papers"

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), primary_key=True, index=True
    )
    delivery_id: Mapped[int | None] = mapped_column(
        BigKey, ForeignKey("deliveries.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class AlertRow(Base):
    """A channel's alert: a followed author or a saved search (issue 14)."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("channel_key", "kind", "query", name="uq_alert_per_channel"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64))
    # `ChannelRef.key`: what matching groups alerts by and the sent-papers ledger uses.
    channel_key: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    query: Mapped[str] = mapped_column(String(300))
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=_utcnow)
    # Set on every alert of a channel when posting there failed for good (the channel is
    # gone, archived, or the bot was removed); a manager adding an alert clears it.
    paused_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class KeyValueRow(Base):
    """Small opaque blobs keyed by name (e.g. encrypted OAuth installations, bot state)."""

    __tablename__ = "kv_store"

    namespace: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- Reading list and link memory (issue 14) -------------------------------------------


class SavedPaperRow(Base):
    """One paper on one channel's reading list; `channel_key` is `ChannelRef.key`."""

    __tablename__ = "reading_list"

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), primary_key=True, index=True
    )
    saved_by: Mapped[str] = mapped_column(String(64))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="to read")
    assignee: Mapped[str | None] = mapped_column(String(64))


class FirstShareRow(Base):
    """Who first shared a paper in a channel, so later links can say so."""

    __tablename__ = "first_shares"

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), primary_key=True, index=True
    )
    shared_by: Mapped[str] = mapped_column(String(64))
    shared_at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- Alert delivery (issue 14) -----------------------------------------------------------


class AlertBatchRow(Base):
    """The new papers of one ingest run, until one worker has matched them (`planned_at`)."""

    __tablename__ = "alert_batches"
    __table_args__ = (Index("ix_alert_batches_planned", "planned_at"),)

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    paper_keys: Mapped[list[int]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    planned_by: Mapped[str | None] = mapped_column(String(128))


class AlertBatchPaperRow(Base):
    """A paper of an alert batch not planned yet (`alert_batches.paper_keys` as rows, kept
    until the batch is planned: storage/key_lists.py). Keyed by paper first, no other
    index: a bulk load's batch writes (and planning deletes) one b-tree entry per paper."""

    __tablename__ = "alert_batch_papers"

    paper_key: Mapped[int] = mapped_column(BigKey, primary_key=True)
    batch_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("alert_batches.id", ondelete="CASCADE"), primary_key=True
    )


class AlertDeliveryRow(Base):
    """One alert message: one channel, one batch; queued -> pending -> sent or failed."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("batch_id", "channel_key", name="uq_alert_delivery_per_batch"),
        Index("ix_alert_deliveries_status", "status", "platform"),
    )

    id: Mapped[int] = mapped_column(BigKey, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("alert_batches.id", ondelete="CASCADE")
    )
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64))
    channel_key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AlertItemRow(Base):
    """A paper alerted to a channel: one row per (channel, paper) ever, so never twice."""

    __tablename__ = "alert_items"
    __table_args__ = (Index("ix_alert_items_delivery", "delivery_id", "position"),)

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), primary_key=True, index=True
    )
    delivery_id: Mapped[int] = mapped_column(
        BigKey, ForeignKey("alert_deliveries.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    alerts: Mapped[list[str]] = mapped_column(JSON, default=list)


# -- Paper vectors (issue 12) ----------------------------------------------------------


class PaperVectorRow(Base):
    """The embedding of one paper under one model (`model` = encoder name@version).

    `fingerprint` hashes the text that was embedded, so a paper whose title or abstract
    changed is embedded again; `vector` is little-endian float16, unit length.
    """

    __tablename__ = "paper_vectors"
    # The catch-up reads the vectors written in a range of change numbers, per model.
    __table_args__ = (Index("ix_paper_vectors_model_change", "model", "change"),)

    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="CASCADE"), primary_key=True
    )
    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(32))
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    # The change number of the transaction that wrote the vector (storage/changes.py): a
    # new vector is applied to the index's vector part by number, like a paper row, without
    # touching the paper row (so tantivy does not index the paper again).
    change: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class VectorMarkRow(Base):
    """How far `papers-bot embed` got under one model: every paper whose change number is
    at most `change` was checked then, so the next run reads only papers written since."""

    __tablename__ = "vector_marks"

    model: Mapped[str] = mapped_column(String(128), primary_key=True)
    change: Mapped[int] = mapped_column(BigInteger)


# -- Channel taste (issue 13) -----------------------------------------------------------


class VoteRow(Base):
    """One person's 👍/👎 on one paper in one channel; a new vote replaces the old."""

    __tablename__ = "votes"
    __table_args__ = (Index("ix_votes_workspace", "platform", "workspace"),)

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    paper_key: Mapped[int] = mapped_column(
        BigKey, ForeignKey("papers.key", ondelete="RESTRICT"), primary_key=True, index=True
    )
    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # Kept apart from the key so an uninstall can delete a whole workspace's votes.
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    channel: Mapped[str] = mapped_column(String(64))
    value: Mapped[int] = mapped_column(Integer)
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str | None] = mapped_column(String(128))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ChannelTasteRow(Base):
    """A channel's taste switch; a channel without a row has taste on."""

    __tablename__ = "channel_taste"
    __table_args__ = (Index("ix_channel_taste_workspace", "platform", "workspace"),)

    channel_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    workspace: Mapped[str] = mapped_column(String(64), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
