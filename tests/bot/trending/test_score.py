"""Trending score: votes, growth between snapshots, age decay, keyword filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.ingest.service import ingest_paths, ingest_seeds
from bot.models import Paper, PaperRecord
from bot.trending.score import (
    TrendingQuery,
    matches_keywords,
    top_trending,
    trending_score,
    upvote_growth,
)
from storage.db import Database

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
TODAY = NOW.date()


def paper(**kw: object) -> Paper:
    values: dict[str, object] = {"key": 1, "title": "T"}
    values.update(kw)
    return Paper(**values)  # type: ignore[arg-type]


def test_score_decays_with_age_and_rises_with_votes() -> None:
    fresh = trending_score(paper(upvotes=10, published=TODAY), today=TODAY)
    old = trending_score(paper(upvotes=10, published=TODAY - timedelta(days=5)), today=TODAY)
    more = trending_score(paper(upvotes=20, published=TODAY), today=TODAY)
    growing = trending_score(paper(upvotes=10, published=TODAY), today=TODAY, growth=5)
    assert more > fresh > old
    assert growing > fresh


def test_unvoted_papers_rank_by_recency() -> None:
    newer = trending_score(paper(published=TODAY), today=TODAY)
    older = trending_score(paper(published=TODAY - timedelta(days=1)), today=TODAY)
    assert newer > older


def test_growth_uses_snapshot_from_a_day_ago() -> None:
    history = [(NOW - timedelta(hours=30), 2), (NOW - timedelta(hours=10), 8), (NOW, 12)]
    assert upvote_growth(history, NOW) == 10
    assert upvote_growth([], NOW) == 0


def test_keywords_match_fuzzily() -> None:
    p = paper(title="Efficient Speech Separation", abstract="cocktail party problem")
    assert matches_keywords(p, ["speech"])
    assert matches_keywords(p, ["seperation"])  # typo
    assert matches_keywords(p, ["cocktail party"])
    assert not matches_keywords(p, ["quantum chemistry"])
    assert matches_keywords(p, [])


def test_top_trending_window_filters_and_fallback(sqlite_db: Database) -> None:
    with sqlite_db.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(title="Hot new", source="t", published=TODAY, upvotes=50),
                PaperRecord(title="Cold new", source="t", published=TODAY, upvotes=1),
                PaperRecord(title="Hot old", source="t", published=date(2026, 1, 1), upvotes=500),
            ],
            seen_at=NOW,
        )
    with sqlite_db.uow() as uow:
        result = top_trending(uow, TrendingQuery(now=NOW, days=3, limit=5))
        assert [c.paper.title for c in result.cards] == ["Hot new", "Cold new"]
        filtered = top_trending(uow, TrendingQuery(now=NOW, min_upvotes=10))
        assert [c.paper.title for c in filtered.cards] == ["Hot new"]
        later = NOW + timedelta(days=30)
        widened = top_trending(uow, TrendingQuery(now=later, days=3))
        assert widened.widened and widened.cards
        strict = top_trending(uow, TrendingQuery(now=later, days=3, fallback_to_recent=False))
        assert strict.cards == ()


def test_undated_papers_never_outrank_voted_dated_papers() -> None:
    undated = trending_score(paper(), today=TODAY)
    voted = trending_score(paper(upvotes=64, published=TODAY - timedelta(days=400)), today=TODAY)
    assert undated < voted


def test_seeds_and_hf_fixture_trend_by_date_and_votes(
    sqlite_db: Database, seeds_dir: Path, fixtures_dir: Path
) -> None:
    """Issue 15 item 7: seed captures (and any undated paper) used to lead every list."""
    as_of = date(2024, 10, 25)
    now = datetime(2024, 10, 26, 12, tzinfo=UTC)
    ingest_seeds(sqlite_db.uow, as_of=as_of, now=now)
    ingest_paths(
        sqlite_db.uow, [fixtures_dir / "hf_daily_papers_2024-10-25.json"], as_of=as_of, now=now
    )
    with sqlite_db.uow() as uow:
        # A paper from a source without dates, seen just now.
        uow.papers.upsert_many([PaperRecord(title="Undated but new", source="t")], seen_at=now)
    with sqlite_db.uow() as uow:
        result = top_trending(uow, TrendingQuery(now=now, days=3, limit=400))
    cards = list(result.cards)
    assert cards, "fallback to recent papers should list something"
    titles = [c.paper.title for c in cards]
    assert titles[-1] == "Undated but new"
    dated_voted = [i for i, c in enumerate(cards) if c.paper.published and c.paper.upvotes]
    undated = [i for i, c in enumerate(cards) if c.paper.published is None]
    assert dated_voted and undated and max(dated_voted) < min(undated)
    # A voted paper from the fixture leads, not a seed capture.
    top = cards[0].paper
    assert top.paper_id is not None and top.upvotes, (top.title, top.upvotes)
    # Seed captures without metadata now carry their page date.
    seeds_undated = [c for c in cards if "hf-page" in c.paper.sources and c.paper.published is None]
    assert seeds_undated == []
