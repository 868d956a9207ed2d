"""Alert matching: which papers of a new batch match which channels' follows and saved searches.

The alerts are indexed, not searched one by one: for each batch, every alert is filed
under its rarest required part in that batch (a word, or an author's name key), and an
alert whose required word or author occurs in no paper of the batch is not filed at all.
Each paper is tokenised once; the intersection of its terms with the table (a set
operation in C) and a look-up of its authors' keys give the few alerts to check in full.
The cost grows with the batch and the number of alerts, not with their product.

Semantics of a saved search (the `search` syntax, `bot.search.query`):

- **Words** must all occur in the title, abstract, keywords or author names. Words are
  compared as search compares them: tokenised on non-alphanumerics, lower-cased,
  accents folded and reduced by the same English Snowball stemmer as the search index
  (`agents` matches `agent`, `diffusion` matches `diffusing`). Stop words (`the`, `of`…)
  are not required, unless the query has nothing else.
- **Typos** are forgiven when the alert is saved, not at each match: a word the corpus
  vocabulary does not know (fewer than 2 papers) also accepts the known words within the
  search typo budget (0 edits under 5 letters, 1 up to 8, 2 from 9; same first letter).
  Fuzzy-matching every new paper's words instead would fire on real words that are one
  edit apart (`causal` and `casual`) - a false alert is worse than a missed typo fix.
  Without a `Speller`, words match exactly (after stemming).
- **`"phrases"`** must occur as consecutive words in the title or in the abstract.
- **`author:NAME`** must match an author by `bot.follow.names` identity.
- **`since:DATE`** keeps papers published on or after DATE (an undated paper fails it).

An author follow matches a paper with an author of the same name identity (`Y. LeCun`
follows `Yann LeCun` and vice versa; `Yi Wang` does not match `Yu Wang`). A follow of
a surname alone (`Hinton`) matches every author of that surname; a paper author with
no given name matches only such a follow.

`AlertMatcher` is the extension point for other kinds of matching (semantic matching
by embeddings later): `AlertIndex` merges whatever extra matchers return.
"""

from __future__ import annotations

import enum
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from bot.follow.names import PersonName, given_compatible, parse_name
from bot.models import Paper
from bot.search.engine import STOPWORDS, _text_analyzer, _Vocabulary, typo_budget
from bot.search.query import parse_query

__all__ = [
    "Alert",
    "AlertIndex",
    "AlertKind",
    "AlertMatcher",
    "CompiledAlert",
    "PaperMatch",
    "PaperText",
    "Speller",
    "VocabularySpeller",
    "compile_alert",
]

_WORD = re.compile(r"[^\W_]+")


