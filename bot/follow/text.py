"""Papers as alert matching reads them: words split and stemmed exactly as search does.

`PaperText` tokenises a paper once per batch (its set of words, and on demand their stems,
its authors and the word sequences that phrases need); `_STEMMER` caches the search
analyzer's stem per word and stems a batch's new words in one analyzer call.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from bot.follow.names import PersonName, parse_name
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
            if len(self.cache) < _CACHE_LIMIT:
                self.cache[word] = stem
        return stem

    def terms(self, text: str) -> list[str]:
        words = self.words(text)
        cache = self.cache
        if cache.keys() >= set(words):
            return list(map(cache.__getitem__, words))
        return [cache.get(w) or self.stem(w) for w in words]

    def stems(self, words: AbstractSet[str]) -> dict[str, str]:
        """Each of `words` -> its stem: the words not yet cached in one analyzer call.

        A batch's vocabulary is stemmed once, not each paper's words: calling the analyzer
        per word, and looking every paper's words up one by one, cost more than stemming.
        """
        cache = self.cache
        missing = words - cache.keys()
        if missing:
            if len(cache) + len(missing) > _CACHE_LIMIT:
                cache.clear()
                missing = set(words)
            # ASCII words under 40 letters are one token each, to the simple tokenizer as
            # to `words`; anything else (or a count that disagrees) goes word by word.
            joined = [w for w in missing if len(w) < 40 and w.isascii()]
            stemmed = self._analyzer.analyze(" ".join(joined)) if joined else []
            if len(stemmed) == len(joined):
                cache.update(zip(joined, stemmed, strict=True))
            for word in missing:
                if word not in cache:
                    cache[word] = self.stem(word)
        return {word: cache[word] for word in words}


_CACHE_LIMIT = 1_000_000
_STEMMER = _Stemmer()


def paper_words(paper: Paper) -> set[str]:
    """The distinct surface words of a paper's title, abstract, keywords and authors."""
    return set(
        _STEMMER.words(
            " ".join((paper.title, paper.abstract or "", *paper.keywords, *paper.authors))
        )
    )


class BatchText:
    """What one batch's papers share: the stem of every word in them, and phrase patterns.

    A phrase (consecutive stems) is checked as one regular expression over the batch's
    surface words with those stems, on the lower-cased title or abstract: the same
    answer as splitting and stemming the whole abstract, which cost most of the checks.
    """

    def __init__(self, stems: Mapping[str, str]) -> None:
        self.stems = stems
        self._surfaces: dict[str, list[str]] | None = None
        self._patterns: dict[tuple[str, ...], re.Pattern[str]] = {}

    def phrase(self, stems: tuple[str, ...]) -> re.Pattern[str]:
        pattern = self._patterns.get(stems)
        if pattern is None:
            if self._surfaces is None:
                self._surfaces = {}
                for word, stem in self.stems.items():
                    self._surfaces.setdefault(stem, []).append(word)
            words = [self._surfaces.get(stem) for stem in stems]
            if all(words):
                # Words are maximal runs of letters and digits, as `_Stemmer.words` splits.
                body = r"[\W_]+".join(
                    "(?:" + "|".join(map(re.escape, alternatives or ())) + ")"
                    for alternatives in words
                )
                # No look-behind for the start of a word: it disables the engine's scan for
                # the first letters (40 us a search instead of 2); `_found` checks instead.
                pattern = re.compile(rf"{body}(?![^\W_])")
            else:
                pattern = _NEVER
            self._patterns[stems] = pattern
        return pattern


_NEVER = re.compile(r"(?!)")


class PaperText:
    """A paper tokenised once for matching: its distinct words, and on demand their stems,
    its parsed authors and the word sequences of title and abstract (phrases need them)."""

    __slots__ = (
        "_abstract",
        "_authors",
        "_batch",
        "_lowered",
        "_stems",
        "_terms",
        "_title",
        "paper",
        "words",
    )

    def __init__(
        self, paper: Paper, words: set[str] | None = None, batch: BatchText | None = None
    ) -> None:
        """`words` and `batch` are given when a whole batch was tokenised at once."""
        self.paper = paper
        self.words = paper_words(paper) if words is None else words
        self._batch = batch
        self._stems = batch.stems if batch is not None else None
        self._terms: set[str] | None = None
        self._authors: list[PersonName] | None = None
        self._title: list[str] | None = None
        self._abstract: list[str] | None = None
        self._lowered: tuple[str, str] | None = None

    @classmethod
    def of(cls, paper: Paper) -> PaperText:
        return cls(paper)

    @property
    def terms(self) -> set[str]:
        """The paper's index terms (stems), as search indexes them."""
        if self._terms is None:
            stems = self._stems if self._stems is not None else _STEMMER.stems(self.words)
            self._terms = set(map(stems.__getitem__, self.words))
        return self._terms

    @property
    def authors(self) -> list[PersonName]:
        if self._authors is None:
            self._authors = [p for p in map(parse_name, self.paper.authors) if p is not None]
        return self._authors

    @property
    def title(self) -> list[str]:
        if self._title is None:
            self._title = self._sequence(self.paper.title)
        return self._title

    @property
    def abstract(self) -> list[str]:
        if self._abstract is None:
            self._abstract = self._sequence(self.paper.abstract or "")
        return self._abstract

    def has_phrase(self, phrase: tuple[str, ...]) -> bool:
        """Whether these stems occur as consecutive words of the title or the abstract."""
        if self._batch is not None:
            pattern = self._batch.phrase(phrase)
            if self._lowered is None:  # once per paper: alerts check several phrases on it
                self._lowered = (self.paper.title.lower(), (self.paper.abstract or "").lower())
            title, abstract = self._lowered
            return _found(pattern, title) or _found(pattern, abstract)
        return _has_sequence(self.title, phrase) or _has_sequence(self.abstract, phrase)

    def _sequence(self, text: str) -> list[str]:
        if self._stems is not None:
            try:  # the batch's stems hold every word of the paper's text
                return list(map(self._stems.__getitem__, _STEMMER.words(text)))
            except KeyError:
                pass
        return _STEMMER.terms(text)


def _has_sequence(words: list[str], phrase: tuple[str, ...]) -> bool:
    first, n = phrase[0], len(phrase)
    start = 0
    while True:
        try:
            at = words.index(first, start)
        except ValueError:
            return False
        if tuple(words[at : at + n]) == phrase:
            return True
        start = at + 1


def _found(pattern: re.Pattern[str], text: str) -> bool:
    """Whether `pattern` matches `text` at the start of a word (after no letter or digit)."""
    at = 0
    while (match := pattern.search(text, at)) is not None:
        start = match.start()
        if start == 0 or not text[start - 1].isalnum():
            return True
        at = start + 1  # not `finditer`: a match may begin inside a rejected one
    return False
