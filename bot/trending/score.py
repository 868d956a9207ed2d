"""Trending score: upvotes plus recent upvote growth, decaying with age (Hacker News style).

    score = (upvotes + GROWTH_WEIGHT * growth_last_24h + 1) / (age_days + 2) ** GRAVITY

Papers without upvotes score `1 / (age_days + 2) ** GRAVITY`, so among themselves they
rank by recency and below any voted paper of the same age.

A paper without a publication date has no age to decay by, so it has no trending score
(0.0) and ranks after every dated paper: guessing "today" from when we first saw it made
undated captures outrank papers with dozens of upvotes.

Versions of one work (`bot.duplicates`) make one card, ranked by its best version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rapidfuzz import fuzz

from bot.duplicates import fold
from bot.models import Paper, PaperCard
from bot.ports import UnitOfWork

GRAVITY = 1.5
GROWTH_WEIGHT = 2.0
KEYWORD_THRESHOLD = 85.0


def paper_age_days(paper: Paper, today: date) -> int:
    when = paper.published or (paper.first_seen.date() if paper.first_seen else today)
    return max(0, (today - when).days)


def upvote_growth(
    history: Sequence[tuple[datetime, int]], now: datetime, window: timedelta = timedelta(hours=24)
) -> int:
    """Upvotes gained since the last snapshot taken before `now - window`."""
    if not history:
        return 0
    latest = history[-1][1]
    before = [votes for taken, votes in history if taken <= now - window]
    baseline = before[-1] if before else history[0][1]
    return max(0, latest - baseline)


def trending_score(paper: Paper, *, today: date, growth: int = 0) -> float:
    if paper.published is None:
        return 0.0
    age = paper_age_days(paper, today)
    votes = paper.upvotes or 0
    return float((votes + GROWTH_WEIGHT * growth + 1) / (age + 2) ** GRAVITY)


def matches_keywords(paper: Paper, keywords: Sequence[str]) -> bool:
    """True if any keyword fuzzily occurs in the title, keywords or abstract."""
    if not keywords:
        return True
    haystacks = [
        paper.title.lower(),
        " ".join(paper.keywords).lower(),
        (paper.abstract or "").lower(),
    ]
    for keyword in keywords:
        needle = keyword.lower().strip()
        if not needle:
            continue
        for hay in haystacks:
            if needle in hay or (hay and fuzz.partial_ratio(needle, hay) >= KEYWORD_THRESHOLD):
                return True
    return False


@dataclass(frozen=True, slots=True)
class TrendingQuery:
    now: datetime
    days: int = 3
    limit: int = 10
    min_upvotes: int = 0
    keywords: tuple[str, ...] = ()
    exclude: frozenset[int] = frozenset()
    # With nothing in the window, show the newest papers instead of an empty list.
    fallback_to_recent: bool = True


@dataclass(frozen=True, slots=True)
class TrendingResult:
    cards: tuple[PaperCard, ...]
    widened: bool = False


def _rank(uow: UnitOfWork, papers: list[Paper], q: TrendingQuery) -> list[PaperCard]:
    today = q.now.date()
    candidates = [
        p
        for p in papers
        if p.key not in q.exclude
        and (p.upvotes or 0) >= q.min_upvotes
        and matches_keywords(p, q.keywords)
    ]
    history = uow.papers.upvote_history([p.key for p in candidates])
    scored = sorted(
        (
            (trending_score(p, today=today, growth=upvote_growth(history.get(p.key, []), q.now)), p)
            for p in candidates
        ),
        # Undated papers last whatever their score, then best score, most votes, oldest row.
        key=lambda item: (
            item[1].published is None,
            -item[0],
            -(item[1].upvotes or 0),
            item[1].key,
        ),
    )
    # One card per work: a paper's other versions in the window fold into its best one.
    works = fold(scored, title=lambda item: item[1].title, paper=lambda item: item[1])
    return [
        PaperCard(
            paper=p, score=round(s, 4), rank=i + 1, versions=tuple(other for _, other in later)
        )
        for i, ((s, p), later) in enumerate(works[: q.limit])
    ]


def top_trending(uow: UnitOfWork, q: TrendingQuery) -> TrendingResult:
    since = q.now.date() - timedelta(days=max(q.days, 1) - 1)
    cards = _rank(uow, uow.papers.published_since(since), q)
    if cards or not q.fallback_to_recent:
        return TrendingResult(tuple(cards))
    # Nothing in the window: rank the newest papers we have (e.g. right after a seed import).
    recent = uow.papers.published_since(q.now.date() - timedelta(days=365))
    if not recent:
        recent = list(uow.papers.iter_all())
    return TrendingResult(tuple(_rank(uow, recent, q)), widened=True)
