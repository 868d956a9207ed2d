"""Papers named by key, as the buttons of cards name them (Save, 👍/👎, More like this).

A button keeps the key its card was drawn with. When that paper has since been merged
(a title-only paper folded into the paper with its arXiv id, `bot.merge_rules`), the key
leads to the surviving paper, so the press acts on it; only a paper that is really gone
answers so.
"""

from __future__ import annotations

from bot.models import Paper
from bot.ports import UnitOfWorkFactory

GONE = "That paper is no longer stored."


def paper_by_key(uow: UnitOfWorkFactory, key: int) -> Paper | str:
    """The paper behind a button's `key` (its survivor if merged), or why there is none."""
    with uow() as unit:
        paper = unit.papers.get(key)
    return paper if paper is not None else GONE
