"""Alert matching: which papers of a new batch match which channels' follows and saved searches.

The alerts are compiled once into an index, not searched one by one. Per batch, each
paper is tokenised once; its terms that some alert needs (a set intersection in C) and
its authors' name keys go into posting sets. Each alert intersects the posting sets of
its required parts, smallest first; only phrases, given names and `since:` are checked
paper by paper, on what is left. Author follows are filed by full name (`f:wang yi`) for
authors written in full, and by name key (`wang y`) only for authors known by initials,
so following `Yi Wang` does not mean checking every `Wang Y`. The cost grows with the
batch, the alerts and the matches, not with the product of batch and alerts.

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
import gc
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, NamedTuple, Protocol

from bot.follow.names import PersonName, given_compatible, may_have_surname, parse_name
from bot.follow.text import _STEMMER, BatchText, PaperText, paper_words
from bot.models import Paper
from bot.search.engine import STOPWORDS
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
    "compile_alert",
]


_EMPTY: frozenset[int] = frozenset()


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


class PaperMatch(NamedTuple):
    """A paper for one channel, with every alert of that channel it matched.

    A named tuple, not a dataclass: a batch makes hundreds of thousands of them, and a
    tuple is built in C (`AlertIndex.match` builds them with `map`).
    """

    paper: Paper
    alerts: tuple[Alert, ...]


class Speller(Protocol):
    """Known words a query word may be a typo of (none when the word itself is known)."""

    def corrections(self, word: str) -> Iterable[str]: ...


class AlertMatcher(Protocol):
    """Extra matching beside words and names (e.g. semantic): (paper position, alert) pairs."""

    def match(self, papers: Sequence[Paper]) -> Iterable[tuple[int, Alert]]: ...


def _person_matches(wanted: PersonName, authors: Sequence[PersonName]) -> bool:
    # An author known by surname alone is too little to fire a follow of a full name.
    return any(
        a.surname == wanted.surname
        and (not wanted.given or (a.given and given_compatible(wanted.given, a.given)))
        for a in authors
    )


def _full_given(person: PersonName) -> str | None:
    """The first given name with hyphens dropped when every part of it is spelt out.

    Two such names are compatible exactly when these agree (`Yi-Ting` = `Yiting`), so a
    paper author written in full finds full-name follows by one dictionary look-up.
    """
    if not person.given:
        return None
    first = person.given[0]
    if any(len(part) <= 1 for part in first.split("-")):
        return None
    return first.replace("-", "")


@lru_cache(maxsize=1 << 16)
def follow_keys(person: PersonName) -> tuple[str, ...]:
    """Where an author follow is filed: the paper-author keys that can match it.

    `f:` full name (`f:wang yi`), `k:` name key as paper authors known only by initials
    look it up, `i:` name key of a follow that itself has only initials, `s:` surname
    of a follow without given names. A full-name follow is not filed under `wang y`
    for authors written in full, which is what made `Yi Wang` check every Wang Y.
    """
    if not person.given:
        return (f"s:{person.surname}",)
    full = _full_given(person)
    if full is not None:
        return (f"f:{person.surname} {full}", f"k:{person.key}")
    return (f"i:{person.key}", f"k:{person.key}")


@lru_cache(maxsize=1 << 18)
def author_keys(person: PersonName) -> tuple[str, ...]:
    """The keys a paper author looks up (the counterpart of `follow_keys`)."""
    if not person.given:
        return (f"s:{person.surname}",)
    full = _full_given(person)
    if full is not None:
        return (f"f:{person.surname} {full}", f"i:{person.key}", f"s:{person.surname}")
    return (f"k:{person.key}", f"s:{person.surname}")


@dataclass(frozen=True, slots=True)
class CompiledAlert:
    """An alert reduced to checks on a `PaperText`; `anchor` is where the index files it."""

    alert: Alert
    groups: tuple[frozenset[str], ...] = ()  # each group: one of these terms must occur
    phrases: tuple[tuple[str, ...], ...] = ()
    people: tuple[PersonName, ...] = ()
    since: date | None = None

    @property
    def needs_check(self) -> bool:
        """Whether papers found by `candidates` must still be checked with `matches`."""
        return bool(self.phrases or self.people or self.since is not None)

    def candidates(self, terms: Mapping[str, set[int]], people: Mapping[str, set[int]]) -> set[int]:
        """Papers (batch positions) holding every required word and a followed name key.

        Posting sets are intersected smallest first; for an alert of words alone
        (`needs_check` false) this is exactly the set of matching papers.
        """
        parts: list[AbstractSet[int]] = []
        for group in self.groups:
            if len(group) == 1:
                parts.append(terms.get(next(iter(group)), _EMPTY))
            else:
                parts.append(set().union(*(terms.get(t, _EMPTY) for t in group)))
        for phrase in self.phrases:
            parts.extend(terms.get(word, _EMPTY) for word in phrase)
        for person in self.people:
            parts.append(set().union(*(people.get(k, _EMPTY) for k in follow_keys(person))))
        if not parts:
            return set()
        parts.sort(key=len)
        found = set(parts[0])
        for part in parts[1:]:
            if not found:
                break
            found &= part
        return found

    def matches(self, doc: PaperText) -> bool:
        terms = doc.terms
        for group in self.groups:
            if terms.isdisjoint(group):
                return False
        return self.check(doc)

    def check(self, doc: PaperText) -> bool:
        """`matches` for a paper `candidates` found: its words are known to be there."""
        for phrase in self.phrases:
            if not doc.has_phrase(phrase):
                return False
        for person in self.people:
            if not _person_matches(person, doc.authors):
                return False
        if self.since is not None:
            published = doc.paper.published
            if published is None or published < self.since:
                return False
        return True


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
    """Many channels' alerts, compiled once, matched against batches of new papers.

    Per batch, each paper is tokenised once and its terms that some alert needs (a set
    intersection in C) go into posting sets, as do its authors' keys (`author_keys`).
    Each alert then intersects the posting sets of its required parts, rarest first:
    what is left matches when the alert has only words; phrases, given names and
    `since:` are checked on those few papers only.
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
        self._terms = frozenset(
            term
            for c in self._alerts
            for part in (*c.groups, *(frozenset(p) for p in c.phrases))
            for term in part
        )
        self._author_keys = frozenset(
            k for c in self._alerts for p in c.people for k in follow_keys(p)
        )
        self._surnames = frozenset(p.surname for c in self._alerts for p in c.people)
        self._stems: dict[str, str] = {}
        self.last_checked = 0  # full checks in the last `match`, for benchmarks

    @property
    def size(self) -> int:
        return len(self._alerts)

    def match(self, papers: Sequence[Paper]) -> dict[str, list[PaperMatch]]:
        """Channel key -> its matching papers (in batch order), each naming all its alerts."""
        # Matching allocates hundreds of thousands of small objects and no cycles: the
        # cyclic collector, re-run on every allocation threshold over every live paper,
        # cost more than the matching itself.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._match(papers)
        finally:
            if collecting:
                gc.enable()

    def _match(self, papers: Sequence[Paper]) -> dict[str, list[PaperMatch]]:
        import numpy as np  # here: loading the command line must stay cheap

        words = [paper_words(p) for p in papers]
        docs = self._docs(papers, words)
        terms = self._term_postings(words, np)
        people = self._people_postings(docs)
        # (position, alert) pairs as flat arrays: hundreds of thousands of them, grouped
        # by channel and paper with one sort instead of a dictionary update per pair.
        positions: list[int] = []
        matched_alerts: list[int] = []
        counts: list[int] = []
        checked = 0
        for number, compiled in enumerate(self._alerts):
            matched = compiled.candidates(terms, people)
            if matched and compiled.needs_check:
                checked += len(matched)
                matched = {p for p in matched if compiled.check(docs[p])}
            if matched:
                positions.extend(matched)
                matched_alerts.append(number)
                counts.append(len(matched))
        self.last_checked = checked
        alerts = [c.alert for c in self._alerts]
        for matcher in self._extra:
            pairs = {(p, a.id): a for p, a in matcher.match(papers) if 0 <= p < len(papers)}
            for (position, _), alert in pairs.items():
                positions.append(position)
                matched_alerts.append(len(alerts))
                counts.append(1)
                alerts.append(alert)
        return _by_channel(
            papers, alerts, np.array(positions), np.repeat(matched_alerts, counts), np
        )

    def _docs(self, papers: Sequence[Paper], words: list[set[str]]) -> list[PaperText]:
        self._stems = _STEMMER.stems(set().union(*words))
        batch = BatchText(self._stems)
        return [PaperText(p, w, batch) for p, w in zip(papers, words, strict=True)]

    def _term_postings(self, words: list[set[str]], np: Any) -> dict[str, set[int]]:
        """Term -> batch positions of the papers holding it, for the terms alerts need.

        The batch's vocabulary is stemmed once; each paper's words whose stem some alert
        needs are found by one set intersection in C, and grouped by term with one sort.
        """
        ids: dict[str, int] = {}
        wanted = {
            w: ids.setdefault(s, len(ids)) for w, s in self._stems.items() if s in self._terms
        }
        if not wanted:
            return {}
        wanted_words = frozenset(wanted)
        found: list[str] = []
        counts: list[int] = []
        for doc_words in words:
            hits = wanted_words.intersection(doc_words)
            found.extend(hits)
            counts.append(len(hits))
        term_ids = np.fromiter(map(wanted.__getitem__, found), dtype=np.int64, count=len(found))
        order = np.argsort(term_ids, kind="stable")
        term_ids = term_ids[order]
        at = np.repeat(np.arange(len(words)), counts)[order].tolist()
        cuts = (np.flatnonzero(np.diff(term_ids)) + 1).tolist()
        starts = [0, *cuts]
        names = list(ids)
        return {
            names[t]: set(at[begin:stop])
            for t, begin, stop in zip(
                term_ids[starts].tolist(), starts, [*cuts, len(at)], strict=True
            )
        }

    def _people_postings(self, docs: list[PaperText]) -> dict[str, set[int]]:
        """Name key -> batch positions of papers with such an author (`author_keys`)."""
        people: dict[str, set[int]] = {}
        if not self._author_keys:
            return people
        surnames = self._surnames
        for position, doc in enumerate(docs):
            for name in doc.paper.authors:
                if not may_have_surname(name, surnames):
                    continue  # parsing every author of a batch cost more than matching
                person = parse_name(name)
                if person is None:
                    continue
                for key in self._author_keys.intersection(author_keys(person)):
                    people.setdefault(key, set()).add(position)
        return people


