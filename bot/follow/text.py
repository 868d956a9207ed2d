"""Papers as alert matching reads them: words split and stemmed exactly as search does.

`batch_tokens` splits a batch into one stream of words (field by field) and `LEXICON`
numbers them, so that `bot.follow.stream` works on arrays of numbers; `PaperText` is one
paper as the naive reference matcher reads it. `_STEMMER` caches the search analyzer's
stem per word and stems a batch's new words in one analyzer call.
"""

from __future__ import annotations

import itertools
import re
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any

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


# A batch's words as one token stream: each paper's FIELDS fields (title, abstract, then
# keywords and authors), each followed by SEPARATOR. Phrases are looked for in the first two.
FIELDS = 3
SEPARATOR = "\x01"
# Byte table for the stream: ASCII letters and digits lower-cased, SEPARATOR kept, other
# ASCII a space; bytes of non-ASCII characters kept (such fields are split beforehand).
_STREAM = bytes(
    (ord(chr(b).lower()) if chr(b).isalnum() else b if b == 1 else 32) if b < 128 else b
    for b in range(256)
)


def batch_tokens(papers: Sequence[Paper]) -> list[str]:
    """The words of every field of `papers`, in order, each field closed by SEPARATOR.

    Each field's words are exactly `_Stemmer.words` of it; the batch is translated and
    split in one call each instead of once per paper. A field that is not ASCII (or holds
    SEPARATOR) is split by `words` first and rejoined by spaces: its words are letters and
    digits only, which the table and `split` leave as they are.
    """
    pieces: list[str] = []
    for paper in papers:
        for text in (
            paper.title,
            paper.abstract or "",
            " ".join((*paper.keywords, *paper.authors)),
        ):
            if not text.isascii() or SEPARATOR in text:
                text = " ".join(_STEMMER.words(text))
            pieces.append(text)
    pieces.append("")
    joined = f" {SEPARATOR} ".join(pieces)
    return joined.encode("utf-8").translate(_STREAM).decode("utf-8").split()


class Lexicon:
    """Every word met in a batch, numbered in order of first sight, with its stem.

    Numbering a batch's 2 million words is one dictionary look-up each, in C (`map`);
    what a word means to alerts is then looked up per number in numpy. Shared by all
    alert indexes of the process, so a later batch stems only the words it brings.
    """

    def __init__(self, limit: int = 2_000_000) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        self._numbers: defaultdict[str, int] = defaultdict(itertools.count().__next__)
        self._numbers[SEPARATOR]  # number 0
        self.stems: list[str] = [SEPARATOR]

    def number(self, chunks: Iterable[list[str]], np: Any) -> tuple[Any, list[str]]:
        """The number of each token of `chunks` (one int64 array), and the stems by number
        they refer to: numbering starts again, in a new list, when the lexicon has outgrown
        its limit, so a caller holding the list of its numbers never reads another's."""
        with self._lock:
            if len(self.stems) > self._limit:
                self._reset()
            found = []
            for tokens in chunks:
                found.append(
                    np.fromiter(map(self._numbers.__getitem__, tokens), np.int64, len(tokens))
                )
                if len(self._numbers) > len(self.stems):
                    new = list(itertools.islice(self._numbers, len(self.stems), None))
                    stems = _STEMMER.stems(set(new))
                    self.stems.extend(map(stems.__getitem__, new))
            return np.concatenate(found) if found else np.zeros(0, np.int64), self.stems


LEXICON = Lexicon()


class PaperText:
    """A paper tokenised for the naive matcher: its distinct words, and on demand their
    stems, its parsed authors and the stems of title and abstract in order (phrases)."""

    __slots__ = ("_abstract", "_authors", "_terms", "_title", "paper", "words")

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        self.words = paper_words(paper)
        self._terms: set[str] | None = None
        self._authors: list[PersonName] | None = None
        self._title: list[str] | None = None
        self._abstract: list[str] | None = None

    @property
    def terms(self) -> set[str]:
        """The paper's index terms (stems), as search indexes them."""
        if self._terms is None:
            stems = _STEMMER.stems(self.words)
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
            self._title = _STEMMER.terms(self.paper.title)
        return self._title

    @property
    def abstract(self) -> list[str]:
        if self._abstract is None:
            self._abstract = _STEMMER.terms(self.paper.abstract or "")
        return self._abstract

    def has_phrase(self, phrase: tuple[str, ...]) -> bool:
        """Whether these stems occur as consecutive words of the title or the abstract."""
        return _has_sequence(self.title, phrase) or _has_sequence(self.abstract, phrase)


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
