"""Followed people in a batch: which papers have an author a followed name can be.

A paper author is filed under the keys `author_keys` gives it, and a follow is looked up
under `follow_keys`: a follow of `Yi Wang` finds the authors written `Yi Wang`, `Y. Wang`
or `Wang` but not every `Yu Wang`. Under each key the batch keeps each distinct author
name with the papers that have it, so whether a follow means that author is decided
once per name (`person_matches`), not once per paper.
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from typing import Any

from bot.follow.bitsets import from_pairs
from bot.follow.names import PersonName, given_compatible, may_have_surname, parse_name
from bot.models import Paper

__all__ = ["BatchPeople", "author_keys", "follow_keys", "person_matches"]


def person_matches(wanted: PersonName, author: PersonName) -> bool:
    """Whether a paper author can be the followed person.

    An author known by surname alone is too little to fire a follow of a full name.
    """
    return author.surname == wanted.surname and (
        not wanted.given or bool(author.given and given_compatible(wanted.given, author.given))
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


class BatchPeople:
    """A batch's authors that some follow may mean, under the keys follows look up."""

    def __init__(
        self,
        papers: Sequence[Paper],
        keys: frozenset[str],
        surnames: AbstractSet[str],
        np: Any,
    ) -> None:
        # key -> (author, row) of each author name filed there; a name is one row of the
        # (row, paper) pairs whatever its keys, so its bitset is built once.
        self._by_key: dict[str, list[tuple[PersonName, int]]] = {}
        rows: list[int] = []
        at: list[int] = []
        nrows = 0
        if keys:
            # Name as written -> its row, -1 when no follow can mean it: a name is looked
            # at once per batch, by its string (hashed once) rather than its parse.
            named: dict[str, int] = {}
            for position, paper in enumerate(papers):
                for name in paper.authors:
                    row = named.get(name)
                    if row is None:
                        row = named[name] = self._file(name, keys, surnames, nrows)
                        nrows += row >= 0
                    if row >= 0:
                        rows.append(row)
                        at.append(position)
        self._bits = from_pairs(np.array(rows), np.array(at), nrows, len(papers), np)

    def _file(self, name: str, keys: frozenset[str], surnames: AbstractSet[str], row: int) -> int:
        if not may_have_surname(name, surnames):
            return -1  # parsing every author of a batch cost more than matching
        person = parse_name(name)
        if person is None:
            return -1
        found = keys.intersection(author_keys(person))
        if not found:
            return -1
        for key in found:
            self._by_key.setdefault(key, []).append((person, row))
        return row

    def papers_of(self, wanted: PersonName) -> int:
        """The papers with an author who can be `wanted` (a bitset)."""
        bits = 0
        for key in follow_keys(wanted):
            for author, row in self._by_key.get(key, ()):
                if person_matches(wanted, author):
                    bits |= self._bits[row]
        return bits
