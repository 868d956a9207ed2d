"""Alert matching: which papers of a new batch match which channels' follows and saved searches.

The alerts are compiled once into an index, not searched one by one. Per batch, each
paper is tokenised once, and every distinct part of the alerts (a word, a followed
person, a `since:` date) becomes a bitset of the papers that have it: the words by one
set intersection per paper and one numpy pass, the people through the batch's authors
filed under name keys (`bot.follow.authors`: following `Yi Wang` does not mean looking
at every `Wang Y`). An alert's papers are the AND of its parts' bitsets; only phrases
are checked paper by paper, on the papers holding all their words. The cost grows with
the batch, the alerts and the matches, not with the product of batch and alerts.

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
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple, Protocol

from bot.follow.authors import BatchPeople, follow_keys, person_matches
from bot.follow.bitsets import from_pairs, to_pairs
from bot.follow.names import PersonName, parse_name
from bot.follow.stream import BatchTerms
from bot.follow.text import _STEMMER, LEXICON, PaperText, batch_tokens
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
    tuple is built in C (`AlertIndex.match` builds them with `tuple.__new__`).
    """

    paper: Paper
    alerts: tuple[Alert, ...]


class Speller(Protocol):
    """Known words a query word may be a typo of (none when the word itself is known)."""

    def corrections(self, word: str) -> Iterable[str]: ...


class AlertMatcher(Protocol):
    """Extra matching beside words and names (e.g. semantic): (paper position, alert) pairs."""

    def match(self, papers: Sequence[Paper]) -> Iterable[tuple[int, Alert]]: ...


@dataclass(frozen=True, slots=True)
class CompiledAlert:
    """An alert reduced to its parts: checked on a `PaperText` by the naive matcher, turned
    into bitset slots by `AlertIndex`."""

    alert: Alert
    groups: tuple[frozenset[str], ...] = ()  # each group: one of these terms must occur
    phrases: tuple[tuple[str, ...], ...] = ()
    people: tuple[PersonName, ...] = ()
    since: date | None = None

    def matches(self, doc: PaperText) -> bool:
        terms = doc.terms
        for group in self.groups:
            if terms.isdisjoint(group):
                return False
        return self.check(doc)

    def check(self, doc: PaperText) -> bool:
        """`matches` without the words."""
        for phrase in self.phrases:
            if not doc.has_phrase(phrase):
                return False
        for person in self.people:
            if not any(person_matches(person, author) for author in doc.authors):
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


_Slot = frozenset[int] | tuple[int, ...] | PersonName | date