def _by_channel(
    papers: Sequence[Paper],
    alerts: Sequence[Alert],
    positions: Any,
    numbers: Any,
    np: Any,
) -> dict[str, list[PaperMatch]]:
    """(position, alert number) pairs as arrays -> channel key -> its papers in batch order,
    each naming every alert of that channel it matched (in id order)."""
    result: dict[str, list[PaperMatch]] = {}
    if not len(positions):
        return result
    channel_ids: dict[str, int] = {}
    channel_of = np.array([channel_ids.setdefault(a.channel, len(channel_ids)) for a in alerts])
    alert_ids = np.array([a.id for a in alerts])
    channels = channel_of[numbers]
    order = np.lexsort((alert_ids[numbers], positions, channels))
    channels, positions, numbers = channels[order], positions[order], numbers[order]
    key = channels * len(papers) + positions
    starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
    # Most (channel, paper) pairs matched one alert: every pair takes its first alert's
    # one-tuple, and only the pairs of several alerts (a few) are looked at one by one;
    # the objects are built by `map` and each channel's run of them sliced off, not
    # appended pair by pair (hundreds of thousands of pairs).
    singles = [(a,) for a in alerts]
    found = list(map(singles.__getitem__, numbers[starts].tolist()))
    ends = np.append(starts[1:], len(key))
    for group in np.flatnonzero(ends - starts > 1).tolist():
        nums = numbers[starts[group] : ends[group]].tolist()
        found[group] = tuple(alerts[n] for n in dict.fromkeys(nums))
    matches = list(map(PaperMatch, map(papers.__getitem__, positions[starts].tolist()), found))
    of = channels[starts]
    cuts = np.flatnonzero(np.concatenate(([True], of[1:] != of[:-1]))).tolist()
    names = list(channel_ids)
    for channel, begin, stop in zip(
        of[cuts].tolist(), cuts, [*cuts[1:], len(matches)], strict=True
    ):
        result[names[channel]] = matches[begin:stop]
    return result
