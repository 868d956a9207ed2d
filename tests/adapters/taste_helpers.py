"""Shared by the Slack and Discord channel-taste tests: topical papers, a real digest run
into an adapter's sink, and the stored votes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select

from bot.digests.runner import DigestRunner
from bot.digests.schedule import next_run_after
from bot.models import ChannelRef, PaperRecord, SubscriptionSpec, Weekday
from bot.ports import MessageSink
from storage.db import Database
from storage.tables import DeliveryRow

DIGEST_AT = datetime(2025, 11, 7, 9, 5, tzinfo=UTC)
SPEECH = "speech separation of overlapping talkers with a neural mask estimator"
PROTEIN = "protein structure prediction with equivariant graph networks"


def add_papers(db: Database, day: date, prefix: str) -> None:
    """Four speech and four protein papers published on `day`; speech trends higher."""
    number = sum(ord(c) for c in prefix) % 90 + 10
    records = [
        PaperRecord(
            title=f"{prefix} {topic.split(' with ')[0].title()} {i}",
            source="test",
            paper_id=f"2511.{number}{n:03d}",
            abstract=f"We study {topic}. Variant {i} of the method.",
            authors=("A. Author",),
            published=day,
            upvotes=upvotes,
        )
        for n, (topic, i, upvotes) in enumerate(
            [(SPEECH, i, 90 - i) for i in range(4)] + [(PROTEIN, i, 40 - i) for i in range(4)]
        )
    ]
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0), tzinfo=UTC))


async def deliver_digest(
    db: Database, channel: ChannelRef, sink: MessageSink, at: datetime = DIGEST_AT
) -> None:
    """Subscribe the channel (once) and run the real digest runner into `sink`."""
    with db.uow() as uow:
        if uow.subscriptions.for_channel(channel) is None:
            spec = SubscriptionSpec(
                channel=channel, at=time(9, 0), timezone="UTC", weekdays=tuple(Weekday)
            )
            uow.subscriptions.upsert(
                spec, next_run_at=next_run_after(spec, at - timedelta(hours=1))
            )
    runner = DigestRunner(
        db.uow,
        {channel.platform: sink},
        worker_id="test",
        clock=lambda: at,
        per_channel_interval=0,
    )
    report = await runner.run_due(at)
    assert report.sent == 1, report.summary()


def last_digest(db: Database) -> tuple[str, list[int]]:
    """The newest delivery's message id and its papers, as the ledger stores them."""
    with db.uow() as uow:
        row = uow.session.execute(
            select(DeliveryRow.message_id, DeliveryRow.paper_keys).order_by(DeliveryRow.id.desc())
        ).first()
    assert row is not None and row.message_id
    return str(row.message_id), [int(k) for k in row.paper_keys]


def stored_votes(db: Database, channel: ChannelRef) -> list[tuple[int, str, int, str]]:
    with db.uow() as uow:
        return sorted(
            (v.paper_key, v.user, v.value, v.source.value) for v in uow.votes.for_channel(channel)
        )
