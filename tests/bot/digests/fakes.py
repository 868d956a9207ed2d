"""In-memory fakes for engine-level digest tests: a scripted sink and data helpers."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.digests.schedule import next_run_after
from bot.models import (
    WEEKDAYS_DEFAULT,
    ChannelRef,
    Digest,
    PaperRecord,
    Platform,
    PostResult,
    Subscription,
    SubscriptionSpec,
    Weekday,
)
from storage.db import Database

ALL_DAYS = tuple(Weekday)

# What the sink should do on one post attempt: return a PostResult, or "land-then-500" to
# post the message but report a server error (the ambiguous case).
Behaviour = Callable[[Digest, int], "PostResult | str | None"]


@dataclass
class FakeSink:
    """Records every digest that 'reached' a channel; `behaviour` scripts failures."""

    behaviour: Behaviour | None = None
    delivered: dict[str, list[Digest]] = field(default_factory=dict)
    attempts: dict[str, int] = field(default_factory=dict)
    lookups: int = 0

    async def post_digest(self, digest: Digest) -> PostResult:
        key = digest.channel.key
        self.attempts[key] = self.attempts.get(key, 0) + 1
        verdict = self.behaviour(digest, self.attempts[key]) if self.behaviour else None
        if isinstance(verdict, PostResult):
            return verdict
        self.delivered.setdefault(key, []).append(digest)
        message_id = f"m{digest.delivery_id}"
        if verdict == "land-then-500":
            return PostResult(ok=False, reason="http_500")
        return PostResult(ok=True, message_id=message_id)

    async def find_posted(self, channel: ChannelRef, delivery_id: int) -> str | None:
        self.lookups += 1
        for digest in self.delivered.get(channel.key, []):
            if digest.delivery_id == delivery_id:
                return f"m{delivery_id}"
        return None

    def count(self, channel: ChannelRef) -> int:
        return len(self.delivered.get(channel.key, []))


def seed_papers(db: Database, day: date, *, per_day: int = 12, days: int = 6) -> None:
    """`per_day` papers published on each of the `days` days up to `day`, with upvotes."""
    records = []
    for back in range(days):
        published = day - timedelta(days=back)
        for i in range(per_day):
            records.append(
                PaperRecord(
                    title=f"Paper {published.isoformat()} number {i} on "
                    + ("diffusion models" if i % 3 == 0 else "language agents"),
                    source="test",
                    paper_id=f"2{published.strftime('%y%m')}.{published.day:02d}{i:03d}",
                    abstract="An abstract.",
                    authors=("A. Author",),
                    published=published,
                    upvotes=10 + i * 3,
                )
            )
    with db.uow() as uow:
        uow.papers.upsert_many(records, seen_at=datetime.combine(day, time(0, 0)).astimezone())


def subscribe(
    db: Database,
    channel: str,
    *,
    at: time = time(9, 0),
    tz: str = "UTC",
    created: datetime,
    platform: Platform = Platform.SLACK,
    weekdays: tuple[Weekday, ...] = ALL_DAYS,
    keywords: tuple[str, ...] = (),
    min_upvotes: int = 0,
    top_n: int = 5,
) -> Subscription:
    spec = SubscriptionSpec(
        channel=ChannelRef(platform, channel, "T1" if platform is Platform.SLACK else "G1"),
        at=at,
        timezone=tz,
        weekdays=weekdays or WEEKDAYS_DEFAULT,
        keywords=keywords,
        min_upvotes=min_upvotes,
        top_n=top_n,
    )
    with db.uow() as uow:
        return uow.subscriptions.upsert(spec, next_run_at=next_run_after(spec, created))