class AlertKind(enum.StrEnum):
    AUTHOR = "author"
    SEARCH = "search"


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert of a channel: a followed author name or a saved search, as typed."""

    id: int
    channel: str  # `ChannelRef.key`
    kind: AlertKind
    query: str


@dataclass(frozen=True, slots=True)
class PaperMatch:
    """A paper for one channel, with every alert of that channel it matched."""

    paper: Paper
    alerts: tuple[Alert, ...]


class Speller(Protocol):
    """Known words a query word may be a typo of (none when the word itself is known)."""

    def corrections(self, word: str) -> Iterable[str]: ...


class AlertMatcher(Protocol):
    """Extra matching beside words and names (e.g. semantic): (paper position, alert) pairs."""

    def match(self, papers: Sequence[Paper]) -> Iterable[tuple[int, Alert]]: ...


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
        cache = self.cache
        return [cache.get(w) or self.stem(w) for w in self.words(text)]


_STEMMER = _Stemmer()


class PaperText:
    """A paper tokenised once for matching: its set of terms, and on demand the word
    sequences of title and abstract (only phrases need them)."""

    __slots__ = ("_abstract", "_title", "authors", "paper", "terms")

    def __init__(self, paper: Paper) -> None:
        self.paper = paper
        text = " ".join((paper.title, paper.abstract or "", *paper.keywords, *paper.authors))
        stem, cache = _STEMMER.stem, _STEMMER.cache
        # Stem each distinct word once: abstracts repeat their words a lot.
        self.terms: set[str] = {cache.get(w) or stem(w) for w in set(_STEMMER.words(text))}
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


def _person_matches(wanted: PersonName, authors: Sequence[PersonName]) -> bool:
    # An author known by surname alone is too little to fire a follow of a full name.
    return any(
        a.surname == wanted.surname
        and (not wanted.given or (a.given and given_compatible(wanted.given, a.given)))
        for a in authors
    )


@dataclass(frozen=True, slots=True)
class CompiledAlert:
    """An alert reduced to checks on a `PaperText`; `anchor` is where the index files it."""

    alert: Alert
    groups: tuple[frozenset[str], ...] = ()  # each group: one of these terms must occur
    phrases: tuple[tuple[str, ...], ...] = ()
    people: tuple[PersonName, ...] = ()
    since: date | None = None

    def anchor(
        self, term_df: Mapping[str, int], author_df: Mapping[str, int]
    ) -> tuple[str, tuple[str, ...]] | None:
        """Where to file this alert for one batch: its rarest required part there.

        ("term", alternatives) or ("author", (key,)); None when some required part occurs
        in no paper of the batch, so the alert cannot match any of them.
        """
        options: list[tuple[int, str, tuple[str, ...]]] = []
        for person in self.people:
            key = person.key
            options.append((author_df.get(key, 0), "author", (key,)))
        for group in self.groups:
            alternatives = tuple(sorted(group))
            options.append((sum(term_df.get(t, 0) for t in alternatives), "term", alternatives))
        for phrase in self.phrases:
            for word in phrase:
                options.append((term_df.get(word, 0), "term", (word,)))
        if not options:
            return None
        count, kind, values = min(options)
        return None if count == 0 else (kind, values)

    def matches(self, doc: PaperText) -> bool:
        terms = doc.terms
        for group in self.groups:
            if terms.isdisjoint(group):
                return False
        for phrase in self.phrases:
            if not (_has_sequence(doc.title, phrase) or _has_sequence(doc.abstract, phrase)):
                return False
        for person in self.people:
            if not _person_matches(person, doc.authors):
                return False
        if self.since is not None:
            published = doc.paper.published
            if published is None or published < self.since:
                return False
        return True


class VocabularySpeller:
    """Typo corrections against known words, with the search engine's rules and code."""

    def __init__(self, word_counts: Mapping[str, int]) -> None:
        self._vocab = _Vocabulary()
        for word, count in word_counts.items():
            self._vocab.add(word, count)

    @classmethod
    def from_papers(cls, papers: Iterable[Paper]) -> VocabularySpeller:
        """Word document frequencies of titles and abstracts (surface words, not stems)."""
        counts: dict[str, int] = {}
        for paper in papers:
            for word in set(_STEMMER.words(f"{paper.title} {paper.abstract or ''}")):
                counts[word] = counts.get(word, 0) + 1
        return cls(counts)

    def corrections(self, word: str) -> list[str]:
        if self._vocab.df.get(word, 0) >= 2:
            return []
        return [term for term, _ in self._vocab.fuzzy(word, typo_budget(word))]


def compile_alert(
    alert: Alert,
    *,
    speller: Speller | None = None,
) -> CompiledAlert:
    """The checks for one alert. Raises ValueError (one line) when it could match nothing."""
    if alert.kind is AlertKind.AUTHOR:
        person = parse_name(alert.query)
        if person is None:
            raise ValueError(f"alert {alert.id}: {alert.query!r} is not a name")
        return CompiledAlert(alert, people=(person,))
    parsed = parse_query(alert.query)
    groups: list[frozenset[str]] = []
    stop_groups: list[frozenset[str]] = []
    for term in parsed.terms:
        for word in _STEMMER.words(term):
            alternatives = {_STEMMER.stem(word)}
            if speller is not None:
                alternatives.update(_STEMMER.stem(w) for w in speller.corrections(word))
            (stop_groups if word in STOPWORDS else groups).append(frozenset(alternatives))
    if not groups:
        groups = stop_groups
    phrases = tuple(
        tuple(stems) for phrase in parsed.phrases if (stems := _STEMMER.terms(" ".join(phrase)))
    )
    people = tuple(p for p in (parse_name(a) for a in parsed.authors) if p is not None)
    if not (groups or phrases or people):
        raise ValueError(f"alert {alert.id}: {alert.query!r} has no words or authors to match")
    return CompiledAlert(
        alert,
        groups=tuple(dict.fromkeys(groups)),
        phrases=phrases,
        people=people,
        since=parsed.since,
    )


