"""Search by meaning, wired when the `semantic` extra is installed (issue 12).

The composition root's side of `bot.search.vector_part`: whether the extra is there (found
without importing it, so a cold title search stays cheap), the index part that keeps the
vectors in each generation, and the calls that make search and "more like this" use it.
Without the extra every function here answers "no" and search stays lexical.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bot.search.encoder_id import DIMENSIONS, MODEL_PACKAGE

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bot.digests.topics import TopicMatcher
    from bot.ports import UnitOfWorkFactory
    from bot.search.embedding import Encoder
    from bot.search.engine import PaperIndex
    from bot.search.similar import Neighbours
    from bot.search.vector_part import VectorPart
    from bot.taste.channel import TasteRanker

log = logging.getLogger(__name__)

# What the encoder and the vector index import (`pyproject.toml`'s `semantic` extra).
SEMANTIC_MODULES = ("onnxruntime", "onnx", "tokenizers", "usearch", MODEL_PACKAGE)
# PAPERS_SEMANTIC=0 turns search by meaning off where the extra is installed.
SWITCH = "PAPERS_SEMANTIC"
# PAPERS_TASTE_FEATURES=dense|both: channel taste over paper vectors (default tfidf).
TASTE_SWITCH = "PAPERS_TASTE_FEATURES"
# A description (>= 11 content words, no filters), so the engine asks the dense side too.
WARM_UP_QUERY = (
    "a model that learns to find scientific papers from a description of what they did, "
    "in other words than their titles and abstracts use"
)


def semantic_available() -> bool:
    """True when the extra is installed and not switched off (nothing is imported)."""
    if os.environ.get(SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}:
        return False
    return all(importlib.util.find_spec(name) is not None for name in SEMANTIC_MODULES)


def missing_semantic() -> list[str]:
    """The extra's modules that are not installed."""
    return [name for name in SEMANTIC_MODULES if importlib.util.find_spec(name) is None]


def vector_part(uow: UnitOfWorkFactory | None = None) -> VectorPart | None:
    """The index part for the default encoder's vectors, or None without the extra."""
    if not semantic_available():
        return None
    from bot.search.encoder_id import default_model_key
    from bot.search.vector_part import VectorPart

    return VectorPart(default_model_key(), DIMENSIONS, uow)


def query_encoder() -> Encoder:
    """The encoder for query vectors: one short text at a time, so one thread."""
    from bot.search.embedding import default_encoder

    return default_encoder(threads=1)


def use_dense(index: PaperIndex, part: VectorPart | None) -> None:
    """Fuse dense candidates into description queries whenever the part has vectors (it
    may gain them later, at a catch-up); without the part, search stays lexical."""
    if part is None:
        return
    from bot.search.vector_part import dense_search

    index.use_dense(dense_search(part, query_encoder))


def warm_up(index: PaperIndex, part: VectorPart | None) -> str:
    """One description query through the engine, so that the first user's search does not
    pay for start-up work: with vectors, the query encoder is built (onnxruntime, about
    0.5 s here) and the vector graph mapped; in every case tantivy's pages for a
    description query are read. Returns what it did, for the log."""
    started = time.perf_counter()
    index.search(WARM_UP_QUERY, limit=10)
    vectors = part.count if part is not None and index.dense is not None else 0
    meaning = f"on, {vectors:,} vectors" if vectors else "off (no vectors)"
    return f"search warmed up in {time.perf_counter() - started:.2f}s; search by meaning {meaning}"


def start_warm_up(index: Callable[[], PaperIndex], part: VectorPart | None) -> threading.Event:
    """`warm_up` in a background thread; the event is set when it is done (or failed: a
    search that cannot warm up still answers, it is only slower the first time)."""
    done = threading.Event()

    def run() -> None:
        try:
            log.info(warm_up(index(), part))
        except Exception:
            log.exception("search warm-up failed; the first search pays for it")
        finally:
            done.set()

    threading.Thread(target=run, name="search-warm-up", daemon=True).start()
    return done


def neighbours(lexical: Neighbours, part: VectorPart | None) -> Neighbours:
    """ "More like this": vectors fused with the lexical neighbours when there are vectors."""
    if part is None:
        return lexical
    from bot.search.vector_part import HybridNeighbours

    return HybridNeighbours(lexical, part)


def topic_matcher() -> TopicMatcher | None:
    """Digest topics matched by meaning too, with the extra; None: lexical only."""
    if not semantic_available():
        return None
    from bot.digests.topics import SemanticTopics
    from bot.search.encoder_id import default_model_key

    return SemanticTopics(query_encoder, default_model_key())


def taste_ranker(uow: UnitOfWorkFactory) -> TasteRanker | None:
    """Channel taste over the stored paper vectors (issue 13) when PAPERS_TASTE_FEATURES
    asks for them (`dense`, or `both` with TF-IDF), the extra is installed and the database
    holds vectors of the current encoder; None: TF-IDF only, the default.

    TF-IDF stays the default: in bench/taste.py (README, "Channel taste") dense vectors
    scored the same precision@5 from day 10 and `both` only 0.02 more on one seed, while
    `both` retrains a 500-vote channel in about 400 ms, over the 200 ms budget.
    """
    kind = os.environ.get(TASTE_SWITCH, "tfidf").strip().lower()
    if kind not in {"dense", "both"} or not semantic_available():
        return None
    from bot.search.encoder_id import default_model_key
    from bot.taste.channel import TasteRanker
    from bot.taste.dense import EmbeddingFeatures, stored_vectors
    from bot.taste.features import StackedFeatures, TfidfFeatures

    model = default_model_key()
    with uow() as unit:
        if next(iter(unit.vectors.vectors(model, batch_size=1)), None) is None:
            return None

    def encode() -> Callable[[Sequence[str]], NDArray[np.float32]]:
        return query_encoder().encode

    dense = EmbeddingFeatures(stored_vectors(uow, model, encode))
    if kind == "dense":
        return TasteRanker(features=dense)
    # TF-IDF first: its terms explain picks, and it covers papers not embedded yet.
    return TasteRanker(features=StackedFeatures(TfidfFeatures(), dense))
