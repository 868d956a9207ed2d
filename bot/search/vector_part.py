"""The vector index as a part of each index generation, and what reads it at query time.

`VectorPart` is the `bot.search.live.IndexPart` that keeps a `VectorIndex` (usearch, int8)
in `<generation>/vectors/`, describing the same change number as the rest of the generation:
- `build` (at `index rebuild`) indexes the stored vector of every paper of the snapshot;
- `apply` (each catch-up batch) puts the stored vectors of changed papers in a small delta
  graph and hides removed papers and papers whose text changed since their vector was
  computed, then saves the delta (`bot.search.vector_delta`: the main graph is rewritten
  only when the delta grows past `fold_limit`, or at a rebuild);
- `catch_up` (after the papers of a catch-up) does the same for the vectors written in its
  range of change numbers whose papers were not written in it: `papers-bot embed` stamps
  the vector rows, not the papers, so tantivy does not index an embedded paper again;
- `open` reads only the small description file: the graphs are opened on first use, so a
  title search never imports numpy or usearch.
The part never embeds: it reads `paper_vectors` (`PaperVectorStore.get_many`) and takes a
vector only when its fingerprint matches the paper's current text. A paper without one
is simply not there. Embedding a paper later stamps its vector row with a change number
(`put_many`), so the next catch-up picks the vector up (`catch_up`).

A generation whose vectors were built for another model raises FileNotFoundError at open,
which makes `LiveIndex.open` rebuild it for the current model.

`dense_search` turns the part and an encoder factory into the `(text, k, candidates)`
function that `PaperIndex.use_dense` takes; the encoder (onnxruntime) is built on the first
description query. `HybridNeighbours` is "more like this" through the vectors, fused with
the lexical neighbours.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.models import Paper
from bot.ports import UnitOfWorkFactory
from bot.search.ranking import DENSE_RRF_K, fuse

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from bot.search.embedding import Encoder
    from bot.search.similar import Neighbours
    from bot.search.vector_delta import LayeredIndex

__all__ = ["HybridNeighbours", "VectorPart", "dense_search", "described_vectors"]

log = logging.getLogger(__name__)

PART_NAME = "vectors"
META_FILE = "vectors.json"  # bot.search.vectors.META_FILE, without importing numpy
READ_BATCH = 5000
# Vectors per delta write at a catch-up (as `bot.search.live.APPLY_BATCH` papers).
APPLY_BATCH = 20_000
# Advances a progress bar by a count of vectors applied.
Progress = Callable[[int], None]


class VectorPart:
    """The usearch index of stored paper vectors in an index generation."""

    name = PART_NAME

    def __init__(
        self,
        model: str,
        dimensions: int,
        uow: UnitOfWorkFactory | None = None,
        *,
        fold_limit: int | None = None,
    ) -> None:
        self.model = model
        self.dimensions = dimensions
        self._uow = uow
        self.fold_limit = fold_limit
        self._directory: Path | None = None
        self._index: LayeredIndex | None = None
        self._lock = threading.Lock()
        self.count = 0

    # -- IndexPart --------------------------------------------------------------------

    def build(self, directory: Path, papers: Iterable[Paper]) -> None:
        from bot.search.vectors import VectorIndex

        index = VectorIndex.empty(model=self.model, dimensions=self.dimensions)
        if self._any_stored():
            for batch in _batches(papers, READ_BATCH):
                fresh, _ = self._stored(batch)
                index.extend(fresh.items())
        index.save(directory)
        log.info("vector index built: %d papers with vectors of %s", len(index), self.model)

    def _any_stored(self) -> bool:
        """Whether any vector of this model is stored: without one (a new database, an
        ingest with --no-embed) a build skips its scan of every paper, 3-4 CPU-s at 138k."""
        if self._uow is None:
            raise RuntimeError("this vector part was opened to read only")
        with self._uow() as unit:
            return unit.vectors.any_stored(self.model)

    def open(self, directory: Path) -> None:
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        if meta.get("model") != self.model:
            raise FileNotFoundError(
                f"{directory} holds vectors of {meta.get('model')!r}, not {self.model!r}"
            )
        with self._lock:
            self._directory = directory
            self._index = None
            self.count = int(meta.get("count", 0))

    def apply(self, papers: Sequence[Paper], removed: Sequence[int]) -> None:
        fresh, stale = self._stored(papers)
        self._put(fresh, [*stale, *removed])

    def catch_up(self, after: int, upto: int, progress: Progress | None = None) -> int:
        """Apply the vectors written in (after, upto] for papers not written themselves in
        that range (`PaperVectorStore.changed_between`): a paper embedded since the last
        catch-up reaches the vector graph without its paper being indexed again. A vector
        computed from another text than the paper's current one hides the paper instead."""
        from bot.search.embedder import fingerprint
        from bot.search.embedding import paper_text

        if self._uow is None:
            raise RuntimeError("this vector part was opened to read only")
        applied = 0
        fresh: dict[int, NDArray[np.float32]] = {}
        stale: list[int] = []
        with self._uow() as unit:
            for stored, title, abstract in unit.vectors.changed_between(self.model, after, upto):
                if stored.fingerprint == fingerprint(paper_text(title, abstract)):
                    fresh[stored.key] = stored.vector
                else:
                    stale.append(stored.key)
                if len(fresh) + len(stale) >= APPLY_BATCH:
                    applied += self._put_counted(fresh, stale, progress)
                    fresh, stale = {}, []
            applied += self._put_counted(fresh, stale, progress)
        return applied

    def _put_counted(
        self, fresh: dict[int, NDArray[np.float32]], stale: list[int], progress: Progress | None
    ) -> int:
        self._put(fresh, stale)
        if progress is not None:
            progress(len(fresh) + len(stale))
        return len(fresh) + len(stale)

    def _put(self, fresh: dict[int, NDArray[np.float32]], gone: Sequence[int]) -> None:
        """Put `fresh` vectors in the delta and hide `gone` keys; fold when it grew large."""
        from bot.search.vector_delta import FOLD_LIMIT

        if not fresh and not gone:
            return
        with self._lock:
            index = self._opened()
            if index is None:
                if not fresh:
                    return
                index = self._layered()
            if index.apply(fresh, gone):
                self._index, self.count = index, len(index)
        # Outside the lock: searches use the current layers while the fold is built.
        if index.oversized(FOLD_LIMIT if self.fold_limit is None else self.fold_limit):
            index.fold()
            with self._lock:
                self.count = len(index)

    # -- query time -------------------------------------------------------------------

    @property
    def index(self) -> LayeredIndex | None:
        """The vector index (main graph memory-mapped, delta in memory), opened on first
        use; None when it is empty."""
        with self._lock:
            return self._opened()

    def _opened(self) -> LayeredIndex | None:
        if self._index is None and self.count > 0 and self._directory is not None:
            from bot.search.vector_delta import LayeredIndex

            self._index = LayeredIndex.open(self._directory)
        return self._index

    def _layered(self) -> LayeredIndex:
        """An empty index in this part's directory (its generation had no vectors)."""
        from bot.search.vector_delta import LayeredIndex
        from bot.search.vectors import VectorIndex

        assert self._directory is not None
        return LayeredIndex(
            self._directory,
            model=self.model,
            dimensions=self.dimensions,
            main=None,
            delta=VectorIndex.empty(model=self.model, dimensions=self.dimensions),
            hidden=set(),
            sequence=0,
        )

    def _stored(self, papers: Sequence[Paper]) -> tuple[dict[int, NDArray[np.float32]], list[int]]:
        """Vectors stored for `papers` under this model and current for their text, and the
        keys of papers without one."""
        from bot.search.embedder import fingerprint, text_of

        if self._uow is None:
            raise RuntimeError("this vector part was opened to read only")
        with self._uow() as unit:
            stored = unit.vectors.get_many(self.model, [p.key for p in papers])
        fresh: dict[int, NDArray[np.float32]] = {}
        for paper in papers:
            found = stored.get(paper.key)
            if found is not None and found.fingerprint == fingerprint(text_of(paper)):
                fresh[paper.key] = found.vector
        return fresh, [p.key for p in papers if p.key not in fresh]