class AlertIndex:
    """Many channels' alerts, compiled once, matched against batches of new papers.

    Each distinct part of the alerts (a group of words, a followed person, a `since:`
    date) is a slot. Per batch, every slot becomes a bitset of the papers that satisfy
    it (`bot.follow.bitsets`): the terms from each paper's words by one set intersection
    and one numpy pass, the people from the batch's authors filed under name keys, the
    dates by one comparison. An alert's papers are then the AND of its slots, and only
    phrases are checked paper by paper, on the few papers holding all their words.
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
        # Term -> its row in the batch's term bitsets; slot -> what it stands for: a word
        # group (term rows, one of which must occur), a phrase (term rows in order), a
        # person or a date. Each alert is the tuple of its slots.
        self._term_ids: dict[str, int] = {}
        slots: dict[_Slot, int] = {}
        self._plans: list[tuple[int, ...]] = []
        for c in self._alerts:
            row = self._term_row
            parts: list[_Slot] = [frozenset(map(row, g)) for g in c.groups]
            parts.extend(tuple(map(row, phrase)) for phrase in c.phrases)
            parts.extend(c.people)
            if c.since is not None:
                parts.append(c.since)
            self._plans.append(tuple(dict.fromkeys(slots.setdefault(p, len(slots)) for p in parts)))
        self._slots = list(slots)
        self._phrases = [s for s in self._slots if isinstance(s, tuple)]
        self._author_keys = frozenset(
            k for c in self._alerts for p in c.people for k in follow_keys(p)
        )
        self._surnames = frozenset(p.surname for c in self._alerts for p in c.people)
        # Per lexicon number, its term row (-1 none, -2 the separator), for the numbering
        # of `_lexicon_stems` (`LEXICON.stems` when last matched): extended as it grows.
        self._lexicon_rows: list[int] = []
        self._lexicon_stems: list[str] | None = None

    def _term_row(self, term: str) -> int:
        return self._term_ids.setdefault(term, len(self._term_ids))

    @property
    def size(self) -> int:
        return len(self._alerts)

    def match(self, papers: Sequence[Paper]) -> dict[str, list[PaperMatch]]:
        """Channel key -> its matching papers (in batch order), each naming all its alerts."""
        # Matching allocates many small objects and no cycles: the cyclic collector, re-run
        # on every allocation threshold over every live paper, cost more than matching.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._match(papers)
        finally:
            if collecting:
                gc.enable()

    def _match(self, papers: Sequence[Paper]) -> dict[str, list[PaperMatch]]:
        import numpy as np  # here: loading the command line must stay cheap

        # A thousand papers at a time: their words' strings are freed before the next
        # chunk's are made, so the memory is reused rather than grown to all 2 million.
        chunks = (batch_tokens(papers[i : i + 1000]) for i in range(0, len(papers), 1000))
        numbers, stems = LEXICON.number(chunks, np)
        stream = BatchTerms(self._rows(stems, np)[numbers], len(papers), np)
        slots = self._slot_bits(papers, stream, np)
        matched: list[int] = []
        found: list[int] = []
        for number, ids in enumerate(self._plans):
            bits = slots[ids[0]]
            for slot in ids[1:]:
                if not bits:
                    break
                bits &= slots[slot]
            if bits:
                matched.append(number)
                found.append(bits)
        rows, at = to_pairs(found, len(papers), np)
        which = np.array(matched, dtype=np.int64)[rows]
        alerts = [c.alert for c in self._alerts]
        extra_at: list[int] = []
        for matcher in self._extra:
            pairs = {(p, a.id): a for p, a in matcher.match(papers) if 0 <= p < len(papers)}
            for (position, _), alert in pairs.items():
                extra_at.append(position)
                alerts.append(alert)
        if extra_at:
            at = np.concatenate((at, extra_at))
            which = np.concatenate((which, np.arange(len(self._alerts), len(alerts))))
        return _by_channel(papers, alerts, at, which, np)

    def _rows(self, stems: list[str], np: Any) -> Any:
        """Per lexicon number, its term row, as an array (`stems`: the lexicon's stems)."""
        if stems is not self._lexicon_stems:
            self._lexicon_rows, self._lexicon_stems = [], stems
        if len(self._lexicon_rows) < len(stems):
            get = self._term_ids.get
            self._lexicon_rows.extend(
                map(get, stems[len(self._lexicon_rows) :], itertools.repeat(-1))
            )
            self._lexicon_rows[0] = -2
        return np.array(self._lexicon_rows, dtype=np.int64)

    def _slot_bits(self, papers: Sequence[Paper], stream: BatchTerms, np: Any) -> list[int]:
        """The bitset of papers satisfying each slot."""
        terms = stream.term_bits(len(self._term_ids))
        phrases = iter(stream.phrase_bits(self._phrases, len(self._term_ids)))
        people = BatchPeople(papers, self._author_keys, self._surnames, np)
        published = None
        bits: list[int] = []
        for slot in self._slots:
            if isinstance(slot, frozenset):
                found = 0
                for row in slot:
                    found |= terms[row]
            elif isinstance(slot, tuple):
                found = next(phrases)
            elif isinstance(slot, PersonName):
                found = people.papers_of(slot)
            else:
                if published is None:  # ordinals, -1 for an undated paper
                    published = np.array(
                        [p.published.toordinal() if p.published else -1 for p in papers]
                    )
                since = np.flatnonzero(published >= slot.toordinal())
                found = from_pairs(np.zeros(len(since), np.int64), since, 1, len(papers), np)[0]
            bits.append(found)
        return bits


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
    # `tuple.__new__` by `starmap` builds the named tuples in C (`PaperMatch(...)` is a
    # Python-level call each).
    pairs = zip(map(papers.__getitem__, positions[starts].tolist()), found, strict=True)
    matches = list(map(tuple.__new__, itertools.repeat(PaperMatch), pairs))
    of = channels[starts]
    cuts = np.flatnonzero(np.concatenate(([True], of[1:] != of[:-1]))).tolist()
    names = list(channel_ids)
    for channel, begin, stop in zip(
        of[cuts].tolist(), cuts, [*cuts[1:], len(matches)], strict=True
    ):
        result[names[channel]] = matches[begin:stop]
    return result
