"""Embedding the papers: incremental, resumable, and durable through `PaperVectorStore`.

`embed_pending` embeds only the papers whose vector under the current model is missing or
was computed from another text (a changed title or abstract), in batches, committing each
batch: a crash loses at most one batch, and the next run carries on where it stopped.
Vectors are stored under `model_key(encoder)`, the encoder's name and version, so a new
model (or a new tokenisation) finds nothing stored and re-embeds everything, while search
keeps the old model's rows until `prune` once the new set is complete.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.models import Paper
from bot.ports import UnitOfWorkFactory
from bot.search.embedding import Encoder, paper_text
from bot.search.vector_ports import PaperVector

DEFAULT_BATCH = 1024

# (papers embedded so far, papers to embed): drives a progress bar.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class EmbedStats:
    model: str
    embedded: int
    unchanged: int
    pruned: int
    seconds: float


def model_key(encoder: Encoder) -> str:
    """What the stored vectors are keyed by: the encoder's name and version."""
    return f"{encoder.model_id}@{encoder.model_version}"


def text_of(paper: Paper) -> str:
    return paper_text(paper.title, paper.abstract)


def fingerprint(text: str) -> str:
    """A short stable hash of the embedded text (not a security measure)."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


def pending(uow: UnitOfWorkFactory, model: str) -> tuple[list[int], int, int]:
    """The keys of papers to embed under `model`, how many of those read are up to date,
    and the change number they were read at (the mark to set once they are embedded).

    Only papers written since the model's mark are read (every paper the first time), so a
    daily ingest into a large database reads its own few hundred papers, not all of them.
    """
    with uow() as u:
        last, keys = u.vectors.written_since_mark(model)
        todo: list[int] = []
        fresh = 0
        for key, title, abstract, known in u.vectors.texts(model, keys):
            if known == fingerprint(paper_text(title, abstract)):
                fresh += 1
            else:
                todo.append(key)
    return todo, fresh, last


def embed_pending(
    uow: UnitOfWorkFactory,
    encoder: Encoder,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    prune: bool = True,
) -> EmbedStats:
    """Embed every paper that has no up-to-date vector under the encoder's model.

    Each batch is read, encoded and stored in its own transaction. With `prune`, the
    vectors of other models are deleted once every paper has one under this model.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    started = time.perf_counter()
    model = model_key(encoder)
    todo, fresh, last = pending(uow, model)
    done = 0
    if progress is not None:
        progress(0, len(todo))
    for start in range(0, len(todo), batch_size):
        keys = todo[start : start + batch_size]
        with uow() as u:
            papers = u.papers.get_many(keys)
        _store(uow, model, encoder, papers)
        done += len(keys)
        if progress is not None:
            progress(done, len(todo))
    with uow() as u:
        # Every paper written up to `last` now has its vector (those this run stored were
        # re-stamped later, so the next run checks them once more: cheap, and safe).
        u.vectors.set_mark(model, last)
    pruned = 0
    if prune:
        with uow() as u:
            pruned = u.vectors.prune(model)
    return EmbedStats(model, done, fresh, pruned, time.perf_counter() - started)


def _store(uow: UnitOfWorkFactory, model: str, encoder: Encoder, papers: Sequence[Paper]) -> None:
    texts = [text_of(p) for p in papers]
    vectors = encoder.encode(texts)
    rows = [
        PaperVector(p.key, fingerprint(t), v)
        for p, t, v in zip(papers, texts, vectors, strict=True)
    ]
    with uow() as u:
        u.vectors.put_many(model, rows)
