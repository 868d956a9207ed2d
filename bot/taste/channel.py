"""A channel's taste from its stored votes: what the planner and the `taste` command share.

`TasteRanker` holds the feature port and the cold-start threshold; `votes_to_papers`
folds a channel's votes (one per person per paper) into one training row per paper.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.models import Paper
from bot.taste.features import FeatureSpace, PaperFeatures, TfidfFeatures
from bot.taste.model import MIN_VOTES, TasteModel, VotedPaper, fit_taste
from bot.taste.ranking import TastePick, rank
from bot.taste.votes_port import Vote

__all__ = ["TasteRanker", "effective_votes", "votes_to_papers"]


def effective_votes(votes: Sequence[Vote]) -> int:
    """Votes as cold start counts them: a reaction on a digest of n papers counts once."""
    return round(sum(v.weight for v in votes))


def votes_to_papers(votes: Sequence[Vote], papers: Mapping[int, Paper]) -> list[VotedPaper]:
    """One row per voted paper: summed votes, how many people, when it was last 👍'd."""
    score: dict[int, float] = {}
    count: dict[int, int] = {}
    liked_at: dict[int, datetime] = {}
    for vote in votes:
        if vote.paper_key not in papers:
            continue
        score[vote.paper_key] = score.get(vote.paper_key, 0.0) + vote.value * vote.weight
        count[vote.paper_key] = count.get(vote.paper_key, 0) + 1
        if vote.value > 0:
            last = liked_at.get(vote.paper_key)
            liked_at[vote.paper_key] = max(last, vote.voted_at) if last else vote.voted_at
    return [
        VotedPaper(papers[key], total, liked_at.get(key), count[key])
        for key, total in score.items()
    ]


@dataclass
class TasteRanker:
    """Fits feature spaces and channel models; `features` is the paper-features port."""

    features: PaperFeatures = field(default_factory=TfidfFeatures)
    min_votes: int = MIN_VOTES

    def space(self, pool: Sequence[Paper]) -> FeatureSpace:
        return self.features.fit(pool)

    def model(
        self,
        space: FeatureSpace,
        votes: Sequence[Vote],
        papers: Mapping[int, Paper],
        *,
        keywords: Sequence[str] = (),
        background: Sequence[Paper] = (),
    ) -> TasteModel | None:
        """The channel's model, or None in cold start."""
        return fit_taste(
            space,
            votes_to_papers(votes, papers),
            vote_count=effective_votes(votes),
            keywords=keywords,
            background=background,
            min_votes=self.min_votes,
        )

    def pick(
        self,
        model: TasteModel,
        candidates: Sequence[Paper],
        top_n: int,
        *,
        keyword_hits: Sequence[bool] = (),
    ) -> list[TastePick]:
        return rank(model, candidates, top_n, keyword_hits=keyword_hits)