def described_vectors(generation: Path) -> tuple[str, int] | None:
    """The model and the number of papers of a generation's vector part, from its small
    description file; None when the generation has none (search is lexical there)."""
    try:
        meta = json.loads((generation / PART_NAME / META_FILE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    return str(meta.get("model")), int(meta.get("count", 0))


def _batches(papers: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    batch: list[Paper] = []
    for paper in papers:
        batch.append(paper)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def dense_search(
    part: VectorPart, encoder: Callable[[], Encoder]
) -> Callable[[str, int, Sequence[int]], list[tuple[int, float]]]:
    """`PaperIndex.use_dense`'s function: the query's vector against the part's index, its
    k nearest papers, then its cosine to each of the lexical candidates.

    The encoder is built on the first query that needs it (onnxruntime loads then, not at
    start). If it cannot be built, one warning is logged and search stays lexical.
    """
    built: list[Encoder] = []
    failed: list[str] = []
    lock = threading.Lock()

    def search(text: str, k: int, among: Sequence[int] = ()) -> list[tuple[int, float]]:
        index = part.index
        if index is None or failed:
            return []
        with lock:
            if not built:
                from bot.search.embedding import EmbeddingUnavailable

                try:
                    built.append(encoder())
                except EmbeddingUnavailable as exc:
                    failed.append(str(exc))
                    log.warning("search by meaning is off: %s", exc)
                    return []
        vector = built[0].encode([text])[0]
        nearest = index.search(vector, k)
        found = {key for key, _ in nearest}
        return nearest + index.cosines(vector, (key for key in among if key not in found))

    return search


class HybridNeighbours:
    """ "More like this" through the vectors, fused by reciprocal rank with the lexical
    neighbours; only lexical when the paper has no vector (not embedded yet)."""

    def __init__(self, lexical: Neighbours, part: VectorPart) -> None:
        self.lexical = lexical
        self.part = part

    def neighbours(self, key: int, k: int) -> list[tuple[int, float]]:
        lexical = self.lexical.neighbours(key, k)
        index = self.part.index
        vector = index.vector(key) if index is not None else None
        if index is None or vector is None:
            return lexical
        dense = [(hit, cosine) for hit, cosine in index.search(vector, k + 1) if hit != key][:k]
        fused = fuse(([hit for hit, _ in lexical], [hit for hit, _ in dense]), k=DENSE_RRF_K)
        return fused[:k]
