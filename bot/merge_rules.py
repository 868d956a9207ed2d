"""How two descriptions of one paper combine, field by field, in any order.

Shared by storage (`storage.paper_merge`) and the in-memory fake. Every rule is
commutative and associative, so concurrent ingests that apply overlapping records in
different orders (and in interleaved batches) store what a sequential run stores:
- counts (upvotes, comments) take the larger value;
- a field filled on both sides keeps the larger value by length, then by value
  (a publication date keeps the earlier day); an empty value never wins;
- lists are unions, sorted unless both sides are the same list; categories keep the
  smallest of the first items (the primary category) in front.

When a title-only paper is folded into the paper with its arXiv id, every row that named
the folded paper (a reading-list entry, a vote, a first share, a sent or alerted paper)
moves to the surviving paper; the `keep_*` rules below say which values stay when the
channel had a row for both papers. Nothing a channel stored is dropped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


# -- Rows that name a paper, when two stored papers become one -----------------------------
# Each rule takes the merged-away paper's row and the surviving paper's row for the same
# channel (and person, or model) and returns the values the surviving row keeps. Rows are
# mappings by column name; on a tie the surviving paper's row wins.


def _earlier(gone: Mapping[str, Any], kept: Mapping[str, Any], when: str) -> tuple[Any, Any]:
    return (gone, kept) if gone[when] < kept[when] else (kept, gone)


def keep_saved(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """A paper saved twice in a channel: the earlier save (who, when), discussed if either
    was, and the earlier save's assignee or else the other's."""
    first, second = _earlier(gone, kept, "saved_at")
    discussed = "discussed" in (str(gone["status"]), str(kept["status"]))
    return {
        "saved_by": first["saved_by"],
        "saved_at": first["saved_at"],
        "status": "discussed" if discussed else str(first["status"]),
        "assignee": first["assignee"] or second["assignee"],
    }


def keep_first_share(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """Shared twice in a channel: the earlier share is the first."""
    first, _ = _earlier(gone, kept, "shared_at")
    return {"shared_by": first["shared_by"], "shared_at": first["shared_at"]}


def keep_sent(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """Sent twice to a channel: the earlier sending."""
    first, _ = _earlier(gone, kept, "sent_at")
    return {"sent_at": first["sent_at"], "delivery_id": first["delivery_id"]}


def keep_vote(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """One person voted on both: the later vote, as a new vote replaces an old one."""
    later = gone if gone["voted_at"] > kept["voted_at"] else kept
    names = ("value", "weight", "source", "message_id", "voted_at")
    return {name: later[name] for name in names}


def keep_alert_item(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """Alerted twice to a channel: the earlier alert message's item, naming every alert."""
    first = (
        gone
        if (gone["delivery_id"], gone["position"])
        < (
            kept["delivery_id"],
            kept["position"],
        )
        else kept
    )
    return {
        "delivery_id": first["delivery_id"],
        "position": first["position"],
        "alerts": union(kept["alerts"] or [], gone["alerts"] or []),
    }


def keep_survivor(gone: Mapping[str, Any], kept: Mapping[str, Any]) -> dict[str, Any]:
    """Derived data (a vector): the surviving paper's own row."""
    return {}


def follow_keys(keys: Sequence[int], moves: Mapping[int, int]) -> list[int]:
    """A stored list of paper keys with merged-away keys replaced, each key once, in order."""
    return list(dict.fromkeys(moves.get(key, key) for key in keys))


def follow_notes(notes: Mapping[int, _T], moves: Mapping[int, int]) -> dict[int, _T]:
    """Notes by paper key re-keyed to the surviving papers; a surviving paper's own note
    wins over a merged-away one's."""
    followed = {key: note for key, note in notes.items() if key not in moves}
    for key, note in notes.items():
        if key in moves:
            followed.setdefault(moves[key], note)
    return followed
