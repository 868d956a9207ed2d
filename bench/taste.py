"""Benchmark channel taste (issue 13): precision@5 of digests over 30 simulated days.

    .venv/bin/python bench/taste.py [--corpus PATH] [--days 30] [--seeds 3,7,11] [--plot PNG]

Channels: six, each with a hidden interest taken from the corpus itself, an ACL Anthology
venue family read from the paper ids (`2023.bionlp-1.5` is BioNLP). Each simulated day
brings new papers: 150 drawn from every other ACL paper of 2019 on, plus 6 from each
channel's venue (so a perfect digest of 5 is possible every day). Each channel gets a
digest of 5 from that day's papers, chosen three ways:
- trending: the day's order (these papers carry no upvotes, so trending is recency, and
  within one day a fixed random order);
- keyword: a subscription with the interest's obvious keyword (`bot.trending.score`
  keyword matching), in that same order;
- taste: the same subscription plus the channel's votes so far, through the code the
  digest planner runs (`bot.taste`: TF-IDF features, logistic regression, trending prior,
  one exploration slot in five); in cold start it is the keyword digest.
Three members look at each taste digest; each votes on each paper with probability 0.7:
👍 inside the interest, 👎 outside it, and 20% of the votes are flipped (noise).
Precision@5 counts papers inside the interest among the 5 slots (a short digest counts its
empty slots as misses). Also prints the retrain time of one channel with 500 votes beside
the feature fit of the day's pool from the same run.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from corpus_papers import DEFAULT_CORPUS, load_papers

from bot.models import ChannelRef, Paper, Platform
from bot.taste.channel import TasteRanker, effective_votes
from bot.taste.dense import EmbeddingFeatures
from bot.taste.features import PaperFeatures, StackedFeatures, TfidfFeatures
from bot.taste.votes_port import Vote
from bot.trending.score import matches_keywords

# Interest (venue family in the ids) -> the obvious keyword a channel would subscribe with.
INTERESTS = {
    "bionlp": "biomedical",
    "wmt": "machine translation",
    "semeval": "shared task",
    "sigdial": "dialogue",
    "bea": "education",
    "iwslt": "speech translation",
}
_NEW_ID = re.compile(r"^(?P<year>\d{4})\.(?P<venue>[a-z0-9]+)-")
PER_INTEREST = 6
BACKGROUND = 150
MEMBERS = 3
VOTE_PROBABILITY = 0.7
NOISE = 0.2
TOP = 5
WINDOW = 3


def venue(paper: Paper) -> str | None:
    m = _NEW_ID.match(paper.paper_id or "")
    if m is None or int(m["year"]) < 2019:
        return None
    return m["venue"]


def daily_papers(papers: list[Paper], days: int, rng: random.Random) -> list[list[Paper]]:
    """Each simulated day's new papers, in that day's "trending" order."""
    by_venue: dict[str, list[Paper]] = {v: [] for v in INTERESTS}
    others: list[Paper] = []
    for p in papers:
        v = venue(p)
        if v is None:
            continue
        by_venue.get(v, others).append(p)
    for pool in [*by_venue.values(), others]:
        rng.shuffle(pool)
    out = []
    for day in range(days):
        today = [*others[day * BACKGROUND : (day + 1) * BACKGROUND]]
        for v in INTERESTS:
            today += by_venue[v][day * PER_INTEREST : (day + 1) * PER_INTEREST]
        rng.shuffle(today)  # the day's "trending" order
        out.append(today)
    return out


def make_ranker(features: PaperFeatures | None, min_votes: int | None) -> TasteRanker:
    ranker = TasteRanker() if features is None else TasteRanker(features=features)
    if min_votes is not None:
        ranker.min_votes = min_votes
    return ranker


def simulate(
    papers: list[Paper],
    days: int,
    seed: int,
    min_votes: int | None,
    features: PaperFeatures | None = None,
) -> dict[str, list[list[float]]]:
    rng = random.Random(seed)
    schedule = daily_papers(papers, days, rng)
    ranker = make_ranker(features, min_votes)
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    votes: dict[str, list[Vote]] = {v: [] for v in INTERESTS}
    seen: dict[int, Paper] = {}
    results: dict[str, list[list[float]]] = {m: [] for m in ("trending", "keyword", "taste")}
    window: list[list[Paper]] = []
    for day in range(days):
        today = schedule[day]
        window.append(today)
        # As the planner does: features fitted on the digest window's papers (its
        # candidates over the last days), here the last WINDOW days.
        space = ranker.space([p for pool in window[-WINDOW:] for p in pool])
        now = start + timedelta(days=day)
        row = {m: [] for m in results}
        for interest, keyword in INTERESTS.items():
            inside = {p.key for p in today if venue(p) == interest}
            trending = today[:TOP]
            keyworded = [p for p in today if matches_keywords(p, (keyword,))][:TOP]
            channel = ChannelRef(Platform.SLACK, interest, "T1")
            model = ranker.model(
                space, votes[interest], seen, keywords=(keyword,), background=today
            )
            hits = [matches_keywords(p, (keyword,)) for p in today]
            picks = ranker.pick(model, today, TOP, keyword_hits=hits) if model else None
            chosen = [pick.paper for pick in picks] if picks is not None else keyworded
            for name, shown in (("trending", trending), ("keyword", keyworded), ("taste", chosen)):
                row[name].append(sum(p.key in inside for p in shown) / TOP)
            for paper in chosen:
                seen[paper.key] = paper
                for member in range(MEMBERS):
                    if rng.random() > VOTE_PROBABILITY:
                        continue
                    value = 1 if paper.key in inside else -1
                    if rng.random() < NOISE:
                        value = -value
                    votes[interest] = [
                        v
                        for v in votes[interest]
                        if (v.paper_key, v.user) != (paper.key, f"u{member}")
                    ]
                    votes[interest].append(Vote(channel, paper.key, f"u{member}", value, now))
        for name in results:
            results[name].append(row[name])
    return results


def retrain_pool(papers: list[Paper], seed: int) -> list[Paper]:
    return random.Random(seed).sample([p for p in papers if venue(p)], 1_250)


def retrain_time(
    papers: list[Paper], seed: int, features: PaperFeatures | None = None
) -> dict[str, float]:
    """Seconds to retrain one channel with 500 votes (250 papers x 2 people) against a
    1,000-paper pool: cold (every voted paper transformed first) and warm (the space has
    seen them, as after the previous vote), beside fitting the pool's features."""
    rng = random.Random(seed)
    pool = rng.sample([p for p in papers if venue(p)], 1_250)  # as retrain_pool
    voted = {p.key: p for p in pool[:250]}
    background = pool[250:]
    channel = ChannelRef(Platform.SLACK, "c", "T1")
    now = datetime(2026, 11, 30, tzinfo=UTC)
    votes = [
        Vote(channel, key, f"u{m}", rng.choice((1, -1)), now) for key in voted for m in range(2)
    ]
    ranker = make_ranker(features, None)
    timings: dict[str, float] = {"fit": float("inf"), "cold": float("inf"), "warm": float("inf")}
    for _ in range(5):
        t0 = time.perf_counter()
        space = ranker.space(background)
        timings["fit"] = min(timings["fit"], time.perf_counter() - t0)
        space.vectors(background)  # a digest run has transformed its candidates already
        for kind in ("cold", "warm"):
            t0 = time.perf_counter()
            ranker.model(space, votes, voted, keywords=("translation",), background=background)
            timings[kind] = min(timings[kind], time.perf_counter() - t0)
    timings["votes"] = effective_votes(votes)
    return timings


