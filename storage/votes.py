"""The SQL votes and taste switches (issue 13): one row per (channel, paper, person).

A vote is written as insert-or-skip and then an update of the same key, so two clicks of
one person racing each other leave exactly one row, holding the later vote. Rows carry
the platform and workspace apart from the channel key, so an uninstall deletes a whole
workspace's votes with one indexed statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import cast

from sqlalchemy import Table, delete, select, update
from sqlalchemy.orm import Session

from bot.models import ChannelRef, Platform
from bot.taste.votes_port import TasteSettings, Vote, VoteSource
from storage.dialect import SqlDialect
from storage.tables import ChannelTasteRow, DeliveryRow, SubscriptionRow, VoteRow

_VOTES = cast(Table, VoteRow.__table__)
_TASTE = cast(Table, ChannelTasteRow.__table__)


def _vote(row: VoteRow) -> Vote:
    channel = ChannelRef(Platform(row.platform), row.channel, row.workspace or None)
    return Vote(
        channel=channel,
        paper_key=row.paper_key,
        user=row.user_id,
        value=row.value,
        voted_at=row.voted_at,
        source=VoteSource(row.source),
        weight=row.weight,
        message_id=row.message_id,
    )


class SqlVoteRepository:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def get(self, channel: ChannelRef, paper_key: int, user: str) -> Vote | None:
        row = self.session.get(VoteRow, (channel.key, paper_key, user[:64]))
        return _vote(row) if row is not None else None

    def put(self, vote: Vote) -> None:
        values = {
            "value": vote.value,
            "weight": vote.weight,
            "source": vote.source.value,
            "message_id": vote.message_id,
            "voted_at": vote.voted_at,
        }
        key = {
            "channel_key": vote.channel.key,
            "paper_key": vote.paper_key,
            "user_id": vote.user[:64],
        }
        stmt = self.dialect.insert_ignoring(_VOTES, list(key))
        inserted = self.session.execute(
            stmt.values(
                **key,
                **values,
                platform=vote.channel.platform.value,
                workspace=vote.channel.workspace or "",
                channel=vote.channel.channel,
            ).returning(_VOTES.c.paper_key)
        ).first()
        if inserted is None:
            self.session.execute(
                update(VoteRow)
                .where(
                    (VoteRow.channel_key == key["channel_key"])
                    & (VoteRow.paper_key == key["paper_key"])
                    & (VoteRow.user_id == key["user_id"])
                )
                .values(**values)
            )
        self.session.expire_all()

    def retract(
        self, channel: ChannelRef, paper_keys: Sequence[int], user: str, *, source: VoteSource
    ) -> int:
        if not paper_keys:
            return 0
        result = self.session.connection().execute(
            delete(VoteRow).where(
                (VoteRow.channel_key == channel.key)
                & (VoteRow.user_id == user[:64])
                & (VoteRow.source == source.value)
                & VoteRow.paper_key.in_(list(paper_keys))
            )
        )
        return int(result.rowcount or 0)

    def for_channel(self, channel: ChannelRef) -> list[Vote]:
        rows = self.session.scalars(
            select(VoteRow)
            .where(VoteRow.channel_key == channel.key)
            .order_by(VoteRow.voted_at, VoteRow.paper_key, VoteRow.user_id)
        )
        return [_vote(row) for row in rows]

    def reset(self, channel: ChannelRef) -> int:
        result = self.session.connection().execute(
            delete(VoteRow).where(VoteRow.channel_key == channel.key)
        )
        return int(result.rowcount or 0)

    def forget_workspace(self, platform: str, workspace: str) -> int:
        connection = self.session.connection()
        result = connection.execute(
            delete(VoteRow).where((VoteRow.platform == platform) & (VoteRow.workspace == workspace))
        )
        connection.execute(
            delete(ChannelTasteRow).where(
                (ChannelTasteRow.platform == platform) & (ChannelTasteRow.workspace == workspace)
            )
        )
        return int(result.rowcount or 0)

    def settings(self, channel: ChannelRef) -> TasteSettings:
        enabled = self.session.scalar(
            select(ChannelTasteRow.enabled).where(ChannelTasteRow.channel_key == channel.key)
        )
        return TasteSettings(enabled=True if enabled is None else bool(enabled))

    def set_enabled(self, channel: ChannelRef, enabled: bool, *, now: datetime) -> None:
        stmt = self.dialect.insert_ignoring(_TASTE, ["channel_key"])
        self.session.execute(
            stmt.values(
                channel_key=channel.key,
                platform=channel.platform.value,
                workspace=channel.workspace or "",
                enabled=enabled,
                updated_at=now,
            )
        )
        self.session.execute(
            update(ChannelTasteRow)
            .where(ChannelTasteRow.channel_key == channel.key)
            .values(enabled=enabled, updated_at=now)
        )

    def digest_papers(self, channel: ChannelRef, message_id: str) -> tuple[int, ...]:
        keys = self.session.scalars(
            select(DeliveryRow.paper_keys)
            .join(SubscriptionRow, SubscriptionRow.id == DeliveryRow.subscription_id)
            .where(
                (DeliveryRow.message_id == message_id[:128])
                & (SubscriptionRow.platform == channel.platform.value)
                & (SubscriptionRow.workspace == (channel.workspace or ""))
                & (SubscriptionRow.channel == channel.channel)
            )
            .limit(1)
        ).first()
        return tuple(int(k) for k in keys or ())
