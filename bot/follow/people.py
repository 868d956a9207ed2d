"""Which person a followed name means: authors of a corpus grouped into people.

`follow author "Y. Wang"` may mean Yi, Yu or Yang Wang. `AuthorIndex` groups a corpus's
author spellings into people by the identity rules of `bot.follow.names`, keeps each
person's newest papers, and answers with the candidates; `choose` picks one when the
name leaves no doubt, else the user is shown the candidates and asked.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Generic, Protocol, TypeVar

from bot.follow.names import PersonName, given_compatible, parse_name

__all__ = ["AuthorIndex", "Candidate", "candidates", "choose"]


class _Dated(Protocol):
    @property
    def published(self) -> date | None: ...


P = TypeVar("P", bound=_Dated)


@dataclass(frozen=True, slots=True)
class Candidate(Generic[P]):
    """One person a followed name may mean: how they are written, how often, and lately what."""

    name: str  # the most frequent spelling in the corpus
    person: PersonName
    papers: int
    recent: tuple[P, ...]
    spellings: tuple[str, ...] = ()

    @property
    def latest(self) -> date | None:
        return self.recent[0].published if self.recent else None


@dataclass(slots=True)
class _Group(Generic[P]):
    person: PersonName
    count: int = 0
    spellings: Counter[str] = field(default_factory=Counter)
    # A min-heap of (published ordinal, sequence, paper): the newest `keep` papers.
    recent: list[tuple[int, int, P]] = field(default_factory=list)


_seq = itertools.count()


class AuthorIndex(Generic[P]):
    """Authors of a corpus grouped into people, by name key, for `follow author` lookups."""

    def __init__(self, keep_recent: int = 3) -> None:
        self._keep = keep_recent
        # name key (`wang y`) -> person key (`yi wang`) -> group; a surname-only follow
        # scans the keys of that surname, found through `_by_surname`.
        self._groups: dict[str, dict[str, _Group[P]]] = {}
        self._by_surname: dict[str, set[str]] = {}
        self.names_seen = 0

    @classmethod
    def build(cls, entries: Iterable[tuple[str, P]], keep_recent: int = 3) -> AuthorIndex[P]:
        index: AuthorIndex[P] = cls(keep_recent)
        index.add(entries)
        return index

    def add(self, entries: Iterable[tuple[str, P]]) -> None:
        keep = self._keep
        for raw, paper in entries:
            person = parse_name(raw)
            if person is None:
                continue
            self.names_seen += 1
            key = person.key
            groups = self._groups.get(key)
            if groups is None:
                groups = self._groups[key] = {}
                self._by_surname.setdefault(person.surname, set()).add(key)
            pkey = person.person_key
            group = groups.get(pkey)
            if group is None:
                group = groups[pkey] = _Group(PersonName(person.surname, person.given[:1]))
            group.count += 1
            group.spellings[raw] += 1
            day = paper.published.toordinal() if paper.published else 0
            item = (day, next(_seq), paper)
            if len(group.recent) < keep:
                heapq.heappush(group.recent, item)
            elif day > group.recent[0][0]:
                heapq.heapreplace(group.recent, item)

    @property
    def key_count(self) -> int:
        return len(self._groups)

    def people(self) -> Iterable[tuple[str, list[str]]]:
        """Every name key with the person keys grouped under it (for measurements)."""
        for key, groups in self._groups.items():
            yield key, list(groups)

    def candidates(self, followed: str) -> list[Candidate[P]]:
        """The distinct people `followed` may mean, most papers first.

        A group known only by initials (`Y. LeCun`) is folded into the one full-name group
        it can belong to; when there are several (`Y. Wang`: Yi, Yu, Yang…) it stays a
        candidate of its own, because nobody can tell whose it is.
        """
        wanted = parse_name(followed)
        if wanted is None:
            return []
        keys = [wanted.key] if wanted.given else sorted(self._by_surname.get(wanted.surname, ()))
        block = [g for key in keys for g in self._groups.get(key, {}).values()]
        # Homes are looked for among all people of the block, not only those wanted: a
        # `Y. Wang` is not Yi's when a Yu Wang exists, even if only Yi was asked for.
        every_full = [g for g in block if g.person.has_full_first]
        found = [g for g in block if given_compatible(wanted.given, g.person.given)]
        merged: dict[int, list[_Group[P]]] = {id(g): [g] for g in found if g.person.has_full_first}
        for group in found:
            if group.person.has_full_first:
                continue
            homes = [g for g in every_full if given_compatible(group.person.given, g.person.given)]
            if len(homes) == 1 and id(homes[0]) in merged:
                merged[id(homes[0])].append(group)
            elif len(homes) == 1:
                continue  # it is someone else's, who was not asked for
            else:
                merged[id(group)] = [group]
        result = [self._candidate(parts) for parts in merged.values()]
        result.sort(key=lambda c: (-c.papers, -(c.latest or date.min).toordinal(), c.name))
        return result

    def _candidate(self, parts: list[_Group[P]]) -> Candidate[P]:
        spellings: Counter[str] = Counter()
        recent: list[tuple[int, int, P]] = []
        for group in parts:
            spellings.update(group.spellings)
            recent.extend(group.recent)
        recent.sort(key=lambda item: (-item[0], item[1]))
        return Candidate(
            name=spellings.most_common(1)[0][0],
            person=parts[0].person,
            papers=sum(g.count for g in parts),
            recent=tuple(paper for _, _, paper in recent[: self._keep]),
            spellings=tuple(s for s, _ in spellings.most_common()),
        )


def choose(followed: str, found: Sequence[Candidate[P]]) -> Candidate[P] | None:
    """The one person `followed` names among `found`, or None when the user must pick.

    One candidate is the answer.  A followed name with a full first name picks the one
    candidate with that full first name, ignoring groups known only by initials (they
    may or may not be that person; matching accepts them either way).
    """
    if len(found) == 1:
        return found[0]
    wanted = parse_name(followed)
    if wanted is None or not wanted.has_full_first:
        return None
    full = [c for c in found if c.person.has_full_first]
    return full[0] if len(full) == 1 else None


def candidates(
    followed: str, entries: Iterable[tuple[str, P]], keep_recent: int = 3
) -> list[Candidate[P]]:
    """The people `followed` may mean among `(author name, paper)` pairs, most papers first.

    One pass over `entries`; to answer many look-ups, build an `AuthorIndex` once.
    """
    wanted = parse_name(followed)
    if wanted is None:
        return []

    def relevant() -> Iterable[tuple[str, P]]:
        for raw, paper in entries:
            person = parse_name(raw)
            if person is not None and person.surname == wanted.surname:
                yield raw, paper

    return AuthorIndex.build(relevant(), keep_recent).candidates(followed)
