"""Writes a corpus of N papers as JSONL.gz for the 1M-paper measurements.

The real 138k corpus comes first, unchanged; the rest are bench/search.py's synthetic
papers (titles spliced from two real ones, abstracts of real sentences, real author
names and dates), so word frequencies stay realistic. Each synthetic paper gets the id
`synthetic-N` and the source `synthetic`, which no real record uses, so an ingest never
merges one into a real paper by id.

    .venv/bin/python bench/make_corpus.py --papers 1000000 --out /tmp/papers-1m.jsonl.gz

`bench/startup.py --corpus /tmp/papers-1m.jsonl.gz` then measures cold start at 1M.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from search import DEFAULT_CORPUS, extend_corpus, load_corpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    real = load_corpus(args.corpus, limit=args.papers)
    rows = extend_corpus(real, args.papers, random.Random(args.seed))
    partial = args.out.with_name(args.out.name + ".partial")
    with gzip.open(partial, "wt", encoding="utf-8", compresslevel=3) as out:
        # The real papers are copied line for line, so their ids and sources survive.
        with gzip.open(args.corpus, "rt", encoding="utf-8") as source:
            out.writelines(islice(source, len(real)))
        for row in rows[len(real) :]:
            record = {
                "id": f"synthetic-{row.key}",
                "title": row.title,
                "abstract": row.abstract,
                "authors": list(row.authors),
                "published": row.published,
                "source": "synthetic",
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    partial.replace(args.out)
    print(f"{args.out}: {len(real):,} real + {len(rows) - len(real):,} synthetic papers")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
