"""One work under several ids: an arXiv preprint and its ACL Anthology paper, or a paper
in both a workshop and the main conference. How to tell, and how to show it once.

Two stored papers are versions of the same work when their titles fold to the same key
(`bot.text.title_key`) and their authors agree: at least half of the shorter author list
is shared (by `bot.follow.names.name_key`, so `Y. LeCun` and `Yann LeCun` are one), and
either the first authors are the same person or three quarters are shared. A title alone
is never enough: different papers with generic titles ("Universal Dependencies", shared
task overviews of different years, "Introduction") have different authors, and a paper
without authors is never folded. In the 138k-paper corpus 73 titles occur twice; this
rule folds 67 of them and keeps 6 apart (different teams, different editions).

`fold` applies it to a ranked list, keeping the first (best-ranked) item of each work and
attaching the later ones to it; search, trending and digest planning use it, and cards
show every version's link. Nothing is stored: the key is computed when read, so no
migration is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from typing import TypeVar

from bot.follow.names import name_key
from bot.models import Paper
from bot.text import title_key

T = TypeVar("T")


@lru_cache(maxsize=65536)
def _author_key(name: str) -> str | None:
    return name_key(name)


def author_keys(paper: Paper) -> list[str]:
    """The paper's authors as name keys, in order, without blanks."""
    keys = (_author_key(name) for name in paper.authors if name and name.strip())
    return [key for key in keys if key]


def same_work(a: Paper, b: Paper) -> bool:
    """True when `a` and `b` are versions of one work (the rule in the module docstring)."""
    if a.key == b.key:
        return True
    if (a.paper_id is not None and a.paper_id == b.paper_id) or not a.title:
        return False
    if title_key(a.title) != title_key(b.title):
        return False
    first, second = author_keys(a), author_keys(b)
    if not first or not second:
        return False
    shared = len(set(first) & set(second))
    smaller = min(len(set(first)), len(set(second)))
    if 2 * shared < smaller:
        return False
    return first[0] == second[0] or 4 * shared >= 3 * smaller


def fold(
    items: Sequence[T], *, title: Callable[[T], str], paper: Callable[[T], Paper]
) -> list[tuple[T, list[T]]]:
    """`items` in order, each later version of a work attached to the work's first item.

    `title` must be cheap (it is asked for every item); `paper` is asked only for items
    whose title another item shares, so a search folds its candidates without reading
    every document.
    """
    keys = [title_key(title(item)) for item in items]
    counts: dict[str, int] = {}
    for key in keys:
        counts[key] = counts.get(key, 0) + 1
    folded: list[tuple[T, list[T]]] = []
    leaders: dict[str, list[tuple[Paper, list[T]]]] = {}
    for item, key in zip(items, keys, strict=True):
        if counts[key] < 2 or not key:
            folded.append((item, []))
            continue
        current = paper(item)
        group = next((g for lead, g in leaders.get(key, []) if same_work(lead, current)), None)
        if group is not None:
            group.append(item)
            continue
        later: list[T] = []
        leaders.setdefault(key, []).append((current, later))
        folded.append((item, later))
    return folded


def versions_of(paper: Paper, candidates: Iterable[Paper]) -> tuple[Paper, ...]:
    """The other versions of `paper` among `candidates` (e.g. papers sharing its title)."""
    return tuple(c for c in candidates if c.key != paper.key and same_work(paper, c))


def version_link(paper: Paper) -> tuple[str, str] | None:
    """A label and link for one version: `arXiv 2410.17243`, `ACL Anthology 2024.acl-long.1`."""
    if paper.url is None or paper.paper_id is None:
        return None
    where = "arXiv" if paper.is_arxiv else "ACL Anthology"
    return f"{where} {paper.paper_id}", paper.url
