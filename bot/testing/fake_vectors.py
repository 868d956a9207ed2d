"""In-memory paper vectors (issue 12), behind `FakeDatabase`."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from numpy.typing import NDArray

from bot.search.vector_ports import PaperVector
from bot.testing.fake_repositories import FakeState


class FakePaperVectors:
    def __init__(self, state: FakeState) -> None:
        self.state = state

    def fingerprints(self, model: str) -> dict[int, str]:
        return {key: fp for (m, key), (fp, _) in self.state.vectors.items() if m == model}

    def any_stored(self, model: str) -> bool:
        return any(m == model for m, _ in self.state.vectors)

    def written_since_mark(self, model: str) -> tuple[int, list[int]]:
        mark = self.state.vector_marks.get(model)
        keys = [k for k in self.state.papers if mark is None or self.state.changes.get(k, 0) > mark]
        return self.state.change, sorted(keys)

    def texts(
        self, model: str, keys: Sequence[int]
    ) -> Iterator[tuple[int, str, str | None, str | None]]:
        for key in keys:
            paper = self.state.papers.get(key)
            if paper is not None:
                stored = self.state.vectors.get((model, key))
                yield key, paper.title, paper.abstract, stored[0] if stored else None

    def set_mark(self, model: str, change: int) -> None:
        self.state.vector_marks[model] = max(change, self.state.vector_marks.get(model, change))

    def put_many(self, model: str, vectors: Sequence[PaperVector]) -> None:
        if not vectors:
            return  # as storage: an empty write takes no change number
        # As storage does: the vectors take a new change number, the papers keep theirs.
        self.state.change += 1
        for v in vectors:
            # float16 like the SQL store, so tests see the same rounding.
            stored = np.asarray(v.vector, dtype=np.float16).astype(np.float32)
            self.state.vectors[(model, v.key)] = (v.fingerprint, stored)
            self.state.vector_changes[(model, v.key)] = self.state.change

    def changed_between(
        self, model: str, after: int, upto: int, batch_size: int = 5000
    ) -> Iterator[tuple[PaperVector, str, str | None]]:
        found = sorted(
            (change, key)
            for (m, key), change in self.state.vector_changes.items()
            if m == model and after < change <= upto and (m, key) in self.state.vectors
        )
        for _, key in found:
            paper = self.state.papers.get(key)
            if paper is None or after < self.state.changes.get(key, 0) <= upto:
                continue
            fp, vector = self.state.vectors[(model, key)]
            yield PaperVector(key, fp, vector), paper.title, paper.abstract

    def get_many(self, model: str, keys: Sequence[int]) -> dict[int, PaperVector]:
        found = {}
        for key in keys:
            stored = self.state.vectors.get((model, key))
            if stored is not None:
                found[key] = PaperVector(key, stored[0], stored[1])
        return found

    def vectors(
        self, model: str, batch_size: int = 5000
    ) -> Iterator[tuple[int, NDArray[np.float32]]]:
        found = [(key, vec) for (m, key), (_, vec) in self.state.vectors.items() if m == model]
        found.sort(key=lambda pair: pair[0])
        yield from found

    def prune(self, keep_model: str) -> int:
        gone = [k for k in self.state.vectors if k[0] != keep_model]
        for k in gone:
            del self.state.vectors[k]
        for m in [m for m in self.state.vector_marks if m != keep_model]:
            del self.state.vector_marks[m]
        return len(gone)
