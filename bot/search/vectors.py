"""The query-time vector index: paper key -> unit vector, nearest neighbours by cosine.

A small API over a usearch HNSW graph with int8 vectors (1 byte a dimension, so 1M papers
at 256 dimensions take about 260 MB plus the graph):
- `VectorIndex.build(pairs, model=..., dimensions=...)` from (paper key, vector) pairs;
- `extend(pairs)` adds or replaces vectors (a changed paper keeps its key);
- `save(directory)` writes `vectors.usearch` and `vectors.json` (model, dimensions, count);
- `VectorIndex.open(directory)` memory-maps the saved graph read-only (`view`): opening
  costs milliseconds and the pages are shared by every process that opens the same files;
- `search(query, k)` returns (key, cosine) pairs, best first.

The vectors themselves are durable elsewhere (the `paper_vectors` table, see
`bot.search.embedder`); this index is derived from them and can always be rebuilt.

**In an index generation** it is kept by `bot.search.vector_part.VectorPart`, the index
part that builds it at a rebuild and maps it on first use; catch-ups go to a small delta
index beside it (`bot.search.vector_delta`), folded in past a limit.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.search.embedding import EmbeddingUnavailable

log = logging.getLogger(__name__)

GRAPH_FILE = "vectors.usearch"
META_FILE = "vectors.json"
# HNSW parameters: usearch's defaults (16 links, 128 candidates when adding); a wider
# search beam than its default 64 costs little at k <= 100 and keeps recall near exact.
EXPANSION_SEARCH = 128

Pairs = Iterable[tuple[int, NDArray[np.float32]]]


@functools.cache
def _load_cxx_runtime() -> None:
    """Load the system's C++ runtime, globally, before usearch's extension.

    usearch's extension does not link libstdc++ dynamically; imported into a process that
    has not loaded libstdc++ yet, a later `import onnxruntime` (the query encoder) crashes the
    process with a segfault. With the shared runtime loaded first both use it. Elsewhere
    than Linux there is no such file and nothing is done. Once per process: every vector
    index (a generation's main graph and its delta) asks for usearch.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL("libstdc++.so.6", mode=ctypes.RTLD_GLOBAL)
    except OSError as exc:
        # A system without it: usearch still works alone; say why a crash may follow.
        log.warning("could not load libstdc++.so.6 before usearch (%s)", exc)


def _usearch() -> Any:
    _load_cxx_runtime()
    try:
        from usearch.index import Index
    except ImportError as exc:
        raise EmbeddingUnavailable(
            f"the vector index needs 'usearch': pip install 'papers-bot[semantic]' ({exc})"
        ) from exc
    return Index


class VectorIndex:
    """Nearest neighbours by cosine over unit vectors keyed by paper key."""

    def __init__(self, graph: Any, *, model: str, dimensions: int, viewed: bool) -> None:
        self._graph = graph
        self.model = model
        self.dimensions = dimensions
        self._viewed = viewed

    @classmethod
    def empty(cls, *, model: str, dimensions: int, expansion_add: int | None = None) -> VectorIndex:
        """An empty index; `expansion_add` (usearch's default when None) trades the graph's
        recall for build time: bench/semantic_scale.py lowers it to build 1M affordably."""
        index = _usearch()
        graph = index(ndim=dimensions, metric="cos", dtype="i8", expansion_search=EXPANSION_SEARCH)
        if expansion_add is not None:
            graph.expansion_add = expansion_add
        return cls(graph, model=model, dimensions=dimensions, viewed=False)

    @classmethod
    def build(
        cls, pairs: Pairs, *, model: str, dimensions: int, chunk: int = 20_000
    ) -> VectorIndex:
        built = cls.empty(model=model, dimensions=dimensions)
        built.extend(pairs, chunk=chunk)
        return built

    def __len__(self) -> int:
        return len(self._graph)

    def __contains__(self, key: int) -> bool:
        return bool(self._graph.contains(key))

    def extend(self, pairs: Pairs, *, chunk: int = 20_000) -> int:
        """Add (key, vector) pairs; a key already present gets the new vector. Returns the
        number of pairs taken."""
        self._own()
        taken = 0
        keys: list[int] = []
        rows: list[NDArray[np.float32]] = []
        for key, vector in pairs:
            keys.append(key)
            rows.append(vector)
            if len(keys) >= chunk:
                taken += self._add(keys, rows)
                keys, rows = [], []
        if keys:
            taken += self._add(keys, rows)
        return taken

    def _own(self) -> None:
        """A memory-mapped view is read-only: copy it into memory once before a change."""
        if self._viewed:
            index = _usearch()
            graph = index(ndim=self.dimensions, metric="cos", dtype="i8")
            graph.load(self._path)
            graph.expansion_search = EXPANSION_SEARCH
            self._graph, self._viewed = graph, False

    def _add(self, keys: list[int], rows: list[NDArray[np.float32]]) -> int:
        array = np.asarray(keys, dtype=np.uint64)
        matrix = np.vstack(rows).astype(np.float32, copy=False)
        if matrix.shape[1] != self.dimensions:
            raise ValueError(f"vectors have {matrix.shape[1]} dimensions, not {self.dimensions}")
        present = np.fromiter((self._graph.contains(int(k)) for k in array), bool, len(array))
        if present.any():
            self._graph.remove(array[present])
        self._graph.add(array, matrix)
        return len(keys)

    def remove(self, keys: Iterable[int]) -> int:
        """Drop the vectors of `keys`; absent keys are ignored. Returns how many went."""
        present = [key for key in keys if key in self]
        if not present:
            return 0
        self._own()
        self._graph.remove(np.asarray(present, dtype=np.uint64))
        return len(present)

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest papers to a unit `query` vector: (key, cosine), best first."""
        if len(self) == 0 or k < 1:
            return []
        matches = self._graph.search(np.asarray(query, dtype=np.float32), min(k, len(self)))
        keys = np.asarray(matches.keys, dtype=np.int64)
        distances = np.asarray(matches.distances, dtype=np.float32)
        return [(int(key), 1.0 - float(d)) for key, d in zip(keys, distances, strict=True)]

    def cosines(self, query: NDArray[np.float32], keys: Iterable[int]) -> list[tuple[int, float]]:
        """(key, cosine to a unit `query`) for each of `keys` that has a vector, from the
        stored int8 vectors (so approximate, like `search`)."""
        wanted = np.asarray(list(dict.fromkeys(keys)), dtype=np.uint64)
        if len(self) == 0 or not len(wanted):
            return []
        present = wanted[np.asarray(self._graph.contains(wanted), dtype=bool).reshape(-1)]
        if not len(present):
            return []
        found = np.asarray(self._graph.get(present, dtype=np.float32), dtype=np.float32).reshape(
            len(present), -1
        )
        norms = np.maximum(np.linalg.norm(found, axis=1), 1e-12)
        values = (found @ np.asarray(query, dtype=np.float32)) / norms
        return [(int(key), float(v)) for key, v in zip(present, values, strict=True)]

    def vector(self, key: int) -> NDArray[np.float32] | None:
        """The stored vector of `key` (int8-quantised, so approximate), unit length."""
        if key not in self:
            return None
        found = np.asarray(self._graph.get(key, dtype=np.float32), dtype=np.float32).reshape(-1)
        unit: NDArray[np.float32] = found / max(float(np.linalg.norm(found)), 1e-12)
        return unit

    def int8(self, key: int) -> NDArray[np.int8] | None:
        """The stored int8 vector of `key`, exactly as the graph holds it."""
        if key not in self:
            return None
        held: NDArray[np.int8] = np.asarray(self._graph.get(key, dtype=np.int8), dtype=np.int8)
        return held.reshape(-1)

    @staticmethod
    def quantised(vector: NDArray[np.float32]) -> NDArray[np.int8]:
        """What the graph stores for `vector` (usearch's int8: truncated 127 * value);
        `tests/bot/search/test_vector_delta.py` checks it against the graph."""
        scaled = np.clip(np.asarray(vector, dtype=np.float32) * 127.0, -127.0, 127.0)
        quantised: NDArray[np.int8] = np.trunc(scaled).astype(np.int8)
        return quantised

    def pairs(self) -> Iterable[tuple[int, NDArray[np.float32]]]:
        """Every (key, vector) held (int8-approximate): for folding a small delta."""
        keys = np.asarray(self._graph.keys, dtype=np.uint64)
        if not len(keys):
            return []
        found = np.asarray(self._graph.get(keys, dtype=np.float32), dtype=np.float32)
        return zip((int(k) for k in keys), found.reshape(len(keys), -1), strict=True)

    def save_graph(self, path: Path) -> None:
        """Write the graph alone to `path`, atomically (a reader's mapping of the file it
        replaces stays valid)."""
        self._graph.save(str(path) + ".tmp")
        os.replace(str(path) + ".tmp", path)

    def load(self, path: Path) -> None:
        """Replace this index's contents by the graph saved at `path`, held in memory."""
        if not path.is_file():
            raise FileNotFoundError(path)
        self._graph.load(str(path))
        self._graph.expansion_search = EXPANSION_SEARCH
        self._viewed = False

    def save(self, directory: Path) -> None:
        """Write the graph and its description into `directory`; each file is replaced
        atomically, the description last, so a reader never pairs it with a half graph."""
        directory.mkdir(parents=True, exist_ok=True)
        self.save_graph(directory / GRAPH_FILE)
        meta = {"model": self.model, "dimensions": self.dimensions, "count": len(self)}
        (directory / (META_FILE + ".tmp")).write_text(json.dumps(meta) + "\n", encoding="utf-8")
        os.replace(directory / (META_FILE + ".tmp"), directory / META_FILE)

    @classmethod
    def open(cls, directory: Path) -> VectorIndex:
        """Memory-map a saved index read-only. Raises FileNotFoundError when there is none."""
        meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
        return cls.open_graph(
            directory / GRAPH_FILE, model=str(meta["model"]), dimensions=int(meta["dimensions"])
        )

    @classmethod
    def open_graph(cls, path: Path, *, model: str, dimensions: int) -> VectorIndex:
        """Memory-map the graph file at `path` read-only."""
        if not path.is_file():
            raise FileNotFoundError(path)
        index = _usearch()
        graph = index(ndim=dimensions, metric="cos", dtype="i8")
        graph.view(str(path))
        graph.expansion_search = EXPANSION_SEARCH
        opened = cls(graph, model=model, dimensions=dimensions, viewed=True)
        opened._path = str(path)
        return opened

    _path: str = ""
