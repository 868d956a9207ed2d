"""Plot search latency against corpus size from the benchmark results.

Reads every `bench/results/search-*.json` written by `bench/search.py --json` and draws
p50 (dashed) and p95 (solid) latency per engine against the number of papers, on log
scales, into `docs/search-latency.png`.

Usage: python bench/plot_search.py [--results DIR] [--out PNG]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

ROOT = Path(__file__).resolve().parent.parent
COLOURS = {"papers-bot": "#1f77b4", "rapidfuzz-token-set": "#d62728", "sqlite-fts5": "#2ca02c"}


def load(results: Path) -> dict[str, list[tuple[int, float, float]]]:
    """engine -> [(papers, p50, p95)], sorted by papers."""
    series: dict[str, list[tuple[int, float, float]]] = {}
    for path in sorted(results.glob("search-*.json")):
        report: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        for engine, values in report["engines"].items():
            point = (int(report["papers"]), float(values["p50_ms"]), float(values["p95_ms"]))
            series.setdefault(engine, []).append(point)
    return {engine: sorted(points) for engine, points in series.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--results", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "search-latency.png")
    args = parser.parse_args()
    series = load(args.results)
    if not series:
        parser.error(f"no search-*.json results in {args.results}")
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=120)
    for engine, points in series.items():
        xs = [p[0] for p in points]
        colour = COLOURS.get(engine)
        ax.plot(xs, [p[2] for p in points], "o-", color=colour, label=f"{engine} p95")
        ax.plot(xs, [p[1] for p in points], "o--", color=colour, alpha=0.6, label=f"{engine} p50")
    ax.axhline(20, color="grey", linewidth=0.8, linestyle=":")
    ax.annotate("20 ms target", (ax.get_xlim()[0], 20), xytext=(4, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("papers in the corpus")
    ax.set_ylabel("latency per query (ms)")
    ax.set_title("Search latency vs corpus size (2-core machine)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out)
    print(args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
