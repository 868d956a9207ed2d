"""Which digest a due subscription gets now: the date (catch-up rule) and its papers.

Pure decisions over data read through a `UnitOfWork`; nothing here writes. Trending
papers are ranked once per window per run (`Ranking`) and then filtered per
subscription (keywords, minimum upvotes, and papers the channel already had, in any of
their versions: `bot.duplicates`).

A channel that has voted enough (channel taste, issue 13) gets the same eligible papers
re-ranked by its taste instead (`bot.taste`): its keywords then count as pseudo-votes
rather than as a filter, one slot in five explores outside the taste, and each paper
carries its "why". The exclusion of papers the channel already had is applied first, so
"never the same paper twice" holds either way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.digests.report import Action, PlannedDigest
from bot.digests.schedule import local_date, next_run_after
from bot.digests.topics import LexicalTopics, TopicMatcher
from bot.duplicates import versions_of
from bot.models import (
    WEEKLY_DAYS,
    Cadence,
    DeliveryStatus,
    Paper,
    PaperCard,
    Subscription,
    SubscriptionSpec,
)
from bot.ports import ClaimRequest, UnitOfWork
from bot.taste.channel import TasteRanker, effective_votes
from bot.taste.features import FeatureSpace
from bot.text import title_key
from bot.trending.score import TrendingQuery, top_trending

# Enough ranked candidates that keyword filters and the "never twice" rule still leave N.
_CANDIDATES = 100_000
_MAX_CATCH_UP_STEPS = 5_000
# The best-trending eligible papers a channel's taste chooses among (and fits features on).
TASTE_POOL = 1_000


@dataclass(frozen=True, slots=True)
class Occurrence:
    """What a due subscription should do now: deliver one date, or skip, and when next."""

    deliver: date | None
    skipped: tuple[date, ...]
    next_run_at: datetime


def plan_occurrence(spec: SubscriptionSpec, next_run_at: datetime, now: datetime) -> Occurrence:
    """Catch-up rule: the latest missed fire time is delivered if it is still its local day.

    Older missed fire times, and the latest one once its local day is over, are skipped.
    """
    fire = next_run_at
    latest: datetime | None = None
    skipped: list[date] = []
    steps = 0
    while fire <= now and steps < _MAX_CATCH_UP_STEPS:
        if latest is not None:
            skipped.append(local_date(latest, spec.timezone))
        latest = fire
        fire = next_run_after(spec, fire)
        steps += 1
    upcoming = fire if fire > now else next_run_after(spec, now)
    if latest is None:
        return Occurrence(None, (), upcoming)
    latest_day = local_date(latest, spec.timezone)
    if latest_day == local_date(now, spec.timezone):
        return Occurrence(latest_day, tuple(skipped), upcoming)
    return Occurrence(None, (*skipped, latest_day), upcoming)


def window_calendar_days(day: date, window_days: int) -> int:
    """Calendar days back from `day` that cover `window_days` weekdays.

    Papers are not announced at weekends, so Monday's 3-day window reaches back to
    Thursday rather than showing only Monday's handful.
    """
    window_days = max(1, window_days)
    span = 0
    weekdays = 0
    current = day
    while weekdays < window_days:
        if current.weekday() < 5:
            weekdays += 1
        span += 1
        current -= timedelta(days=1)
    return span


def digest_span_days(spec: SubscriptionSpec, day: date) -> int:
    """Calendar days a digest on `day` reaches back: the past 7 for a weekly one."""
    if spec.cadence is Cadence.WEEKLY:
        return WEEKLY_DAYS
    return window_calendar_days(day, spec.window_days)


def with_every_version(uow: UnitOfWork, cards: Sequence[PaperCard]) -> list[PaperCard]:
    """`cards` with the versions of each work stored anywhere, not only in the window.

    An arXiv preprint sent months ago must keep its ACL Anthology version out of today's
    digest, though only the latter is recent enough to be ranked. One read per ranking.
    """
    stored = uow.papers.with_title_keys({title_key(c.paper.title) for c in cards})
    by_title: dict[str, list[Paper]] = {}
    for paper in stored:
        by_title.setdefault(title_key(paper.title), []).append(paper)
    widened = []
    for card in cards:
        shown = card.keys
        more = [
            p
            for p in versions_of(card.paper, by_title.get(title_key(card.paper.title), ()))
            if p.key not in shown
        ]
        widened.append(replace(card, versions=(*card.versions, *more)) if more else card)
    return widened


class Ranking:
    """Trending papers ranked once per window per run, then filtered per subscription.

    Ranking is the same for every channel, so computing it 10,000 times would dominate a
    large fan-out; the per-channel part (keywords, upvotes, already sent) is cheap. A run
    claims in several transactions, so each call names the unit of work to read from;
    the ranking itself outlives them.
    """

    def __init__(
        self,
        now: datetime,
        taste: TasteRanker | None = None,
        topics: TopicMatcher | None = None,
    ) -> None:
        self.now = now
        self.taste = taste or TasteRanker()
        self.topics = topics or LexicalTopics()
        self._ranked: dict[int, list[PaperCard]] = {}
        # (paper, subscription topics) -> the topic it matched (None: none).
        self._keyword_hits: dict[tuple[int, tuple[str, ...]], str | None] = {}
        self._spaces: dict[int, FeatureSpace] = {}

    def ranked(self, uow: UnitOfWork, span_days: int) -> list[PaperCard]:
        if span_days not in self._ranked:
            query = TrendingQuery(
                now=self.now, days=span_days, limit=_CANDIDATES, fallback_to_recent=False
            )
            cards = top_trending(uow, query).cards
            self._ranked[span_days] = with_every_version(uow, cards)
        return self._ranked[span_days]

    def pick(
        self, uow: UnitOfWork, sub: Subscription, day: date, *, exclude: set[int]
    ) -> tuple[Paper, ...]:
        return tuple(paper for paper, _why in self.pick_explained(uow, sub, day, exclude=exclude))

    def pick_explained(
        self, uow: UnitOfWork, sub: Subscription, day: date, *, exclude: set[int]
    ) -> list[tuple[Paper, str | None]]:
        """The channel's papers with their "why" (None for papers chosen as today)."""
        spec = sub.spec
        span = digest_span_days(spec, day)
        by_taste = self._by_taste(uow, sub, span, exclude)
        if by_taste is not None:
            return by_taste
        chosen: list[tuple[Paper, str | None]] = []
        for card in self.ranked(uow, span):
            paper = card.paper
            # Never the same work twice: no version of it may have reached the channel.
            if not card.keys.isdisjoint(exclude) or (paper.upvotes or 0) < spec.min_upvotes:
                continue
            if spec.keywords and self.topic(uow, paper, spec.keywords) is None:
                continue
            chosen.append((paper, None))
            if len(chosen) >= spec.top_n:
                break
        return chosen

    def _by_taste(
        self, uow: UnitOfWork, sub: Subscription, span: int, exclude: set[int]
    ) -> list[tuple[Paper, str | None]] | None:
        """Papers ranked by the channel's taste; None in cold start or with taste off."""
        votes = uow.votes.for_channel(sub.channel)
        if effective_votes(votes) < self.taste.min_votes:
            return None
        if not uow.votes.settings(sub.channel).enabled:
            return None
        spec = sub.spec
        ranked = self.ranked(uow, span)
        # A paper the channel already voted on (from a search card, say) has been seen.
        seen = exclude | {v.paper_key for v in votes}
        candidates = [
            card.paper
            for card in ranked
            if card.keys.isdisjoint(seen) and (card.paper.upvotes or 0) >= spec.min_upvotes
        ][:TASTE_POOL]
        if not candidates:
            return None
        if span not in self._spaces:
            # One feature space per window per run, shared by every channel.
            self._spaces[span] = self.taste.space([c.paper for c in ranked[:TASTE_POOL]])
        voted = {p.key: p for p in uow.papers.get_many(sorted({v.paper_key for v in votes}))}
        model = self.taste.model(
            self._spaces[span], votes, voted, keywords=spec.keywords, background=candidates
        )
        if model is None:
            return None
        hits = (
            [self.topic(uow, p, spec.keywords) is not None for p in candidates]
            if spec.keywords
            else []
        )
        picks = self.taste.pick(model, candidates, spec.top_n, keyword_hits=hits)
        return [(p.paper, p.why) for p in picks]

    def topic(self, uow: UnitOfWork, paper: Paper, keywords: tuple[str, ...]) -> str | None:
        """The subscription topic `paper` matched (lexically or by meaning), once per run."""
        key = (paper.key, keywords)
        if key not in self._keyword_hits:
            self._keyword_hits[key] = self.topics.topic_of(uow, paper, keywords)
        return self._keyword_hits[key]


