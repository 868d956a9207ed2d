"""Ranking a channel's candidates by its taste, with exploration and one "why" per pick.

The candidates arrive in trending order; that order, with the channel's keyword matches
first, is how the digest ranked before it had votes, and it is the prior. Each
candidate's taste margin and its trending rank are standardised and blended
(`PRIOR_WEIGHT`), and a keyword match adds `KEYWORD_PRIOR` (standard deviations of taste),
so a hugely trending paper can still make it, ties go to the hotter paper, and a young
model refines the keyword digest instead of replacing it.

So that the channel does not collapse onto one topic, one slot in five (`EXPLORE_EVERY`)
goes to the best-trending candidate from *outside* its taste (below the median margin),
labelled as such; a 👍 on it widens the taste, a 👎 confirms the boundary.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.models import Paper
from bot.taste.model import TasteModel, standardise
from bot.text import clean_text, shorten

__all__ = ["EXPLORE_EVERY", "EXPLORING", "PRIOR_WEIGHT", "TastePick", "explore_slots", "rank"]

# Standard deviations of taste that the trending prior and a keyword match are worth. In
# bench/taste.py (whose trending order is random) 0.35/0.75, 0.15/0.4 and 0.15/0 scored
# within a few hundredths of each other; the smaller prior keeps real trending a tie-breaker.
PRIOR_WEIGHT = 0.15
KEYWORD_PRIOR = 0.4
EXPLORE_EVERY = 5
# Cosine similarity in TF-IDF space above which "like X" is a fair description.
LIKE_SIMILARITY = 0.2
LIKED_TITLE_SHOWN = 70
EXPLORING = "exploring: outside this channel's usual taste"


@dataclass(frozen=True, slots=True)
class TastePick:
    paper: Paper
    why: str
    exploring: bool = False


def explore_slots(top_n: int) -> int:
    """One slot in five; a digest of fewer than five papers has none."""
    return top_n // EXPLORE_EVERY


def why_text(model: TasteModel, paper: Paper) -> str:
    """One short reason: the nearest liked paper, else the words that matched."""
    nearest = model.nearest_liked(paper)
    if nearest is not None and nearest[1] >= LIKE_SIMILARITY:
        liked = nearest[0]
        title = shorten(clean_text(liked.paper.title), LIKED_TITLE_SHOWN)
        when = f", 👍 on {liked.liked_at.day} {liked.liked_at:%b}" if liked.liked_at else ""
        return f"like “{title}”{when}"
    terms = model.top_terms(paper)
    if terms:
        return "matches this channel's taste for " + ", ".join(terms)
    return "ranked up by this channel's votes"


def rank(
    model: TasteModel,
    candidates: Sequence[Paper],
    top_n: int,
    *,
    keyword_hits: Sequence[bool] = (),
    explore: bool = True,
) -> list[TastePick]:
    """The channel's `top_n` papers from `candidates` (given best-trending first);
    `keyword_hits` says which candidates match the subscription's keywords."""
    if top_n <= 0 or not candidates:
        return []
    taste = standardise(model.scores(candidates))
    prior = standardise(-np.log1p(np.arange(len(candidates), dtype=float)))
    blended = taste + PRIOR_WEIGHT * prior
    if keyword_hits:
        blended = blended + KEYWORD_PRIOR * np.asarray(keyword_hits, dtype=float)
    n_explore = explore_slots(top_n) if explore and len(candidates) > top_n else 0
    order = [int(i) for i in np.argsort(-blended, kind="stable")]
    chosen = order[: top_n - n_explore]
    picks = [TastePick(candidates[i], why_text(model, candidates[i])) for i in chosen]
    if n_explore:
        taken = set(chosen)
        median = float(np.median(taste))
        # Candidates are in trending order: the first ones outside the taste are the
        # hottest of what the channel would otherwise never see.
        outside = [i for i in range(len(candidates)) if i not in taken and taste[i] < median]
        picks += [TastePick(candidates[i], EXPLORING, True) for i in outside[:n_explore]]
    return picks
