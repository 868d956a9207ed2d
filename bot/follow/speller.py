"""Typo corrections for saved searches, from the words of the corpus.

A saved search `quasiparticel braiding` should match what a search for it finds; the
speller answers each unknown query word with the corpus words within its typo budget,
using the search engine's own vocabulary code so both agree on what a typo is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bot.follow.text import _STEMMER
from bot.models import Paper
from bot.search.engine import typo_budget
from bot.search.vocabulary import Vocabulary

__all__ = ["VocabularySpeller"]


class VocabularySpeller:
    """Typo corrections against known words, with the search engine's rules and code."""

    def __init__(self, word_counts: Mapping[str, int]) -> None:
        self._vocab = Vocabulary.from_counts(word_counts)

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> VocabularySpeller:
        """Word document frequencies of titles and abstracts (surface words, not stems)."""
        counts: dict[str, int] = {}
        for paper in papers:
            for word in set(_STEMMER.words(f"{paper.title} {paper.abstract or ''}")):
                counts[word] = counts.get(word, 0) + 1
        return cls(counts)

    def corrections(self, word: str) -> list[str]:
        if self._vocab.freq(word) >= 2:
            return []
        return [term for term, _ in self._vocab.fuzzy(word, typo_budget(word))]
