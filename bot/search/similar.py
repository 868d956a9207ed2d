""" "More like this": the neighbour port and the use case behind `similar` and its buttons.

`Neighbours` is the port: `neighbours(key, k)` gives up to `k` (paper key, score) of the
stored papers most like the paper `key`, best first, never the paper itself. Lexically it is
`PaperIndex.neighbours` (`bot.search.more_like_this`: BM25 over the paper's distinctive
title, keyword and abstract terms); with vectors, see below.

`SimilarPapers` is the use case, independent of how neighbours are found:
1. **resolve** what the user named: an arXiv or ACL Anthology id, a paper link (an arXiv
   paper not stored yet is fetched), or else a title, taken as a search whose best hit is
   the paper;
2. ask the port for neighbours, with head-room for what is dropped next;
3. **exclude** the paper itself and every version of its work (`bot.duplicates`: the same
   paper as an arXiv id and an ACL id), whether or not the index groups them;
4. **fold** the remaining neighbours so another work's versions make one card, and build
   the cards.
A paper the index does not hold yet (just fetched from a link) has no neighbours there; it
is then matched by a search over its own title and abstract words, the description query
the engine ranks by BM25.

With the `semantic` extra, `runtime/core.py` passes
`bot.search.vector_part.HybridNeighbours`: the paper's vector searched for its nearest
papers, fused by reciprocal rank with the lexical neighbours (lexical alone when the paper
has no vector yet). Resolution, exclusion of the paper and its versions, folding and
rendering stay here and in the adapters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.duplicates import fold, same_work, versions_of
from bot.links import LinkKind, parse_paper_link
from bot.models import Paper, PaperCard
from bot.paper_keys import paper_by_key
from bot.ports import SearchEngine, UnitOfWorkFactory
from bot.text import clean_text, shorten, title_key

__all__ = ["Neighbours", "SimilarPapers", "SimilarResult", "description_query"]

# Neighbours asked for beyond those shown: the paper's versions and folded duplicates
# are dropped after the port answers.
HEADROOM = 10
# A bare arXiv or ACL Anthology id (bot.links' ACL form): never taken for a title.
_ID_LIKE = re.compile(
    r"^(?:arxiv:)?\d{4}\.\d{4,5}(?:v\d+)?$|^\d{4}\.[a-z][a-z0-9]*(?:-[a-z0-9]+)*\.\d+$"
    r"|^[A-Z]\d{2}-\d{4}$",
    re.IGNORECASE,
)
# A paper's own text as a search query: the engine caps queries at 256 characters.
QUERY_CHARS = 250


@runtime_checkable
class Neighbours(Protocol):
    """Where "more like this" finds its papers (lexical now, dense vectors later)."""

    def neighbours(self, key: int, k: int) -> list[tuple[int, float]]:
        """Up to `k` (key, score) of the papers most like paper `key`, best first; never
        `key` itself; [] when the paper is unknown to this source."""
        ...


@dataclass(frozen=True, slots=True)
class SimilarResult:
    """The paper asked about and the cards of the papers most like it."""

    paper: Paper
    cards: tuple[PaperCard, ...]


def description_query(paper: Paper) -> str:
    """The paper's title and abstract as one search, cut to a length search accepts."""
    text = clean_text(f"{paper.title} {paper.abstract or ''}")
    return shorten(text, QUERY_CHARS, "")


class SimilarPapers:
    """Resolve a paper, find its neighbours, drop the paper and its versions, build cards."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        search: SearchEngine,
        neighbours: Neighbours | None = None,
        fetch: Callable[[str], Paper | None] | None = None,
    ) -> None:
        self.uow = uow
        self.search = search
        self.source = neighbours
        self.fetch = fetch

    def resolve(self, ref: str) -> Paper | str:
        """The paper `ref` names (id, link or title), or one line saying why not."""
        ref = clean_text(ref).strip().strip("<>").strip()
        if not ref:
            return "Tell me which paper: an arXiv id, a link or a title."
        link = parse_paper_link(ref)
        if link is not None and link.kind is LinkKind.OPENREVIEW:
            return (
                "OpenReview papers have no arXiv id, and I only know papers from arXiv, "
                "Hugging Face and the ACL Anthology."
            )
        paper_id = link.paper_id if link is not None else ref
        paper = None
        if paper_id and " " not in paper_id:
            with self.uow() as unit:
                paper = unit.papers.find_by_paper_id(paper_id)
        if paper is None and link is not None and link.kind is LinkKind.ARXIV and self.fetch:
            paper = self.fetch(link.id)
        if paper is None and link is None and not _ID_LIKE.match(ref):
            # Not an id or a link: a title, answered by the search's best hit.
            hits = self.search.search(ref, limit=1).cards
            paper = hits[0].paper if hits else None
        if paper is None:
            return (
                f"I don't know the paper “{shorten(ref, 60)}”. Give an arXiv id (2401.12345), "
                "an ACL Anthology id, a link or the paper's title."
            )
        return paper

    def by_key(self, key: int) -> Paper | str:
        """The stored paper behind a button (by key; its survivor if merged)."""
        return paper_by_key(self.uow, key)

    def similar_to(self, paper: Paper, k: int) -> SimilarResult:
        """Up to `k` cards of the works most like `paper`, never `paper` or its versions."""
        with self.uow() as unit:
            versions = versions_of(paper, unit.papers.with_title_keys([title_key(paper.title)]))
        excluded = {paper.key, *(v.key for v in versions)}
        ranked = self._candidates(paper, k + len(excluded) + HEADROOM)
        ranked = [(key, score) for key, score in ranked if key not in excluded]
        with self.uow() as unit:
            stored = {p.key: p for p in unit.papers.get_many([key for key, _ in ranked])}
        scored = [
            (stored[key], score)
            for key, score in ranked
            if key in stored and not same_work(paper, stored[key])
        ]
        works = fold(scored, title=lambda item: item[0].title, paper=lambda item: item[0])
        cards = tuple(
            PaperCard(
                paper=lead,
                score=round(score, 4),
                rank=i,
                versions=tuple(p for p, _ in later),
            )
            for i, ((lead, score), later) in enumerate(works[:k], start=1)
        )
        return SimilarResult(paper=paper, cards=cards)

    def _candidates(self, paper: Paper, k: int) -> list[tuple[int, float]]:
        found = self.source.neighbours(paper.key, k) if self.source is not None else []
        if found:
            return found
        # Not in the neighbour source yet (a paper just fetched from a link): its own words
        # as a description search.
        results = self.search.search(description_query(paper), limit=k)
        return [(card.paper.key, card.score or 0.0) for card in results.cards]
