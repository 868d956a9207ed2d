"""Surface words of one index field with document frequencies, for typo expansion.

Read lazily from tantivy's term dictionary, one first letter at a time: a typo in the
first letter is rare and counts double in Meilisearch, so expansion and completion stay
within the first letter of the query word.  A cold process therefore reads only the few
letters its query starts with (a few thousand terms each) instead of the whole vocabulary,
which is what made opening a large index take seconds.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping

from rapidfuzz import process
from rapidfuzz.distance import OSA

# (term, document frequency) pairs of the terms starting with a prefix; and one term's df.
TermLoader = Callable[[str], list[tuple[str, int]]]
FreqLookup = Callable[[str], int]


class _Letter:
    """The terms that share one first letter, bucketed by length."""

    def __init__(self) -> None:
        self.df: dict[str, int] = {}
        self.buckets: dict[int, list[str]] = {}
        self._sorted: list[str] = []
        self._dirty = False

    def add(self, term: str, df: int) -> None:
        old = self.df.get(term)
        self.df[term] = (old or 0) + df
        if old is None:
            self.buckets.setdefault(len(term), []).append(term)
            self._dirty = True

    def sorted_terms(self) -> list[str]:
        if self._dirty:
            self._sorted = sorted(self.df)
            self._dirty = False
        return self._sorted


class Vocabulary:
    """Words with document frequencies, loaded per first letter on first use."""

    def __init__(self, load: TermLoader, freq: FreqLookup) -> None:
        self._load = load
        self._freq = freq
        self._letters: dict[str, _Letter] = {}

    @classmethod
    def from_counts(cls, counts: Mapping[str, int]) -> Vocabulary:
        """A vocabulary of exactly these words and document frequencies, all in memory."""
        vocab = cls(lambda prefix: [], lambda term: 0)
        for term, df in counts.items():
            if term:
                vocab._letter(term[0]).add(term, df)
        return vocab

    def _letter(self, first: str) -> _Letter:
        letter = self._letters.get(first)
        if letter is None:
            letter = _Letter()
            for term, df in self._load(first):
                letter.add(str(term), int(df))
            self._letters[first] = letter
        return letter

    def freq(self, term: str) -> int:
        """Documents holding `term` (0 when unknown); never loads a letter."""
        if not term:
            return 0
        letter = self._letters.get(term[0])
        return letter.df.get(term, 0) if letter is not None else self._freq(term)

    def add(self, term: str) -> None:
        """Count one more document for `term` in letters already loaded.

        Letters not loaded yet are read from the committed index when first needed, so
        they see the new document without help.
        """
        if term and (letter := self._letters.get(term[0])) is not None:
            letter.add(term, 1)

    def counts(self) -> dict[str, int]:
        """Every word with its document frequency: the whole term dictionary, read now."""
        found = {str(term): int(df) for term, df in self._load("")}
        for letter in self._letters.values():
            for term, df in letter.df.items():
                found.setdefault(term, df)
        return found

    def forget(self) -> None:
        """Drop what was loaded (after another process changed the index)."""
        self._letters.clear()

    def fuzzy(self, term: str, max_edits: int, limit: int = 6) -> list[tuple[str, int]]:
        """Vocabulary terms within `max_edits` (OSA distance) of `term`, nearest first."""
        if max_edits <= 0 or not term:
            return []
        letter = self._letter(term[0])
        found: list[tuple[int, int, str]] = []
        for length in range(len(term) - max_edits, len(term) + max_edits + 1):
            bucket = letter.buckets.get(length)
            if not bucket:
                continue
            for choice, dist, _ in process.extract(
                term, bucket, scorer=OSA.distance, score_cutoff=max_edits, limit=None
            ):
                if choice != term:
                    found.append((int(dist), -letter.df.get(choice, 0), choice))
        found.sort()
        return [(t, d) for d, _, t in found[:limit]]

    def completions(self, prefix: str, limit: int = 5, scan: int = 3000) -> list[str]:
        """The most frequent terms that start with `prefix` (excluding it)."""
        if not prefix:
            return []
        letter = self._letter(prefix[0])
        terms = letter.sorted_terms()
        start = bisect.bisect_left(terms, prefix)
        matches: list[tuple[int, str]] = []
        for term in terms[start : start + scan]:
            if not term.startswith(prefix):
                break
            if term != prefix:
                matches.append((-letter.df[term], term))
        matches.sort()
        return [t for _, t in matches[:limit]]
