"""How two descriptions of one paper combine, field by field, in any order.

Shared by storage (`storage.paper_merge`) and the in-memory fake. Every rule is
commutative and associative, so concurrent ingests that apply overlapping records in
different orders (and in interleaved batches) store what a sequential run stores:
- counts (upvotes, comments) take the larger value;
- a field filled on both sides keeps the larger value by length, then by value
  (a publication date keeps the earlier day); an empty value never wins;
- lists are unions, sorted unless both sides are the same list; categories keep the
  smallest of the first items (the primary category) in front.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any, TypeVar

_T = TypeVar("_T")


def _empty(value: object) -> bool:
    return value is None or value == ""


def greater(old: _T, new: _T) -> _T:
    """The larger of two values by length of their text, then by the text."""
    return max(old, new, key=lambda v: (len(str(v)), str(v)))


def fill(old: Any, new: Any) -> Any:
    """`old` unless it is empty; when both are filled, the larger (the earlier date)."""
    if _empty(new):
        return old
    if _empty(old) or old == new:
        return new
    if isinstance(old, date) and isinstance(new, date):
        return min(old, new)
    return greater(old, new)


def count(old: int | None, new: int | None) -> int | None:
    """The larger known count."""
    if old is None:
        return new
    return old if new is None else max(old, new)


def more_authors(old: Sequence[str], new: Sequence[str]) -> Sequence[str]:
    """The longer author list (a source that names the authors beats one that counts them)."""
    return new if (len(new), list(new)) > (len(old), list(old)) else old


def union(old: Sequence[str], new: Sequence[str], *, primary: bool = False) -> list[str]:
    """Both lists' items, sorted; with `primary`, the smaller of the two first items leads.

    Sorted so that the result does not depend on which list came first; a list merged
    with itself stays as it is.
    """
    if list(old) == list(new):
        return list(old)
    items = set(old) | set(new)
    firsts = [values[0] for values in (old, new) if values]
    if not primary or not firsts:
        return sorted(items)
    lead = min(firsts)
    return [lead, *sorted(items - {lead})]
