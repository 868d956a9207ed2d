"""Which of a subscription's topics (digest keywords) a paper matches, lexically or by meaning.

`LexicalTopics` is the keyword rule digests always had (`matches_keywords`: the keyword
occurs, fuzzily, in the title, keywords or abstract), now naming the keyword that matched.
`SemanticTopics` (issue 12) adds meaning: a paper no keyword occurs in still matches a
keyword when the cosine between the keyword's query vector and the paper's stored vector
reaches `TOPIC_THRESHOLD`, so `speech` also finds a "speaker diarization" paper. Paper
vectors are read from `PaperVectorStore` (never computed here) and taken only when
current for the paper's text; a paper without one matches lexically only.

**The threshold** (`bench/topic_threshold.py`, 20k sample, int8 MiniLM, bare keyword as
the query): at 0.40 the papers added by meaning per topic were 0–58 and 44–100 % of them
on the topic by a related-word check (speech 43 papers at 44 %, robotics 19 at 100 %,
reinforcement learning 45 at 80 %, graph neural networks 58 at 98 %); at 0.35 they were
3–5 times more at 30–89 %, and at 0.45 almost none. A one-word query lies far from any
abstract's vector, so the cosines are low across the board; 0.40 keeps a digest's extra
papers mostly on topic.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.models import Paper
from bot.ports import UnitOfWork
from bot.trending.score import matches_keywords

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bot.search.embedding import Encoder

__all__ = ["TOPIC_THRESHOLD", "LexicalTopics", "SemanticTopics", "TopicMatcher"]

TOPIC_THRESHOLD = 0.40


class TopicMatcher(Protocol):
    def topic_of(self, uow: UnitOfWork, paper: Paper, keywords: Sequence[str]) -> str | None:
        """The first of `keywords` that `paper` matches, or None."""
        ...


class LexicalTopics:
    """A keyword matches when it occurs (fuzzily) in the paper's text."""

    def topic_of(self, uow: UnitOfWork, paper: Paper, keywords: Sequence[str]) -> str | None:
        return next((k for k in keywords if k.strip() and matches_keywords(paper, (k,))), None)


class SemanticTopics:
    """Lexical first; else the keyword whose query vector is closest to the paper's vector,
    when the cosine reaches `threshold`."""

    def __init__(
        self,
        encoder: Callable[[], Encoder],
        model: str,
        *,
        threshold: float = TOPIC_THRESHOLD,
    ) -> None:
        self._make_encoder = encoder
        self._encoder: Encoder | None = None
        self.model = model
        self.threshold = threshold
        self._lexical = LexicalTopics()
        # Keyword vectors never change; paper vectors are read per call (a run's
        # `Ranking` asks once per paper and subscription topics).
        self._keywords: dict[str, NDArray[np.float32]] = {}

    def topic_of(self, uow: UnitOfWork, paper: Paper, keywords: Sequence[str]) -> str | None:
        found = self._lexical.topic_of(uow, paper, keywords)
        if found is not None:
            return found
        vector = self._paper_vector(uow, paper)
        if vector is None:
            return None
        best, best_cosine = None, self.threshold
        for keyword in keywords:
            if not keyword.strip():
                continue
            cosine = float(self._keyword_vector(keyword) @ vector)
            if cosine >= best_cosine:
                best, best_cosine = keyword, cosine
        return best

    def _keyword_vector(self, keyword: str) -> NDArray[np.float32]:
        if keyword not in self._keywords:
            if self._encoder is None:
                self._encoder = self._make_encoder()
            self._keywords[keyword] = self._encoder.encode([keyword.strip().lower()])[0]
        return self._keywords[keyword]

    def _paper_vector(self, uow: UnitOfWork, paper: Paper) -> NDArray[np.float32] | None:
        from bot.search.embedder import fingerprint, text_of

        stored = uow.vectors.get_many(self.model, [paper.key]).get(paper.key)
        if stored is None or stored.fingerprint != fingerprint(text_of(paper)):
            return None  # not embedded yet, or embedded from an older text
        return stored.vector
