"""Offsets from buttons are hostile: the engine clamps them before asking tantivy."""

from __future__ import annotations

from bot.paging import MAX_OFFSET
from bot.search.engine import PaperIndex


def test_huge_offset_returns_no_page_instead_of_allocating(seed_index: PaperIndex) -> None:
    # 10^12 once made tantivy allocate 16 TB and abort the process.
    results = seed_index.search("speech", limit=5, offset=1_000_000_000_000)
    assert results.cards == ()


def test_offset_past_int64_does_not_panic(seed_index: PaperIndex) -> None:
    # 2^63 made tantivy panic (pyo3 PanicException, a BaseException).
    assert seed_index.search("speech", limit=5, offset=2**63).cards == ()
    assert seed_index.search("speech", limit=2**63, offset=0).total > 0


def test_offsets_within_the_cap_still_page(seed_index: PaperIndex) -> None:
    first = seed_index.search("model", limit=3)
    second = seed_index.search("model", limit=3, offset=3)
    assert [c.rank for c in second.cards] == [4, 5, 6]
    assert not {c.paper.key for c in first.cards} & {c.paper.key for c in second.cards}
    assert seed_index.search("model", limit=3, offset=MAX_OFFSET + 1).cards == ()
