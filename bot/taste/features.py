"""The paper-features port: turns papers into vectors a channel's classifier learns over.

`PaperFeatures.fit(papers)` returns a `FeatureSpace` for one ranking job (a digest run, a
`taste` command): the pool it was fitted on fixes the vocabulary or the embedding model.
`FeatureSpace.vectors(papers)` gives one L2-normalised row per paper (a scipy sparse
matrix or a dense numpy array: scikit-learn's linear models take both), and `terms` names
the dimensions when they mean something to a reader (TF-IDF words), else it is None.

`TfidfFeatures` is the implementation used today: scikit-learn's `TfidfVectorizer` over
title + abstract (uni- and bigrams, English stop words dropped, sublinear tf).

Plugging in dense paper vectors (issue 12, now stored per paper behind
`bot.search.vector_ports.PaperVectorStore`, read with `uow.vectors.vectors(model)`) is one
class, no caller changes:

    class EmbeddingFeatures:
        def __init__(self, vectors_for: Callable[[Sequence[Paper]], np.ndarray]) -> None: ...
        def fit(self, papers):            # nothing to fit: the encoder is fixed
            return EmbeddingSpace(self.vectors_for)
    class EmbeddingSpace:
        terms = None                      # explanations then name the nearest liked paper
        def vectors(self, papers):        # rows L2-normalised, e.g. from the vector index
            return self.vectors_for(papers)

and pass it where `TasteRanker(features=...)` is built (`runtime/` for digests and commands,
`bench/taste.py --features`). `StackedFeatures` below concatenates spaces, so TF-IDF terms
(for explanations) and embeddings (for recall) can be learned over together.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from bot.models import Paper

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import TfidfVectorizer

# scikit-learn and scipy are imported where they are used: importing them costs about a
# second, which every CLI command would otherwise pay even when no channel has voted.

__all__ = ["FeatureSpace", "PaperFeatures", "StackedFeatures", "TfidfFeatures", "paper_text"]

# Matrices of paper vectors: scipy sparse (TF-IDF) or dense numpy (embeddings).
Matrix = Any


def paper_text(paper: Paper) -> str:
    """What a paper's features are computed from: its title (twice: it is the densest
    statement of the topic) and its abstract."""
    return f"{paper.title}. {paper.title}. {paper.abstract or ''}"


class FeatureSpace(Protocol):
    """Vectors for papers in one fitted space."""

    @property
    def terms(self) -> Sequence[str] | None:
        """Names of the dimensions (words) when they are readable, else None."""
        ...

    def vectors(self, papers: Sequence[Paper]) -> Matrix:
        """One L2-normalised row per paper, in order."""
        ...


class PaperFeatures(Protocol):
    """Builds a feature space from a pool of papers (the candidates and the voted ones)."""

    def fit(self, papers: Sequence[Paper]) -> FeatureSpace: ...


class TfidfSpace:
    def __init__(self, vectorizer: TfidfVectorizer) -> None:
        self._vectorizer = vectorizer
        # Transforming is the costly part of a retrain, and a paper's row never changes
        # within a space: rows are computed once, kept in one matrix, found by paper key.
        self._matrix: Any = None
        self._row: dict[int, int] = {}
        self._terms: Sequence[str] | None = None

    @property
    def terms(self) -> Sequence[str]:
        if self._terms is None:
            self._terms = list(self._vectorizer.get_feature_names_out())
        return self._terms

    def vectors(self, papers: Sequence[Paper]) -> Matrix:
        from scipy import sparse

        missing: dict[int, Paper] = {}
        for p in papers:
            if p.key not in self._row:
                missing.setdefault(p.key, p)
        if missing:
            rows = self._vectorizer.transform([paper_text(p) for p in missing.values()])
            base = 0 if self._matrix is None else self._matrix.shape[0]
            self._row.update((key, base + i) for i, key in enumerate(missing))
            self._matrix = (
                rows.tocsr()
                if self._matrix is None
                else sparse.vstack([self._matrix, rows], format="csr")
            )
        if not papers:
            return sparse.csr_matrix((0, len(self._vectorizer.vocabulary_)), dtype=np.float32)
        return self._matrix[[self._row[p.key] for p in papers]]


class TfidfFeatures:
    """TF-IDF over title + abstract, fitted on the pool a ranking job works on."""

    def __init__(self, *, max_features: int = 20_000, min_df: int = 1) -> None:
        self.max_features = max_features
        self.min_df = min_df

    def fit(self, papers: Sequence[Paper]) -> TfidfSpace:
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectorizer = TfidfVectorizer(
            stop_words="english",
            ngram_range=(1, 2),
            sublinear_tf=True,
            max_features=self.max_features,
            min_df=self.min_df if len(papers) >= 50 else 1,
            max_df=0.5 if len(papers) >= 50 else 1.0,
            dtype=np.float32,
        )
        texts = [paper_text(p) for p in papers] or ["empty"]
        try:
            vectorizer.fit(texts)
        except ValueError:
            # Every word was a stop word (tiny pools): fall back to keeping them all.
            vectorizer.set_params(stop_words=None, max_df=1.0, min_df=1)
            vectorizer.fit([*texts, "paper"])
        return TfidfSpace(vectorizer)


class StackedSpace:
    def __init__(self, spaces: Sequence[FeatureSpace]) -> None:
        self.spaces = spaces

    @property
    def terms(self) -> Sequence[str] | None:
        return self.spaces[0].terms

    def vectors(self, papers: Sequence[Paper]) -> Matrix:
        from scipy import sparse

        blocks = [sparse.csr_matrix(s.vectors(papers)) for s in self.spaces]
        stacked = sparse.hstack(blocks, format="csr")
        # Each block is unit length; rescale so the whole row is too.
        return stacked * (1.0 / np.sqrt(len(blocks)))


class StackedFeatures:
    """Several feature spaces side by side; the first one's terms explain picks."""

    def __init__(self, *features: PaperFeatures) -> None:
        self.features = features

    def fit(self, papers: Sequence[Paper]) -> StackedSpace:
        return StackedSpace([f.fit(papers) for f in self.features])
