"""The shared corpus (`../shared/corpus/papers.jsonl.gz`) as `Paper`s, for the benchmarks."""

from __future__ import annotations

import gzip
import json
from datetime import date
from pathlib import Path

from bot.models import Paper

DEFAULT_CORPUS = (
    Path(__file__).resolve().parents[1] / ".." / "shared" / "corpus" / "papers.jsonl.gz"
)


def load_papers(path: Path) -> list[Paper]:
    """Every corpus line as a `Paper`, keyed by line number."""
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for i, line in enumerate(fh):
            row = json.loads(line)
            published = row.get("published")
            papers.append(
                Paper(
                    key=i,
                    title=row["title"],
                    paper_id=row.get("id"),
                    abstract=row.get("abstract"),
                    authors=tuple(row.get("authors") or ()),
                    published=date.fromisoformat(published) if published else None,
                )
            )
    return papers
