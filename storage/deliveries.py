"""The SQL delivery ledger: one row per (subscription, digest date), pending → sent.

A claim is an insert that skips existing rows, so of several runners exactly one owns a
day's digest. The papers of every sent digest are remembered per channel (`sent_papers`),
so a channel never gets the same paper twice. A delivery's planned papers are kept as a
JSON list (read with the row) and as `delivery_papers` rows (for merges: storage/key_lists.py),
written together.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import JSON, Integer, Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from bot.merge_rules import follow_keys, follow_notes
from bot.models import ChannelRef, Delivery, DeliveryStatus
from bot.ports import ClaimRequest, FinishRequest
from storage.changes import follow_removed
from storage.dialect import SqlDialect
from storage.key_lists import DELIVERIES
from storage.tables import DeliveryRow, SentPaperRow, SubscriptionRow, UTCDateTime

_DELIVERIES = cast(Table, DeliveryRow.__table__)
_SENT_PAPERS = cast(Table, SentPaperRow.__table__)


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
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

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
        stmt = self.dialect.skip_locked(stmt, DeliveryRow)
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

    def sent_paper_keys(self, channel: ChannelRef) -> set[int]:
        return set(
            self.session.scalars(
                select(SentPaperRow.paper_key).where(SentPaperRow.channel_key == channel.key)
            )
        )

    def claim_many(
        self, requests: Sequence[ClaimRequest], *, worker: str, now: datetime
    ) -> dict[int, int]:
        """Insert each (subscription, date) row unless one exists; only new rows return.

        One `INSERT … ON CONFLICT DO NOTHING RETURNING` against
        `UNIQUE(subscription, digest_date)`, so of two concurrent claims exactly one gets a
        row back. A request's `status` lets a run record a day it decided to skip, or found
        empty, with the same once-only guarantee; its `paper_keys` store the planned content
        before anything is posted, so crash recovery can re-send, or mark as sent, exactly
        the papers that were chosen.
        """
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
                "paper_notes": {str(k): list(v) for k, v in r.notes().items()} or None,
            }
            for r in requests
        ]
        # executemany with RETURNING: SQLAlchemy batches it as "insertmanyvalues" from one
        # cached statement (a literal multi-row VALUES would be compiled anew every time).
        stmt = self.dialect.insert_ignoring(
            _DELIVERIES, ["subscription_id", "digest_date"]
        ).returning(DeliveryRow.subscription_id, DeliveryRow.id)
        result = self.session.connection().execute(stmt, rows)
        claimed = {int(sub_id): int(row_id) for sub_id, row_id in result}
        planned = {r.subscription_id: r.paper_keys for r in requests}
        DELIVERIES.write(self.session, {i: planned[s] for s, i in claimed.items()}, new=True)
        return claimed

    def finish_many(self, requests: Sequence[FinishRequest], *, now: datetime) -> int:
        """Record outcomes; a sent digest's papers become the channel's sent papers.

        A runner's keys are the ones it planned with: a key merged away since (its papers
        were read before the merge committed) is recorded as the surviving paper, and a
        key deleted outright is not recorded as sent (`sent_papers` names stored papers).
        """
        if not requests:
            return 0
        # Locks the stored keys before the rows a merge rewrites (storage.changes).
        removed = follow_removed(self.session, {k for r in requests for k in r.paper_keys})
        moves = {old: new for old, new in removed.items() if new is not None}
        keys = {r.delivery_id: follow_keys(r.paper_keys, moves) for r in requests}
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
                "b_keys": keys[r.delivery_id],
                "b_retry_at": r.retry_at if r.status is DeliveryStatus.RETRYING else None,
                "b_attempts": r.attempts,
            }
            for r in requests
        ]
        changed = self.session.connection().execute(stmt, params).rowcount
        if moves:
            self._follow_notes([r.delivery_id for r in requests], moves)
        # From what is stored: a row no longer pending kept its list.
        DELIVERIES.sync(self.session, [r.delivery_id for r in requests])
        sent = [
            {
                "channel_key": r.channel_key,
                "paper_key": k,
                "delivery_id": r.delivery_id,
                "sent_at": now,
            }
            for r in requests
            if r.status is DeliveryStatus.SENT
            for k in keys[r.delivery_id]
            if removed.get(k, k) is not None
        ]
        if sent:
            insert_sent = self.dialect.insert_ignoring(_SENT_PAPERS, ["channel_key", "paper_key"])
            self.session.execute(insert_sent, sent)
        self.session.expire_all()
        return int(changed or 0)

    def _follow_notes(self, ids: Sequence[int], moves: Mapping[int, int]) -> None:
        """Re-key the planned notes of deliveries `ids` that name merged-away keys."""
        found = select(DeliveryRow.id, DeliveryRow.paper_notes).where(DeliveryRow.id.in_(ids))
        for row_id, notes in self.session.execute(found).all():
            by_key = {int(k): v for k, v in (notes or {}).items()}
            if moves.keys().isdisjoint(by_key):
                continue
            followed = {str(k): v for k, v in follow_notes(by_key, moves).items()}
            self.session.execute(
                update(DeliveryRow).where(DeliveryRow.id == row_id).values(paper_notes=followed)
            )

    def planned_notes(self, delivery_id: int) -> dict[int, tuple[str | None, str | None]]:
        notes = self.session.scalar(
            select(DeliveryRow.paper_notes).where(DeliveryRow.id == delivery_id)
        )
        return {int(k): (v[0], v[1]) for k, v in (notes or {}).items()}

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
        stmt = self.dialect.lock_for_claim(self.session, stmt, DeliveryRow)
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
