"""Papers as alert matching reads them: words split and stemmed exactly as search does.

`PaperText` tokenises a paper once per batch (its set of terms, and on demand the word
sequences that phrases need); `_STEMMER` caches the search analyzer's stem per word.
"""

from __future__ import annotations

import re

from bot.follow.names import parse_name
from bot.models import Paper
from bot.search.engine import _text_analyzer

_WORD = re.compile(r"[^\W_]+")
# Byte table for ASCII text: what `_WORD` keeps (letters, digits) lower-cased, else a space.
_ASCII_WORDS = bytes(
    (ord(chr(b).lower()) if chr(b).isalnum() else 32) if b < 128 else 32 for b in range(256)
)


class _Stemmer:
    """Words to index terms exactly as the search index does, cached per surface word."""

    def __init__(self) -> None:
        self._analyzer = _text_analyzer(stem=True)
        self.cache: dict[str, str] = {}

    def words(self, text: str) -> list[str]:
        """Lower-cased words of `text`, split as the search tokenizer splits.

        Accents are folded by `stem` (the analyzer's ascii_fold), once per distinct word:
        folding whole abstracts character by character was most of the matching time.
        """
        if text.isascii():
            # Most papers are ASCII: one C-level byte translation (letters and digits kept,
            # lower-cased; everything else a space) splits them several times faster.
            return text.encode("ascii").translate(_ASCII_WORDS).decode("ascii").split()
        return _WORD.findall(text.lower())

    def stem(self, word: str) -> str:
        stem = self.cache.get(word)
        if stem is None:
            # Words of 40 letters or more are dropped by the analyzer (remove_long): keep them.
            tokens = self._analyzer.analyze(word)
            stem = tokens[0] if tokens else word
            if len(self.cache) < 1_000_000:
                self.cache[word] = stem
        return stem

    def terms(self, text: str) -> list[str]:
        words = self.words(text)
        cache = self.cache
        if cache.keys() >= set(words):
            return list(map(cache.__getitem__, words))
        return [cache.get(w) or self.stem(w) for w in words]


_STEMMER = _Stemmer()


class PaperText:
    """A paper tokenised once for matching: its set of terms, and on demand the word
    sequences of title and abstract (only phrases need them)."""

    __slots__ = ("_abstract", "_title", "authors", "paper", "terms")

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        text = " ".join((paper.title, paper.abstract or "", *paper.keywords, *paper.authors))
        cache = _STEMMER.cache
        # Stem each distinct word once (abstracts repeat their words a lot), and only the
        # words never seen before: the rest map through the cache in one C-level pass.
        words = set(_STEMMER.words(text))
        missing = words.difference(cache)  # a dict: looked up, not copied
        known: set[str] = (
            set(map(cache.__getitem__, words - missing))
            if missing
            else set(map(cache.__getitem__, words))
        )
        self.terms: set[str] = known | {_STEMMER.stem(w) for w in missing}
        self.authors = [p for p in (parse_name(a) for a in paper.authors) if p is not None]
        self._title: list[str] | None = None
        self._abstract: list[str] | None = None

    @classmethod
    def of(cls, paper: Paper) -> PaperText:
        return cls(paper)

    @property
    def title(self) -> list[str]:
        if self._title is None:
            self._title = _STEMMER.terms(self.paper.title)
        return self._title

    @property
    def abstract(self) -> list[str]:
        if self._abstract is None:
            self._abstract = _STEMMER.terms(self.paper.abstract or "")
        return self._abstract
