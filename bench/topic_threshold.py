"""Choosing the cosine threshold for digest topics matched by meaning (issue 12).

A digest keyword (`speech`) matches a paper lexically when it occurs in the title, keywords
or abstract; by meaning when the cosine between the keyword's query vector and the paper's
vector reaches a threshold. This prints, for each test topic and threshold, how many papers
of the 20k sample match *only* by meaning and what share of them are on the topic, judged by
a hand-written list of related words (speech: speaker, diarization, voice, ...), and what
share of topic-relevant papers without the keyword they recover.

    python bench/topic_threshold.py --directory /tmp/papers-quality-20k   # reuses its vectors
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))
from quality import load_rows, load_sets, sample  # noqa: E402

from bot.search.embedder import model_key  # noqa: E402
from bot.search.embedding import default_encoder  # noqa: E402

# topic -> words that make a paper on the topic (a proxy judgement, not a gold standard).
TOPICS = {
    "speech": r"speech|speaker|diariz|voice|spoken|asr\b|acoustic|audio|phonem|prosod|tts\b",
    "robotics": r"robot|manipulat|grasp|locomot|embodied|legged|humanoid",
    "protein": r"protein|enzyme|amino|antibod|molecul|peptide",
    "translation": r"translat|multilingual|bilingual|machine translation|nmt\b",
    "reinforcement learning": r"reinforcement|policy|reward|agent|bandit|q-learning",
    "graph neural networks": r"graph|gnn|node|message passing",
}
THRESHOLDS = (0.30, 0.35, 0.40, 0.45, 0.50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    corpus = ROOT.parent / "shared/corpus/papers.jsonl.gz"
    parser.add_argument("--corpus", type=Path, default=corpus)
    parser.add_argument("--directory", type=Path, default=Path("/tmp/papers-quality-20k"))
    parser.add_argument("--size", type=int, default=20000)
    args = parser.parse_args()
    rows = sample(load_rows(args.corpus), args.size, load_sets())
    encoder = default_encoder(threads=1)
    cached = args.directory / (model_key(encoder).replace("/", "_") + f"-{len(rows)}.npy")
    vectors = np.load(cached)
    texts = [
        f"{r['title']} {' '.join(r.get('keywords') or ())} {r.get('abstract') or ''}".lower()
        for r in rows
    ]
    print(f"{len(rows)} papers; per topic: lexical matches, then per threshold the papers")
    print("matched only by meaning, the share on topic, and the share of on-topic papers")
    print("without the keyword that they recover")
    for topic, related in TOPICS.items():
        pattern = re.compile(related)
        lexical = np.array([topic in t for t in texts])
        on_topic = np.array([bool(pattern.search(t)) for t in texts])
        cosine = vectors @ encoder.encode([topic])[0]
        missing = on_topic & ~lexical
        print(f"\n{topic}: {int(lexical.sum())} lexical, {int(missing.sum())} on topic without it")
        for threshold in THRESHOLDS:
            extra = (cosine >= threshold) & ~lexical
            hits = int((extra & on_topic).sum())
            precision = hits / max(1, int(extra.sum()))
            recall = hits / max(1, int(missing.sum()))
            print(
                f"  cos >= {threshold:.2f}: {int(extra.sum()):5d} more, "
                f"{precision:.2f} on topic, recovers {recall:.2f}"
            )


if __name__ == "__main__":
    main()