class Planner:
    """Plans each due subscription of one run at `now`, sharing one `Ranking`."""

    def __init__(
        self,
        now: datetime,
        taste: TasteRanker | None = None,
        topics: TopicMatcher | None = None,
    ) -> None:
        self.now = now
        self.ranking = Ranking(now, taste, topics)

    def plan(
        self, uow: UnitOfWork, sub: Subscription, exclude: Callable[[Subscription], set[int]]
    ) -> tuple[Occurrence, PlannedDigest]:
        """The occurrence due now and its plan line: skip, empty, or send these papers.

        `exclude(sub)` gives the papers the channel must not get again; it is asked only
        when a digest is to be built.
        """
        assert sub.next_run_at is not None  # due() only returns scheduled rows
        occurrence = plan_occurrence(sub.spec, sub.next_run_at, self.now)
        if occurrence.deliver is None:
            # The latest missed day is what a report shows; older ones are only logged.
            last = occurrence.skipped[-1] if occurrence.skipped else None
            return occurrence, PlannedDigest(sub.id, sub.channel, last, "skip")
        day = occurrence.deliver
        picked = self.ranking.pick_explained(uow, sub, day, exclude=exclude(sub))
        papers = tuple(paper for paper, _why in picked)
        why = tuple(w for _paper, w in picked) if any(w for _p, w in picked) else ()
        action: Action = "send" if papers else "empty"
        topics = (
            tuple(self.ranking.topic(uow, p, sub.spec.keywords) for p in papers)
            if sub.spec.keywords
            else ()
        )
        plan = PlannedDigest(sub.id, sub.channel, day, action, papers, why=why, topics=topics)
        return occurrence, plan


def claim_request(plan: PlannedDigest) -> ClaimRequest:
    """The ledger row that records a plan line of the claim phase."""
    assert plan.digest_date is not None
    if plan.action == "skip":
        return ClaimRequest(
            plan.subscription_id, plan.digest_date, DeliveryStatus.SKIPPED, "missed; day over"
        )
    if plan.action == "empty":
        return ClaimRequest(
            plan.subscription_id, plan.digest_date, DeliveryStatus.EMPTY, "no paper qualifies"
        )
    return ClaimRequest(
        plan.subscription_id,
        plan.digest_date,
        DeliveryStatus.PENDING,
        None,
        tuple(p.key for p in plan.papers),
        why=plan.why,
        topics=plan.topics,
    )
