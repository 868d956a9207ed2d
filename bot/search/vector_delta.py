"""A vector index in two layers, so that a catch-up batch costs what the batch costs.

At 1M papers the main usearch graph is hundreds of MB; rewriting it for each handful of
new papers (every 5 s when papers change) would cost seconds of disk writes under the
part's lock. So `<generation>/vectors/` holds:
- `vectors.usearch`: the main graph, written at a rebuild or a fold, memory-mapped
  read-only (shared by every process that opens it);
- `delta-N.usearch`: a small graph, held in memory, of the papers added or changed since;
- `vectors.json`: the description: model, dimensions, live `count`, `main_count`, the
  current delta's file name, and `hidden`, the keys whose main vector no longer counts
  (removed papers, papers whose text changed, and papers whose newer vector is in the
  delta).

A search asks both graphs, drops hidden keys from the main graph's answer and keeps each
key once, best cosine first. `apply` writes a new delta file under a new number, then
the description (atomically), then deletes the old delta: a reader that read the old
description still finds its delta file or re-reads the description, and a crash before
the description moved leaves the previous layers whole (the batch is re-applied, which is
idempotent: replace by key, hide by key). When the delta and the hidden keys together
exceed `fold_limit`, `apply` folds them into the main graph (loaded into memory, saved,
mapped again) and starts an empty delta; a rebuild starts with none.
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
    ) -> None:
        self.directory = directory
        self.model = model
        self.dimensions = dimensions
        self.main = main
        self.delta = delta
        self.hidden = hidden
        self.sequence = sequence

    # -- files ------------------------------------------------------------------------

    @classmethod
    def open(cls, directory: Path) -> LayeredIndex:
        """Map the main graph and load the delta. FileNotFoundError when there is none."""
        for attempt in range(2):
            meta = json.loads((directory / META_FILE).read_text(encoding="utf-8"))
            model, dimensions = str(meta["model"]), int(meta["dimensions"])
            main_count = int(meta.get("main_count", meta.get("count", 0)))
            main = VectorIndex.open(directory) if main_count else None
            name = meta.get("delta")
            delta = VectorIndex.empty(model=model, dimensions=dimensions)
            if name:
                try:
                    delta.load(directory / str(name))
                except FileNotFoundError:
                    if attempt:
                        raise
                    continue  # a writer replaced it just now: read the new description
            return cls(
                directory,
                model=model,
                dimensions=dimensions,
                main=main,
                delta=delta,
                hidden={int(key) for key in meta.get("hidden", ())},
                sequence=int(meta.get("sequence", 0)),
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
            "delta": delta,
            "sequence": self.sequence,
            "hidden": sorted(self.hidden),
        }

    # -- changes ----------------------------------------------------------------------

    def apply(
        self, fresh: Mapping[int, NDArray[np.float32]], gone: Iterable[int], fold_limit: int
    ) -> bool:
        """Put `fresh` vectors in the delta and hide `gone` keys; save when anything
        changed (folding first past `fold_limit`). Returns whether it changed."""
        gone = [key for key in gone if key not in fresh]
        changed = self.delta.remove(gone) > 0
        in_main = self.main
        for key in [*gone, *fresh]:
            if in_main is not None and key not in self.hidden and key in in_main:
                self.hidden.add(key)
                changed = True
        if fresh:
            self.delta.extend(fresh.items())
            changed = True
        if not changed:
            return False
        if len(self.delta) + len(self.hidden) > fold_limit:
            self.fold()
        else:
            self.save()
        return True

    def fold(self) -> None:
        """Merge the delta into the main graph and drop the hidden keys from it."""
        main = self.main or VectorIndex.empty(model=self.model, dimensions=self.dimensions)
        main.remove(self.hidden)
        main.extend(self.delta.pairs())
        main.save_graph(self.directory / GRAPH_FILE)
        old = self.directory / f"delta-{self.sequence}.usearch"
        self.delta = VectorIndex.empty(model=self.model, dimensions=self.dimensions)
        self.hidden = set()
        self.sequence += 1
        count = len(main)
        # Mapped again, so the folded graph's pages are shared and not held by this process.
        self.main = (
            VectorIndex.open_graph(
                self.directory / GRAPH_FILE, model=self.model, dimensions=self.dimensions
            )
            if count
            else None
        )
        pause_point("vectors-fold-before-description")
        _describe(self.directory, self.description(None))
        old.unlink(missing_ok=True)

    # -- queries ----------------------------------------------------------------------

    def __len__(self) -> int:
        main = len(self.main) - len(self.hidden) if self.main is not None else 0
        return main + len(self.delta)

    def __contains__(self, key: int) -> bool:
        if key in self.delta:
            return True
        return self.main is not None and key not in self.hidden and key in self.main

    def search(self, query: NDArray[np.float32], k: int) -> list[tuple[int, float]]:
        """The `k` nearest papers over both layers: (key, cosine), best first."""
        found = dict(self.delta.search(query, k))
        if self.main is not None:
            # Over-fetch by the hidden keys that could stand among the first k.
            extra = min(len(self.hidden), max(k, 16))
            for key, cosine in self.main.search(query, k + extra):
                if key not in self.hidden and key not in found:
                    found[key] = cosine
        return sorted(found.items(), key=lambda pair: -pair[1])[:k]

    def cosines(self, query: NDArray[np.float32], keys: Iterable[int]) -> list[tuple[int, float]]:
        wanted = list(dict.fromkeys(keys))
        out = self.delta.cosines(query, wanted)
        if self.main is not None:
            taken = {key for key, _ in out}
            rest = (k for k in wanted if k not in taken and k not in self.hidden)
            out += self.main.cosines(query, rest)
        return out

    def vector(self, key: int) -> NDArray[np.float32] | None:
        if key in self.delta:
            return self.delta.vector(key)
        if self.main is None or key in self.hidden:
            return None
        return self.main.vector(key)
