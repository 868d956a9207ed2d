"""Paper vectors for bench/taste.py's dense features: the real encoder, run once, cached.

The bench's papers are embedded with `bot.search.embedding.default_encoder()` (the vectors
ingest stores) and kept in an .npz under the bench cache directory, keyed by the encoder's
model key and the papers' ids, so later runs read them instead of encoding again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from bot.models import Paper
from bot.search.embedding import default_encoder, paper_text
from bot.search.encoder_id import default_model_key
from bot.taste.dense import VectorSource

CACHE = Path(os.environ.get("PAPERS_BENCH_CACHE", "/tmp/papers-bot-bench"))


def _cache_file() -> Path:
    safe = default_model_key().replace("/", "_").replace("@", "_")
    return CACHE / f"taste-vectors-{safe}.npz"


def _load() -> dict[str, NDArray[np.float32]]:
    path = _cache_file()
    if not path.is_file():
        return {}
    with np.load(path) as data:
        ids, rows = data["ids"], data["vectors"]
    return {str(i): rows[n] for n, i in enumerate(ids)}


def _save(cached: Mapping[str, NDArray[np.float32]]) -> None:
    path = _cache_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = np.array(list(cached))
    rows = np.vstack(list(cached.values())).astype(np.float16)
    tmp = path.with_suffix(".tmp.npz")
    np.savez(tmp, ids=ids, vectors=rows)
    tmp.replace(path)


def _ident(paper: Paper) -> str:
    return paper.paper_id or f"line{paper.key}"


def embed_papers(papers: Sequence[Paper]) -> tuple[VectorSource, dict[str, float]]:
    """A vector source over `papers` (embedding those not cached yet) and what it cost."""
    cached = _load()
    todo = list({_ident(p): p for p in papers if _ident(p) not in cached}.values())
    encoder = default_encoder()
    stats = {"cached": float(len(papers) - len(todo)), "encoded": float(len(todo))}
    t0 = time.perf_counter()
    for start in range(0, len(todo), 512):
        chunk = todo[start : start + 512]
        rows = encoder.encode([paper_text(p.title, p.abstract) for p in chunk])
        cached.update((_ident(p), rows[i]) for i, p in enumerate(chunk))
        _save(cached)  # an interrupted run keeps what it encoded
        done = start + len(chunk)
        print(f"  embedded {done}/{len(todo)} ({time.perf_counter() - t0:.0f} s)", flush=True)
    stats["seconds"] = time.perf_counter() - t0
    by_key = {p.key: cached[_ident(p)] for p in papers}
    keywords: dict[int, NDArray[np.float32]] = {}

    def source(wanted: Sequence[Paper]) -> Mapping[int, NDArray[np.float32]]:
        found = {p.key: by_key[p.key] for p in wanted if p.key in by_key}
        # Keyword pseudo-papers (negative keys) are embedded as queries are, once each.
        new = [p for p in wanted if p.key < 0 and p.key not in keywords]
        if new:
            rows = encoder.encode([p.title for p in new])
            keywords.update((p.key, rows[i]) for i, p in enumerate(new))
        found.update((p.key, keywords[p.key]) for p in wanted if p.key in keywords)
        return found

    return source, stats
