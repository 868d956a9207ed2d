"""Measure author-name identity on the real corpus: index build time and how ambiguous names are.

    .venv/bin/python bench/author_index.py [--corpus ../shared/corpus/papers.jsonl.gz]

Prints how many author names the corpus has (raw spellings, name keys such as `wang y`,
people such as `yi wang`), how many name keys stand for more than one person, the most
ambiguous keys, and how long parsing and grouping all names takes (wall and CPU).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

from corpus_papers import DEFAULT_CORPUS, load_papers

from bot.follow.names import parse_name
from bot.follow.people import AuthorIndex


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    papers = load_papers(args.corpus)
    pairs = [(name, paper) for paper in papers for name in paper.authors]
    wall, cpu = time.perf_counter(), time.process_time()
    index = AuthorIndex.build(pairs)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    raw = {name for name, _ in pairs}
    people = Counter[str]()
    full_people = 0
    ambiguous = 0
    for key, persons in index.people():
        full = [p for p in persons if len(p.split(" ", 1)[0]) > 1]
        full_people += len(full)
        people[key] = len(full)
        if len(full) > 1:
            ambiguous += 1
    initial_only = sum(
        1
        for name in raw
        if (p := parse_name(name)) is not None and p.given and not p.has_full_first
    )
    print(f"papers                      {len(papers):,}")
    print(f"author names (with repeats) {len(pairs):,}")
    print(f"distinct spellings          {len(raw):,}")
    print(f"  given as initials only    {initial_only:,}")
    print(f"name keys (surname+initial) {index.key_count:,}")
    print(f"people (surname+first name) {full_people:,}")
    print(f"keys naming >1 person       {ambiguous:,} ({ambiguous / index.key_count:.1%})")
    print(f"build: {wall:.2f} s wall, {cpu:.2f} s CPU (parse + group {len(pairs):,} names)")
    print("most ambiguous keys (people sharing surname and first initial):")
    for key, n in people.most_common(args.top):
        found = index.candidates(key.split(" ")[1] + ". " + key.split(" ")[0])
        top = ", ".join(f"{c.name} ({c.papers})" for c in found[:4])
        print(f"  {key:<14} {n:>4} people; top: {top}")
    t = time.perf_counter()
    for probe in ("Y. Wang", "Yann LeCun", "Y. LeCun", "Christopher D. Manning", "Smith"):
        found = index.candidates(probe)
        head = ", ".join(f"{c.name} ({c.papers}, latest {c.latest})" for c in found[:3])
        print(f"  {probe!r}: {len(found)} candidates: {head}")
    print(f"5 look-ups: {(time.perf_counter() - t) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