class AlertIndex:
    """Many channels' alerts, matched against batches of new papers.

    Per batch, each alert is filed under its rarest required part in that batch (a
    term's alternatives, or an author key); alerts with a part the batch lacks are not
    filed at all.  Each paper then looks up its terms and authors in those tables, and
    only the alerts found there are checked in full.
    """

    def __init__(
        self,
        alerts: Iterable[Alert],
        *,
        speller: Speller | None = None,
        extra: Sequence[AlertMatcher] = (),
    ) -> None:
        self._alerts: list[CompiledAlert] = []
        self._extra = tuple(extra)
        self.rejected: list[tuple[Alert, str]] = []
        for alert in alerts:
            try:
                self._alerts.append(compile_alert(alert, speller=speller))
            except ValueError as exc:
                self.rejected.append((alert, str(exc)))
        self.last_checked = 0  # full checks in the last `match`, for benchmarks

    @property
    def size(self) -> int:
        return len(self._alerts)

    def match(self, papers: Sequence[Paper]) -> dict[str, list[PaperMatch]]:
        """Channel key -> its matching papers (in batch order), each naming all its alerts."""
        docs = [PaperText(p) for p in papers]
        term_df: Counter[str] = Counter()
        author_df: Counter[str] = Counter()
        for doc in docs:
            term_df.update(doc.terms)
            author_df.update({k for a in doc.authors for k in (a.key, a.surname)})
        by_term: dict[str, list[CompiledAlert]] = {}
        by_author: dict[str, list[CompiledAlert]] = {}
        for compiled in self._alerts:
            anchor = compiled.anchor(term_df, author_df)
            if anchor is not None:
                table = by_term if anchor[0] == "term" else by_author
                for value in anchor[1]:
                    table.setdefault(value, []).append(compiled)
        term_keys = set(by_term)
        hits: dict[int, list[Alert]] = {}
        checked = 0
        for position, doc in enumerate(docs):
            candidates: list[CompiledAlert] = []
            for term in term_keys.intersection(doc.terms):
                candidates.extend(by_term[term])
            if by_author:
                for person in doc.authors:
                    candidates.extend(by_author.get(person.key, ()))
                    if person.surname != person.key:
                        candidates.extend(by_author.get(person.surname, ()))
            if not candidates:
                continue
            checked += len(candidates)
            found: dict[int, Alert] = {}
            for compiled in candidates:
                alert = compiled.alert
                if alert.id not in found and compiled.matches(doc):
                    found[alert.id] = alert
            if found:
                hits[position] = list(found.values())
        self.last_checked = checked
        for matcher in self._extra:
            for position, alert in matcher.match(papers):
                if 0 <= position < len(papers):
                    listed = hits.setdefault(position, [])
                    if all(a.id != alert.id for a in listed):
                        listed.append(alert)
        return _by_channel(papers, hits)


def _by_channel(
    papers: Sequence[Paper], hits: Mapping[int, Sequence[Alert]]
) -> dict[str, list[PaperMatch]]:
    result: dict[str, list[PaperMatch]] = {}
    for position in sorted(hits):
        alerts = sorted(hits[position], key=_alert_id)
        paper = papers[position]
        channel = alerts[0].channel
        if all(a.channel == channel for a in alerts):  # the common case: one channel
            result.setdefault(channel, []).append(PaperMatch(paper, tuple(alerts)))
            continue
        per_channel: dict[str, list[Alert]] = {}
        for alert in alerts:
            per_channel.setdefault(alert.channel, []).append(alert)
        for channel, listed in per_channel.items():
            result.setdefault(channel, []).append(PaperMatch(paper, tuple(listed)))
    return result


def _alert_id(alert: Alert) -> int:
    return alert.id


def match_naively(
    alerts: Iterable[CompiledAlert], papers: Sequence[Paper]
) -> dict[str, list[PaperMatch]]:
    """Every alert checked against every paper: the baseline `AlertIndex` must agree with."""
    docs = [PaperText(p) for p in papers]
    hits: dict[int, dict[int, Alert]] = {}
    for compiled in alerts:
        for position, doc in enumerate(docs):
            if compiled.matches(doc):
                hits.setdefault(position, {})[compiled.alert.id] = compiled.alert
    return _by_channel(papers, {position: list(found.values()) for position, found in hits.items()})
