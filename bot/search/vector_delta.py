"""A vector index in two layers, so that a catch-up batch costs what the batch costs.

At 1M papers the main usearch graph is hundreds of MB; rewriting it for each handful of
new papers (every 5 s when papers change) would cost seconds of disk writes under the
part's lock. So `<generation>/vectors/` holds:
- `vectors.usearch` (from a rebuild) or `vectors-N.usearch` (from a fold): the main
  graph, memory-mapped read-only (shared by every process that opens it);
- `delta-N.usearch`: a small graph, held in memory, of the papers added or changed since;
- `vectors.json`: the description: model, dimensions, live `count`, `main_count`, the
  file names of the current main graph and delta, and `hidden`, the keys whose main
  vector no longer counts (removed papers, papers whose text changed, and papers whose
  newer vector is in the delta).

A search asks both graphs, drops hidden keys from the main graph's answer and keeps each
key once, best cosine first. `apply` writes a new delta file under a new number, then
the description (atomically), then deletes the old delta; a fold likewise writes the
main graph under a new name. So a reader that read the old description still finds its
files or re-reads the description, and a crash before the description moved leaves the
previous layers whole (the batch is re-applied, which is idempotent: replace by key, hide
by key). When the delta and the hidden keys together exceed the part's fold limit,
`VectorPart.apply` calls `fold`: the main graph loaded into memory (a copy beside the
layers in use, so searches are not held up), the delta merged in, saved, mapped again;
a rebuild starts with no delta.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bot.crashpoints import pause_point
from bot.search.vectors import GRAPH_FILE, META_FILE, VectorIndex

__all__ = ["FOLD_LIMIT", "LayeredIndex"]

# Delta entries plus hidden keys beyond which `apply` folds them into the main graph: a
# 20k-entry delta saves in milliseconds and searches in well under one; a fold at 1M
# rewrites the main graph (seconds), so it should be rare (a day of ingest is ~300).
FOLD_LIMIT = 20_000


def _describe(directory: Path, meta: Mapping[str, Any]) -> None:
    tmp = directory / (META_FILE + ".tmp")
    tmp.write_text(json.dumps(meta) + "\n", encoding="utf-8")
    os.replace(tmp, directory / META_FILE)


class LayeredIndex:
    """The main graph (memory-mapped), the delta (in memory) and the hidden keys."""

    def __init__(
        self,
        directory: Path,
        *,
        model: str,
        dimensions: int,
        main: VectorIndex | None,
        delta: VectorIndex,
        hidden: set[int],
        sequence: int,
        graph: str = GRAPH_FILE,
    ) -> None:
        self.directory = directory
        self.graph = graph
        self.model = model
        self.dimensions = dimensions
        # One attribute, so that a search reads the three layers of one moment while a
        # fold swaps them; between folds only the delta and the hidden set change.
        self.layers: tuple[VectorIndex | None, VectorIndex, set[int]] = (main, delta, hidden)
        self.sequence = sequence

    @property
    def main(self) -> VectorIndex | None:
        return self.layers[0]

    @property
    def delta(self) -> VectorIndex:
        return self.layers[1]

    @property
    def hidden(self) -> set[int]:
        return self.layers[2]

    # -- files ------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path) -> LayeredIndex:
        """Map the main graph and load the delta. FileNotFoundError when there is none."""
        for attempt in range(2):
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            model, dimensions = str(meta["model"]), int(meta["dimensions"])
            main_count = int(meta.get("main_count", meta.get("count", 0)))
            graph = str(meta.get("main") or GRAPH_FILE)
            delta = VectorIndex.empty(model=model, dimensions=dimensions)
            try:
                main = (
                    VectorIndex.open_graph(directory / graph, model=model, dimensions=dimensions)
                    if main_count
                    else None
                )
                if meta.get("delta"):
                    delta.load(directory / str(meta["delta"]))
            except FileNotFoundError:
                if attempt:
                    raise
                continue  # a writer replaced a file just now: read the new description
            return cls(
                directory,
                model=model,
                dimensions=dimensions,
                main=main,
                delta=delta,
                hidden={int(key) for key in meta.get("hidden", ())},
                sequence=int(meta.get("sequence", 0)),
                graph=graph,
            )
        raise AssertionError("unreachable")

    def save(self) -> None:
        """Write the delta under a new number, then the description; drop the old delta."""
        old = self.directory / f"delta-{self.sequence}.usearch"
        self.sequence += 1
        name = None
        if len(self.delta):
            name = f"delta-{self.sequence}.usearch"
            self.delta.save_graph(self.directory / name)
        pause_point("vectors-delta-before-description")
        _describe(self.directory, self.description(name))
        old.unlink(missing_ok=True)

    def description(self, delta: str | None) -> dict[str, Any]:
        return {
            "model": self.model,
            "dimensions": self.dimensions,
            "count": len(self),
            "main_count": len(self.main) if self.main is not None else 0,
            "main": self.graph,
            "delta": delta,
            "sequence": self.sequence,
            "hidden": sorted(self.hidden),
        }

    # -- changes ----------------------------------------------------------------------

    def apply(self, fresh: Mapping[int, NDArray[np.float32]], gone: Iterable[int]) -> bool:
        """Put `fresh` vectors in the delta and hide `gone` keys, then save the delta and
        the description when anything changed. Returns whether it changed."""
        main, delta, hidden = self.layers
        # A paper re-stamped for another reason (upvotes, a merge of its sources) comes back
        # with the vector it has: leave it where it is, or every daily upsert would move
        # thousands of unchanged vectors into the delta.
        fresh = {key: vector for key, vector in fresh.items() if not self._holds(key, vector)}
        gone = [key for key in gone if key not in fresh]
        changed = delta.remove(gone) > 0
        for key in [*gone, *fresh]:
            if main is not None and key not in hidden and key in main:
                hidden.add(key)
                changed = True
        if fresh:
            delta.extend(fresh.items())
            changed = True
        if changed:
            self.save()
        return changed

    def _holds(self, key: int, vector: NDArray[np.float32]) -> bool:
        """Whether `key` already has exactly this vector (compared as the graph stores it)."""
        main, delta, hidden = self.layers
        layer = delta if key in delta else main if key not in hidden else None
        held = layer.int8(key) if layer is not None else None
        return held is not None and bool(np.array_equal(held, VectorIndex.quantised(vector)))

    def oversized(self, fold_limit: int) -> bool:
        return len(self.delta) + len(self.hidden) > fold_limit

    def fold(self) -> None:
        """Merge the delta into the main graph and drop the hidden keys from it.

        Built in a copy loaded from the main graph file, so searches go on against the
        current layers meanwhile (HNSW inserts: tens of seconds for 15k into 250k); the
        new layers are swapped in at once. Only the catch-up writer calls it."""
        _, delta, hidden = self.layers
        main = VectorIndex.empty(model=self.model, dimensions=self.dimensions)
        if self.main is not None:
            main.load(self.directory / self.graph)
        main.remove(hidden)
        main.extend(delta.pairs())
        self.sequence += 1
        # Under a new name: until the description names it, the old layers stay in force.
        graph = f"vectors-{self.sequence}.usearch"
        main.save_graph(self.directory / graph)
        old = [self.directory / self.graph, self.directory / f"delta-{self.sequence - 1}.usearch"]
        # Mapped again, so the folded graph's pages are shared and not held by this process.
        mapped = (
            VectorIndex.open_graph(
                self.directory / graph, model=self.model, dimensions=self.dimensions
            )
            if len(main)
            else None
        )
        self.graph = graph
        description = {**self.description(None), "count": len(main), "main_count": len(main)}
        description["hidden"] = []
        pause_point("vectors-fold-before-description")
        _describe(self.directory, description)
        self.layers = (
            mapped,
            VectorIndex.empty(model=self.model, dimensions=self.dimensions),
            set(),
        )
        for path in old:
            path.unlink(missing_ok=True)

    # -- queries ----------------------------------------------------------------------

    def __len__(self) -> int:
        main, delta, hidden = self.layers
        return (len(main) - len(hidden) if main is not None else 0) + len(delta)

    def __contains__(self, key: int) -> bool:
        main, delta, hidden = self.layers
        if key in delta:
            return True
        return main is not None and key not in hidden and key in main

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest papers over both layers: (key, cosine), best first."""
        main, delta, hidden = self.layers
        found = dict(delta.search(query, k))
        if main is not None:
            # Over-fetch by the hidden keys that could stand among the first k.
            extra = min(len(hidden), max(k, 16))
            for key, cosine in main.search(query, k + extra):
                if key not in hidden and key not in found:
                    found[key] = cosine
        return sorted(found.items(), key=lambda pair: -pair[1])[:k]

    def cosines(self, query: NDArray[np.float32], keys: Iterable[int]) -> list[tuple[int, float]]:
        main, delta, hidden = self.layers
        wanted = list(dict.fromkeys(keys))
        out = delta.cosines(query, wanted)
        if main is not None:
            taken = {key for key, _ in out}
            out += main.cosines(query, (k for k in wanted if k not in taken and k not in hidden))
        return out

    def vector(self, key: int) -> NDArray[np.float32] | None:
        main, delta, hidden = self.layers
        if key in delta:
            return delta.vector(key)
        if main is None or key in hidden:
            return None
        return main.vector(key)
