"""Fixtures for search tests: the 195 seed papers as `Paper` objects, and small builders.

The seed captures are parsed here with a deliberately tiny heuristic (an abstract is a
long line; the title is the non-empty line before it), so these tests do not depend on
the ingest package.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from itertools import islice
from pathlib import Path

import pytest

from bot.models import Paper
from bot.search.engine import PaperIndex
from bot.text import title_key
from tests.conftest import CORPUS, SEEDS

# The seed captures are committed in the project; the corpus is found as the other tests
# find it (PAPERS_SHARED_DIR, else ../shared), so `.ci/run` from any clone runs these.
SEEDS_DIR: Path = SEEDS


def seed_papers() -> list[Paper]:
    """The distinct papers of the four seed captures, keys 1..N in file order."""
    papers: dict[str, Paper] = {}
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        lines = [ln for ln in lines if ln]
        for i, line in enumerate(lines):
            if len(line) < 200 or i == 0:
                continue
            title = lines[i - 1]
            key = title_key(title)
            if key and key not in papers:
                papers[key] = Paper(key=len(papers) + 1, title=title, abstract=line)
    return list(papers.values())


def corpus_papers(limit: int, start_key: int = 10_000) -> Iterator[Paper]:
    """The first `limit` papers of the shared 138k corpus."""
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(islice(fh, limit)):
            row = json.loads(line)
            published = row.get("published")
            yield Paper(
                key=start_key + i,
                title=row["title"],
                abstract=row.get("abstract"),
                authors=tuple(row.get("authors") or ()),
                published=date.fromisoformat(published) if published else None,
                paper_id=row.get("id"),
            )


@pytest.fixture(scope="session")
def seeds() -> list[Paper]:
    if not SEEDS_DIR.is_dir():
        pytest.skip(f"seed captures not found at {SEEDS_DIR}")
    return seed_papers()


@pytest.fixture(scope="session")
def seed_index(seeds: list[Paper]) -> PaperIndex:
    return PaperIndex.build(seeds)
