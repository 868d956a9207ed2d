"""The paper-vector store port (`UnitOfWork.vectors`, issue 12), implemented by storage.

Kept beside the search code rather than in `bot/ports.py`, which the module size limit
keeps to the repositories every part uses.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True, slots=True)
class PaperVector:
    """A paper's embedding: `fingerprint` names the text it was computed from."""

    key: int
    fingerprint: str
    vector: NDArray[np.float32]


class PaperVectorStore(Protocol):
    """Durable paper embeddings, one per (paper, model); `model` is encoder name@version."""

    def fingerprints(self, model: str) -> dict[int, str]:
        """Paper key -> fingerprint of every paper embedded under `model`."""
        ...

    def any_stored(self, model: str) -> bool:
        """Whether any paper has a vector under `model` (one indexed lookup)."""
        ...

    def written_since_mark(self, model: str) -> tuple[int, list[int]]:
        """The last committed change number, and the keys of the papers written after the
        mark of `model` (`set_mark`); every paper's key when `model` has no mark yet."""
        ...

    def texts(
        self, model: str, keys: Sequence[int]
    ) -> Iterator[tuple[int, str, str | None, str | None]]:
        """(key, title, abstract, fingerprint stored under `model` or None) of `keys`;
        absent papers are left out."""
        ...

    def set_mark(self, model: str, change: int) -> None:
        """Every paper written at or before `change` has an up-to-date vector under
        `model` (a mark never moves back)."""
        ...

    def put_many(self, model: str, vectors: Sequence[PaperVector]) -> None:
        """Store (or replace) vectors under `model`, stamped with this transaction's change
        number (the papers' sequence, in commit order); the paper rows are not touched, so
        an index applies the vectors to its vector part alone (`changed_between`)."""
        ...

    def changed_between(
        self, model: str, after: int, upto: int, batch_size: int = 5000
    ) -> Iterator[tuple[PaperVector, str, str | None]]:
        """The vectors under `model` written by a change numbered in (after, upto], each
        with its paper's current title and abstract (to check the vector is for that text),
        leaving out the papers whose own row was written in that range: a catch-up applies
        those with their vectors already."""
        ...

    def get_many(self, model: str, keys: Sequence[int]) -> dict[int, PaperVector]:
        """The stored vectors of `keys` under `model` (absent keys are left out)."""
        ...

    def vectors(
        self, model: str, batch_size: int = 5000
    ) -> Iterator[tuple[int, NDArray[np.float32]]]:
        """Every (paper key, vector) under `model`, in key order, read in batches."""
        ...

    def prune(self, keep_model: str) -> int:
        """Delete the vectors (and marks) of every other model; returns how many rows went."""
        ...