FEATURES = ("tfidf", "dense", "both")


def build_features(
    papers: list[Paper], days: int, seeds: list[int], kinds: list[str]
) -> dict[str, PaperFeatures | None]:
    """The feature port of each kind; dense ones get vectors of every paper the runs use."""
    ports: dict[str, PaperFeatures | None] = {"tfidf": None}
    if "dense" in kinds or "both" in kinds:
        from taste_vectors import embed_papers

        used = {p.key: p for p in retrain_pool(papers, seeds[0])}
        for seed in seeds:
            for today in daily_papers(papers, days, random.Random(seed)):
                used.update((p.key, p) for p in today)
        print(f"dense features: vectors for {len(used)} papers", flush=True)
        source, stats = embed_papers(list(used.values()))
        print(
            f"  {stats['cached']:.0f} cached, {stats['encoded']:.0f} encoded in "
            f"{stats['seconds']:.0f} s",
            flush=True,
        )
        dense = EmbeddingFeatures(source)
        ports["dense"] = dense
        ports["both"] = StackedFeatures(TfidfFeatures(), dense)
    return ports


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--seeds", default="3,7,11", help="comma-separated seeds; results are averaged"
    )
    parser.add_argument("--min-votes", type=int, default=None)
    parser.add_argument(
        "--features",
        default="tfidf",
        help="taste features, comma-separated: tfidf, dense (stored paper vectors, embedded "
        "once with the real encoder and cached), both (concatenated); each is simulated",
    )
    parser.add_argument("--plot", type=Path, default=None)
    args = parser.parse_args()
    if not args.corpus.is_file():
        print(f"corpus not found: {args.corpus}", file=sys.stderr)
        return 2
    papers = load_papers(args.corpus)
    seeds = [int(x) for x in args.seeds.split(",")]
    kinds = [k.strip() for k in args.features.split(",") if k.strip()]
    if not kinds or any(k not in FEATURES for k in kinds):
        print(f"--features: a comma-separated list of {', '.join(FEATURES)}", file=sys.stderr)
        return 2
    ports = build_features(papers, args.days, seeds, kinds)
    runs = {
        k: [simulate(papers, args.days, seed, args.min_votes, ports[k]) for seed in seeds]
        for k in kinds
    }
    # One column per feature kind; "taste" alone when only one kind runs (as before).
    names = {k: "taste" if len(kinds) == 1 else f"taste {k}" for k in kinds}
    first = runs[kinds[0]]
    per_method = {"trending": first, "keyword": first} | {names[k]: runs[k] for k in kinds}
    source = {"trending": "trending", "keyword": "keyword"} | {names[k]: "taste" for k in kinds}
    methods = list(per_method)
    # Per day: the mean over channels and seeds.
    means = {
        m: [
            statistics.mean(x for run in per_method[m] for x in run[source[m]][d])
            for d in range(args.days)
        ]
        for m in methods
    }
    print(
        f"precision@5 per day, mean over {len(INTERESTS)} channels ({', '.join(INTERESTS)}) "
        f"x {len(seeds)} seeds ({args.seeds})"
    )
    print("| day | " + " | ".join(methods) + " |")
    print("| ---: |" + " ---: |" * len(methods))
    for d in range(args.days):
        print(f"| {d + 1} | " + " | ".join(f"{means[m][d]:.2f}" for m in methods) + " |")
    late = {m: statistics.mean(v[9:]) for m, v in means.items()}
    keyword = max(late["keyword"], 1e-9)
    print(
        f"\ndays 10-{args.days}: "
        + ", ".join(
            f"{m} {late[m]:.3f}"
            + (f" ({late[m] / keyword:.2f}x keyword)" if m in names.values() else "")
            for m in methods
        )
    )
    for k in kinds:
        for seed, run in zip(seeds, runs[k], strict=True):
            kw = statistics.mean(x for day in run["keyword"][9:] for x in day)
            t = statistics.mean(x for day in run["taste"][9:] for x in day)
            print(
                f"  {names[k]}, seed {seed}: keyword {kw:.3f}, taste {t:.3f} "
                f"({t / max(kw, 1e-9):.2f}x)"
            )
    for i, interest in enumerate(INTERESTS):
        per = {
            m: statistics.mean(
                run[source[m]][d][i] for run in per_method[m] for d in range(9, args.days)
            )
            for m in methods
        }
        print(
            f"  {interest:8s} ({INTERESTS[interest]!r}): "
            + ", ".join(f"{m} {per[m]:.2f}" for m in methods[1:])
        )
    print()
    for k in kinds:
        t = retrain_time(papers, seeds[0], ports[k])
        print(
            f"retrain one channel with {t['votes']:.0f} votes, {k} features: "
            f"{t['cold'] * 1000:.0f} ms cold (its 250 papers transformed first), "
            f"{t['warm'] * 1000:.0f} ms warm; fitting the features on the 1,000-paper pool "
            f"{t['fit'] * 1000:.0f} ms"
        )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        days = list(range(1, args.days + 1))
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for name in methods:
            style = {"trending": ":", "keyword": "--"}.get(name, "-")
            ax.plot(days, means[name], style, label=name, linewidth=2)
        ax.axvline(10, color="grey", linewidth=0.8)
        ax.set_xlabel("simulated day")
        ax.set_ylabel(f"precision@5 (6 channels x {len(seeds)} seeds)")
        ax.set_ylim(0, 1)
        ax.legend(loc="lower right")
        ax.set_title("Digest precision: trending vs keyword vs learned channel taste")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"plot written to {args.plot}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
