"""A batch's words as arrays: which papers hold each term, and each phrase, alerts need.

`text.batch_tokens` gives the batch's words as one stream (each paper's title, abstract
and other fields, each closed by a separator) and `text.LEXICON` numbers them; here the
numbers become, per token, the alert term it stems to (`-1` for none, `-2` for a
separator), and then bitsets (`bot.follow.bitsets`): a term's papers are the papers of
its tokens; a phrase's papers are where its terms follow each other within a title or an
abstract, found for all phrases at once by comparing pairs of neighbouring terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.follow.bitsets import from_pairs
from bot.follow.text import FIELDS

__all__ = ["BatchTerms"]


class BatchTerms:
    """The term of each token of a batch, and the papers of terms and phrases."""

    def __init__(self, terms: Any, size: int, np: Any) -> None:
        """`terms`: per token, its term row (`-1` none, `-2` the separator closing a field)."""
        self._np = np
        self._size = size
        self.terms = terms
        closes = terms == -2
        # The field of each token (its separator included), then its paper.
        self.field = np.cumsum(closes) - closes
        self.paper = self.field // FIELDS

    def term_bits(self, nterms: int) -> list[int]:
        """Per term row, the papers holding it."""
        hold = self.terms >= 0
        return from_pairs(self.terms[hold], self.paper[hold], nterms, self._size, self._np)

    def phrase_bits(self, phrases: Sequence[tuple[int, ...]], nterms: int) -> list[int]:
        """Per phrase (term rows in order), the papers where those terms are consecutive
        words of the title or of the abstract."""
        np = self._np
        if not phrases:
            return []
        # Terms outside titles and abstracts, and separators, break every phrase.
        prose = np.where(self.field % FIELDS < 2, self.terms, -1)
        rows: list[Any] = []
        at: list[Any] = []
        single = np.full(nterms, -1, dtype=np.int64)
        for n, p in enumerate(phrases):
            if len(p) == 1:
                single[p[0]] = n
        found = np.flatnonzero(prose >= 0)
        which = single[prose[found]]
        rows.append(which[which >= 0])
        at.append(self.paper[found[which >= 0]])
        longer = [n for n, p in enumerate(phrases) if len(p) > 1]
        if longer:
            rows_, at_ = self._longer([phrases[n] for n in longer], prose, nterms)
            rows.append(np.array(longer, dtype=np.int64)[rows_])
            at.append(at_)
        return from_pairs(np.concatenate(rows), np.concatenate(at), len(phrases), self._size, np)

    def _longer(
        self, phrases: Sequence[tuple[int, ...]], prose: Any, nterms: int
    ) -> tuple[Any, Any]:
        """(phrase, paper) arrays for phrases of two terms or more: each token whose term
        starts a phrase is paired with the next, and the pair looked up among the
        phrases' first pairs; the matches are extended one term at a time."""
        np = self._np
        width = max(map(len, phrases))
        # Per phrase its terms, padded with -2 (no token has it).
        terms = np.full((len(phrases), width), -2, dtype=np.int64)
        for row, p in enumerate(phrases):
            terms[row, : len(p)] = p
        firsts = terms[:, 0] * nterms + terms[:, 1]
        order = np.argsort(firsts, kind="stable")
        firsts = firsts[order]
        starts_a_phrase = np.zeros(nterms, dtype=bool)
        starts_a_phrase[terms[:, 0]] = True
        # Tokens followed by another of the same field (the separator has no term).
        start = np.flatnonzero(prose[:-1] >= 0)
        start = start[starts_a_phrase[prose[start]] & (prose[start + 1] >= 0)]
        pair = prose[start] * nterms + prose[start + 1]
        low = np.searchsorted(firsts, pair, side="left")
        count = np.searchsorted(firsts, pair, side="right") - low
        # Each start with each phrase whose first pair it is.
        start = np.repeat(start, count)
        offsets = np.arange(len(start)) - np.repeat(np.cumsum(count) - count, count)
        which = order[np.repeat(low, count) + offsets]
        last = len(prose) - 1
        for k in range(2, width):
            need = terms[which, k]
            there = prose[np.minimum(start + k, last)]
            keep = (need == -2) | ((start + k <= last) & (there == need))
            start, which = start[keep], which[keep]
        return which, self.paper[start]
