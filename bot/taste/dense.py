"""Dense taste features: the stored paper vectors (issue 12) as the classifier's input.

`EmbeddingFeatures` implements the paper-features port over vectors read from a
`PaperVectorStore` (`stored_vectors`). Nothing is fitted: the encoder is fixed, so a space
only caches rows by paper key. A retrain asks its space for every training paper at once
(`fit_taste` calls `vectors` once with the voted papers, the keywords and the background),
so each channel's model costs one `get_many` for the rows not read yet.

Papers without a stored vector (not embedded yet: ingest embeds new papers, `papers-bot
embed` the older ones) get a zero row. With dense features alone their taste margin is the
classifier's intercept, the same for all of them, so among themselves they keep the
trending order (the prior), and as training examples they teach nothing. With
`StackedFeatures(TfidfFeatures(), EmbeddingFeatures(...))` their TF-IDF block still counts,
which is the fallback the composition root uses. Keyword pseudo-votes (negative keys, never
stored) are embedded with the query encoder when one is given.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from bot.models import Paper
from bot.search.encoder_id import DIMENSIONS

if TYPE_CHECKING:
    from bot.ports import UnitOfWorkFactory

__all__ = ["EmbeddingFeatures", "EmbeddingSpace", "VectorSource", "stored_vectors"]

# Vectors for papers, by paper key; papers left out have none.
VectorSource = Callable[[Sequence[Paper]], Mapping[int, NDArray[np.float32]]]
# Texts -> unit rows (`bot.search.embedding.Encoder.encode`).
EncodeTexts = Callable[[Sequence[str]], NDArray[np.float32]]


def stored_vectors(
    uow: UnitOfWorkFactory, model: str, encode: Callable[[], EncodeTexts] | None = None
) -> VectorSource:
    """Reads papers' vectors under `model` in one short read transaction; keyword
    pseudo-papers (key < 0) are embedded by `encode()` (built on first use) if given.

    Stored vectors are used whatever text they were computed from: a vector one abstract
    edit old still says what the paper is about, and re-embedding is ingest's job.
    """
    encoder: list[EncodeTexts] = []

    def read(papers: Sequence[Paper]) -> Mapping[int, NDArray[np.float32]]:
        keys = [p.key for p in papers if p.key > 0]
        found: dict[int, NDArray[np.float32]] = {}
        if keys:
            with uow() as unit:
                found = {k: v.vector for k, v in unit.vectors.get_many(model, keys).items()}
        pseudo = [p for p in papers if p.key < 0]
        if pseudo and encode is not None:
            if not encoder:
                encoder.append(encode())
            rows = encoder[0]([p.title for p in pseudo])
            found.update((p.key, rows[i]) for i, p in enumerate(pseudo))
        return found

    return read


class EmbeddingSpace:
    """Rows of stored vectors, cached by paper key for the life of the space."""

    terms = None  # dimensions mean nothing to a reader: "why" names the nearest liked paper

    def __init__(self, source: VectorSource, dimensions: int) -> None:
        self.source = source
        self.dimensions = dimensions
        self._rows: dict[int, NDArray[np.float32]] = {}
        self._zero = np.zeros(dimensions, dtype=np.float32)

    def vectors(self, papers: Sequence[Paper]) -> NDArray[np.float32]:
        missing = list({p.key: p for p in papers if p.key not in self._rows}.values())
        if missing:
            found = self.source(missing)
            for paper in missing:
                row = found.get(paper.key)
                if row is None:
                    self._rows[paper.key] = self._zero
                    continue
                row = np.asarray(row, dtype=np.float32)
                # Stored as float16: renormalise so that a dot product is a cosine.
                norm = float(np.linalg.norm(row))
                self._rows[paper.key] = row / norm if norm > 0 else self._zero
        if not papers:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        return np.vstack([self._rows[p.key] for p in papers])


class EmbeddingFeatures:
    """The paper-features port over stored vectors; `fit` only starts a fresh cache."""

    def __init__(self, source: VectorSource, dimensions: int = DIMENSIONS) -> None:
        self.source = source
        self.dimensions = dimensions

    def fit(self, papers: Sequence[Paper]) -> EmbeddingSpace:
        return EmbeddingSpace(self.source, self.dimensions)
