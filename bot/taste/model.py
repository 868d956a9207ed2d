"""A channel's taste: a logistic regression over paper features, trained from its votes.

Training set (one row per paper, not per vote):
- each voted paper, labelled by the sign of its summed votes (👍 +1, 👎 -1, a reaction on
  a whole digest counts less, see `Vote.weight`), weighted by how strongly the channel
  agrees (|sum|, capped), so three 👍 outweigh one;
- each topic keyword of the subscription as a pseudo-vote: a tiny document made of the
  keyword, labelled 👍 (the channel said it cares about it before voting at all);
- unvoted papers of the pool as weak negatives ("background", as arxiv-sanity-lite trains
  each tag's SVM against all other papers): with them a channel that has only ever said
  👍 still gets a model, and words common to everything learn nothing.

`fit_taste` returns None below `MIN_VOTES` real votes: the digest then ranks as today.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from bot.models import Paper
from bot.taste.features import FeatureSpace, Matrix

if TYPE_CHECKING:
    from sklearn.linear_model import LogisticRegression

__all__ = ["MIN_VOTES", "TasteModel", "VotedPaper", "fit_taste"]

# Below this many votes (person x paper) a channel has no model and its digest ranks as
# before. A linear model over thousands of words fitted on a handful of votes learns their
# incidental words and then only shows more of them: in bench/taste.py (6 channels x 3
# seeds) a threshold of 5 let several channels lock onto a wrong topic (learned taste
# 1.43x the keyword digest from day 10), 12 did not (1.64x). Twelve is about two digests
# voted on by a couple of members: an active channel leaves cold start within days.
MIN_VOTES = 12
MAX_AGREEMENT = 3.0  # a paper's weight stops growing after three concurring votes
PSEUDO_WEIGHT = 1.0  # one keyword counts as much as one 👍
BACKGROUND_MAX = 400  # weak negatives drawn from the pool
# The background's total weight relative to the voted papers': small, since the channel's
# next good papers are among them (0.5 did worse in bench/taste.py).
BACKGROUND_SHARE = 0.1
REGULARISATION = 1.0  # LogisticRegression C; bench/taste.py: 4.0 and 0.5 both did worse


@dataclass(frozen=True, slots=True)
class VotedPaper:
    """A paper with the channel's summed vote on it and when it was last 👍'd."""

    paper: Paper
    score: float  # sum over people of value x weight (positive: liked)
    liked_at: datetime | None = None
    votes: int = 1  # how many people voted on it


@dataclass(frozen=True, slots=True)
class TasteModel:
    """A fitted channel taste within one feature space."""

    space: FeatureSpace
    classifier: LogisticRegression
    liked: tuple[VotedPaper, ...]  # real 👍 papers, for "like X" explanations
    liked_vectors: Matrix
    vote_count: int

    def scores(self, papers: Sequence[Paper]) -> np.ndarray:
        """The classifier's margin for each paper (higher: more to the channel's taste)."""
        if not papers:
            return np.zeros(0)
        return np.asarray(self.classifier.decision_function(self.space.vectors(papers)))

    def term_weights(self) -> list[tuple[str, float]]:
        """(term, weight) for every readable dimension, strongest liking first."""
        terms = self.space.terms
        if terms is None:
            return []
        coef = np.asarray(self.classifier.coef_[0])[: len(terms)]
        order = np.argsort(-coef)
        return [(terms[i], float(coef[i])) for i in order]

    def top_terms(self, paper: Paper, n: int = 3) -> list[str]:
        """The words of `paper` that pull it most towards the channel's taste."""
        terms = self.space.terms
        if terms is None:
            return []
        row = self.space.vectors([paper])
        row = row.toarray()[0] if hasattr(row, "toarray") else np.asarray(row)[0]
        row = row[: len(terms)]
        contribution = row * np.asarray(self.classifier.coef_[0])[: len(terms)]
        best = [i for i in np.argsort(-contribution)[: n * 3] if contribution[i] > 0]
        chosen: list[str] = []
        for i in best:
            term = terms[i]
            # A bigram and its words say the same thing twice: keep the first of them.
            if any(term in c or c in term for c in chosen):
                continue
            chosen.append(term)
            if len(chosen) == n:
                break
        return chosen

    def nearest_liked(self, paper: Paper) -> tuple[VotedPaper, float] | None:
        """The liked paper most similar to `paper` (cosine), with the similarity."""
        if not self.liked:
            return None
        row = self.space.vectors([paper])
        sims = self.liked_vectors @ row.T
        sims = sims.toarray().ravel() if hasattr(sims, "toarray") else np.asarray(sims).ravel()
        best = int(np.argmax(sims))
        return self.liked[best], float(sims[best])


def _pseudo_paper(keyword: str) -> Paper:
    """A keyword as a tiny paper. Its key is negative (stored keys start at 1) and fixed by
    the text, because feature spaces cache rows by key and are shared between channels."""
    text = keyword.strip().lower()
    return Paper(key=-1 - zlib.crc32(text.encode("utf-8")), title=text, abstract=text)


def fit_taste(
    space: FeatureSpace,
    voted: Sequence[VotedPaper],
    *,
    vote_count: int,
    keywords: Sequence[str] = (),
    background: Sequence[Paper] = (),
    min_votes: int = MIN_VOTES,
) -> TasteModel | None:
    """The channel's model, or None in cold start (fewer than `min_votes` real votes)."""
    if vote_count < min_votes:
        return None
    examples: list[Paper] = []
    labels: list[int] = []
    weights: list[float] = []
    for item in voted:
        if item.score == 0:
            continue  # the channel is split on it: no signal either way
        examples.append(item.paper)
        labels.append(1 if item.score > 0 else 0)
        weights.append(min(abs(item.score), MAX_AGREEMENT))
    for keyword in dict.fromkeys(k for k in keywords if k.strip()):
        examples.append(_pseudo_paper(keyword))
        labels.append(1)
        weights.append(PSEUDO_WEIGHT)
    voted_keys = {item.paper.key for item in voted}
    pool = [p for p in background if p.key not in voted_keys][:BACKGROUND_MAX]
    if pool:
        share = BACKGROUND_SHARE * max(sum(weights), 1.0) / len(pool)
        examples.extend(pool)
        labels.extend([0] * len(pool))
        weights.extend([share] * len(pool))
    if len(set(labels)) < 2:
        return None  # one class only (no background, all votes alike): nothing to learn
    from sklearn.linear_model import LogisticRegression

    # newton-cg: on 1,000+ rows x 20k sparse columns it converges in tens of milliseconds
    # where liblinear took hundreds on noisy labels (bench/taste.py times it).
    classifier = LogisticRegression(C=REGULARISATION, solver="newton-cg", max_iter=100)
    classifier.fit(space.vectors(examples), np.asarray(labels), sample_weight=np.asarray(weights))
    liked = tuple(item for item in voted if item.score > 0)
    liked_vectors = space.vectors([item.paper for item in liked]) if liked else None
    return TasteModel(space, classifier, liked, liked_vectors, vote_count)


def standardise(values: np.ndarray) -> np.ndarray:
    """Zero mean, unit spread; a constant vector becomes zeros."""
    if values.size == 0:
        return values
    spread = float(values.std())
    if not math.isfinite(spread) or spread < 1e-9:
        return np.zeros_like(values)
    centred: np.ndarray = (values - values.mean()) / spread
    return centred
