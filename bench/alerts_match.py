"""Benchmark alert matching: 10k new papers against 5,000 channels x 3 alerts.

    .venv/bin/python bench/alerts_match.py [--corpus PATH] [--papers 10000] [--channels 5000]

The batch is the corpus's newest papers; the alerts are synthetic but drawn from the
corpus: 40% author follows of real author names (full names, as `follow author` stores
them once the user picked a person), and saved searches of one to three real words (some
with a typo, a phrase, `author:` or `since:`) from titles of older papers, leaving out the
150 most common title words (and the 2,000 most common for one-word searches).
Prints the `AlertIndex` matching time beside a naive per-alert scan (every alert
checked against every paper) from the same run.  The naive scan runs on a sample of
the alerts (`--naive-sample`) and is scaled up; on that sample both must agree exactly.
Wall and CPU time are both printed: the machine is shared, and CPU time is what load
does not inflate.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

from corpus_papers import DEFAULT_CORPUS, load_papers

from bot.follow.matching import (
    Alert,
    AlertIndex,
    AlertKind,
    compile_alert,
)
from bot.follow.naive import match_naively
from bot.follow.speller import VocabularySpeller
from bot.models import Paper

_PUNCT = ".,:;()!?\"'"
# Nobody saves a search for "learning" or "models": the COMMON_TOP most common title words of
# the older papers are not drawn as saved-search words (they would alert on most of a batch).
COMMON_TOP = 150
# A one-word alert is drawn only from words outside the 2,000 most common title words.
ONE_WORD_TOP = 2000


def title_words(paper: Paper) -> list[str]:
    return [w.strip(_PUNCT).lower() for w in paper.title.split() if len(w.strip(_PUNCT)) > 2]


def common_words(papers: list[Paper], top: int) -> set[str]:
    counts = Counter(w for p in papers for w in set(title_words(p)))
    return {w for w, _ in counts.most_common(top)}


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 6:
        return word
    at = rng.randrange(1, len(word) - 1)
    return word[:at] + word[at + 1] + word[at] + word[at + 2 :]


def synthetic_alerts(older: list[Paper], channels: int, per: int, seed: int) -> list[Alert]:
    rng = random.Random(seed)
    common = common_words(older, COMMON_TOP)
    very_common = common_words(older, ONE_WORD_TOP)
    alerts: list[Alert] = []
    wanted = channels * per
    while len(alerts) < wanted:
        c = len(alerts) // per
        paper = rng.choice(older)
        roll = rng.random()
        if roll < 0.4 and paper.authors:
            # A stored follow is a full name: `follow author` asks "which one?" when a
            # name such as "Y. Wang" could mean several people, and stores the answer.
            query, kind = rng.choice(paper.authors), AlertKind.AUTHOR
        else:
            words = [w for w in title_words(paper) if w not in common]
            if not words:
                continue
            n = min(len(words), rng.choice((1, 2, 2, 3)))
            start = rng.randrange(0, len(words) - n + 1)
            chosen = words[start : start + n]
            if n == 1 and chosen[0] in very_common:
                continue  # a one-word alert is a specific term, not "segmentation"
            if rng.random() < 0.1:
                chosen[-1] = typo(chosen[-1], rng)
            query = " ".join(chosen)
            if n >= 2 and rng.random() < 0.15:
                query = f'"{" ".join(chosen)}"'
            if rng.random() < 0.1 and paper.authors:
                query += f' author:"{paper.authors[0].split()[-1]}"'
            if rng.random() < 0.1:
                query += " since:2025-01"
            kind = AlertKind.SEARCH
        alerts.append(Alert(len(alerts) + 1, f"slack:T1:C{c:05d}", kind, query))
    return alerts


def clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--papers", type=int, default=10_000)
    ap.add_argument("--channels", type=int, default=5_000)
    ap.add_argument("--alerts-per-channel", type=int, default=3)
    ap.add_argument("--naive-sample", type=int, default=300, help="alerts the naive scan runs")
    ap.add_argument("--seed", type=int, default=14)
    args = ap.parse_args()

    start = clock()
    steps = sum(range(10_000_000))
    wall, cpu = since(start)
    print(f"machine check: a 10M-step sum(range()) took {wall:.2f} s wall, {cpu:.2f} s CPU")
    del steps
    papers = load_papers(args.corpus)
    papers.sort(key=lambda p: (p.published or date.min, p.key))
    batch, older = papers[-args.papers :], papers[: -args.papers]
    alerts = synthetic_alerts(older, args.channels, args.alerts_per_channel, args.seed)
    print(f"batch {len(batch):,} papers; {len(alerts):,} alerts in {args.channels:,} channels")

    start = clock()
    speller = VocabularySpeller.from_papers(older[-40_000:])
    wall, cpu = since(start)
    print(f"vocabulary for typo fixes (40k papers): {wall:.2f} s wall, {cpu:.2f} s CPU")

    start = clock()
    index = AlertIndex(alerts, speller=speller)
    wall, cpu = since(start)
    print(
        f"index {index.size:,} alerts ({len(index.rejected)} rejected): "
        f"{wall:.2f} s wall, {cpu:.2f} s CPU"
    )

    start = clock()
    result = index.match(batch)
    m_wall, m_cpu = since(start)
    pairs = sum(len(matches) for matches in result.values())
    print(
        f"AlertIndex.match: {m_wall:.2f} s wall, {m_cpu:.2f} s CPU -> "
        f"{len(result):,} channels, {pairs:,} (channel, paper) pairs"
    )

    sample = random.Random(args.seed).sample(alerts, min(args.naive_sample, len(alerts)))
    compiled = [compile_alert(a, speller=speller) for a in sample]
    start = clock()
    naive = match_naively(compiled, batch)
    n_wall, n_cpu = since(start)
    scale = len(alerts) / len(sample)
    print(
        f"naive per-alert scan of {len(sample)} alerts: {n_wall:.2f} s wall, {n_cpu:.2f} s CPU; "
        f"x{scale:.0f} for all alerts: ~{n_wall * scale:.0f} s wall, ~{n_cpu * scale:.0f} s CPU"
    )
    wanted = {a.id for a in sample}
    from_index = {
        (channel, m.paper.key, a.id)
        for channel, matches in result.items()
        for m in matches
        for a in m.alerts
        if a.id in wanted
    }
    from_naive = {
        (channel, m.paper.key, a.id)
        for channel, matches in naive.items()
        for m in matches
        for a in m.alerts
    }
    same = from_index == from_naive
    print(f"index and naive scan agree on the sample: {same} ({len(from_naive):,} matches)")
    print(f"speed-up (CPU): x{n_cpu * scale / max(m_cpu, 1e-9):.0f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
