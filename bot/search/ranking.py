"""Query-side ranking: what kind of query this is, how a candidate is scored, and fusion.

Two kinds of query want different rankings (docs/search.md, "Ranking by query kind"):
- a *title* query, a remembered title with typos, is short; it is answered best by papers
  matching every word first and by the similarity of the query to the title;
- a *description*, what a paper did in the searcher's own words, is long and shares few
  words with the title; it is answered best by BM25 over title + abstract with the words
  OR-ed, as in plain FTS5.  Title similarity there mostly rewards short, generic titles whose
  words all occur in the long query (rapidfuzz's `token_set_ratio` is 100 for any subset).

`fuse` merges ranked lists by reciprocal-rank fusion ("More like this"); `hybrid` blends the
lexical and dense scores of a description's candidates (a convex combination of the lexical
score over the best one and the min-max-normalised cosine), which measured above rank
fusion with the same encoder (docs/search.md); a paper only the encoder found scores as the
last lexical candidate when the lexical list was cut at its cap. `wants_dense` says which
queries get dense candidates: descriptions without filters. Measured on bench/queries
(docs/search.md), fusion lifts descriptions above either side, leaves titles where they
were, and lowers author and topic queries, where the encoder alone is weak; a filter
(`author:`, `since:`, a phrase) must hold for every result, which the nearest neighbours
of the whole text do not respect.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import TypeVar

from rapidfuzz import fuzz

__all__ = [
    "DENSE_CANDIDATES",
    "DENSE_LEXICAL_WEIGHT",
    "DENSE_RRF_K",
    "DESCRIPTION_MIN_WORDS",
    "RRF_K",
    "QueryKind",
    "RankWeights",
    "fuse",
    "hybrid",
    "query_kind",
    "title_similarity",
    "wants_dense",
    "weights_for",
]

# A query with at least this many content words (stopwords dropped) is a description.
# The title set's longest query has 10 content words; the description set's shortest 11.
DESCRIPTION_MIN_WORDS = 11
RRF_K = 60
# Dense candidates joined to the lexical ones (the lexical side brings up to 200), and the
# fusion constant of "More like this": at 20k papers, reciprocal-rank fusion of descriptions
# with k = 10 measured 0.705 / 0.812, k = 60 0.673 / 0.766 (lexical alone 0.686 / 0.766).
DENSE_CANDIDATES = 100
DENSE_RRF_K = 10
# The lexical share of a description's blended score (`hybrid`), from bench/fusion.py at 20k
# papers: 0.754 / 0.812 on descriptions against 0.707 / 0.828 for rank fusion (k = 10). Every
# weight from 0.3 to 0.8 beat rank fusion on MRR@5 and lost one query from the top 5 or
# more; tuned on alternate halves of the queries, the held-out half gained 0.03-0.06.
DENSE_LEXICAL_WEIGHT = 0.5

K = TypeVar("K", bound=Hashable)


class QueryKind(Enum):
    TITLE = "title"
    DESCRIPTION = "description"


@dataclass(frozen=True, slots=True)
class RankWeights:
    """How one kind of query is answered.

    `strict_bonus` lifts papers matching every word above the rest; `bm25` and `title` blend
    the normalised BM25 score with the title similarity; `max_terms` caps the words searched;
    `abstract_max_df` is the share of abstracts above which a word is not searched in the
    abstract by the OR query (None: always searched); `expand_known_words` tries typo
    neighbours even of words the abstracts contain; `field_boosts` replaces the engine's
    BM25 field boosts in the OR query (None: keep them).
    """

    strict_bonus: float
    bm25: float
    title: float
    max_terms: int
    abstract_max_df: float | None
    expand_known_words: bool
    field_boosts: Mapping[str, float] | None = None


TITLE_WEIGHTS = RankWeights(
    strict_bonus=1.0,
    bm25=0.6,
    title=0.4,
    max_terms=12,
    abstract_max_df=0.04,
    expand_known_words=True,
)
DESCRIPTION_WEIGHTS = RankWeights(
    strict_bonus=0.0,
    bm25=1.0,
    title=0.0,
    max_terms=40,
    abstract_max_df=None,
    expand_known_words=False,
    # BM25 saturates per field, so a short title matching two generic words of a long
    # description outscores the abstract that matches ten: the title gets a nudge only.
    field_boosts={"title": 0.1, "keywords": 0.1, "authors": 0.0, "abstract": 1.0},
)


def query_kind(content_words: Sequence[str]) -> QueryKind:
    """A description when the query is long, else a title-like query."""
    if len(content_words) >= DESCRIPTION_MIN_WORDS:
        return QueryKind.DESCRIPTION
    return QueryKind.TITLE


def wants_dense(kind: QueryKind, *, filtered: bool) -> bool:
    """Whether dense candidates join this query: a description without filters."""
    return kind is QueryKind.DESCRIPTION and not filtered


def weights_for(kind: QueryKind) -> RankWeights:
    return DESCRIPTION_WEIGHTS if kind is QueryKind.DESCRIPTION else TITLE_WEIGHTS


def title_similarity(query: str, title: str) -> float:
    """rapidfuzz `token_set_ratio` of the lower-cased query against a title, in [0, 1]."""
    if not query or not title:
        return 0.0
    return fuzz.token_set_ratio(query, title) / 100.0


def fuse(rankings: Iterable[Sequence[K]], *, k: int = RRF_K) -> list[tuple[K, float]]:
    """Reciprocal-rank fusion: each list adds 1 / (k + rank) to its items, rank from 1.

    Takes any number of rankings, best first (lexical candidates now, dense ones when the
    semantic half lands); returns (item, fused score), best first, ties in first-seen order.
    """
    fused: dict[K, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    order = {item: i for i, item in enumerate(fused)}
    return sorted(fused.items(), key=lambda pair: (-pair[1], order[pair[0]]))


def hybrid(
    lexical: Sequence[tuple[K, float]],
    dense: Sequence[tuple[K, float]] = (),
    *,
    weight: float = DENSE_LEXICAL_WEIGHT,
    truncated: bool = False,
) -> list[tuple[K, float]]:
    """The final order of the candidates: lexical (item, score), best first, blended with
    dense (item, cosine) pairs when there are any.

    Without dense pairs the lexical ranking and its scores pass through unchanged. With
    them, every candidate of either side scores `weight * lexical / best lexical +
    (1 - weight) * min-max-normalised cosine`; a paper without a vector gets 0 for its
    cosine. A dense-only paper gets 0 for its lexical score too, unless `truncated`: the
    lexical list was cut at its cap, so a paper missing from it may still match the query,
    scoring at most the last candidate's score, which it then gets (the lexical engine
    does not rank past its cap; counting such a paper as matching nothing buried papers
    the encoder ranked first, docs/search.md). The dense pairs should include the cosines
    of the lexical candidates, not only the nearest papers: a lexical candidate the
    encoder also likes is what the blend rewards.
    """
    if not dense:
        return list(lexical)
    best = max((score for _, score in lexical), default=0.0) or 1.0
    floor = min((score for _, score in lexical), default=0.0) if truncated else 0.0
    cosines = dict(dense)
    low, high = min(cosines.values()), max(cosines.values())
    spread = (high - low) or 1.0
    blended: dict[K, float] = {item: weight * score / best for item, score in lexical}
    for item, cosine in cosines.items():
        lexical_part = blended.get(item, weight * max(floor, 0.0) / best)
        blended[item] = lexical_part + (1 - weight) * (cosine - low) / spread
    order = {item: i for i, item in enumerate(blended)}
    return sorted(blended.items(), key=lambda pair: (-pair[1], order[pair[0]]))
