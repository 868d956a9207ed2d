"""Embedding the papers: incremental, resumable, and durable through `PaperVectorStore`.

`embed_pending` embeds only the papers whose vector under the current model is missing or
was computed from another text (a changed title or abstract), in batches, committing each
batch: a crash loses at most one batch, and the next run carries on where it stopped.
Vectors are stored under `model_key(encoder)`, the encoder's name and version, so a new
model (or a new tokenisation) finds nothing stored and re-embeds everything, while search
keeps the old model's rows until `prune` once the new set is complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
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


def embed_pending(
    uow: UnitOfWorkFactory,
    encoder: Encoder,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    prune: bool = True,
) -> EmbedStats:
    """Embed every paper that has no up-to-date vector under the encoder's model.

    A reader thread streams the candidates' texts a batch ahead of the encoder (`_Reader`),
    so the encoder never waits for a read; each encoded batch is stored and committed in its
    own transaction before the next one is encoded, so a crash loses at most one batch. With
    `prune`, the vectors of other models are deleted once every paper has one under this
    model. The progress total is the number of candidates less those found up to date so
    far: exact on a first run, shrinking as the reader skips unchanged papers.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    started = time.perf_counter()
    model = model_key(encoder)
    with uow() as u:
        last, candidates = u.vectors.written_since_mark(model)
    done = fresh = skipped = 0
    if progress is not None:
        progress(0, len(candidates))
    with _Reader(uow, model, candidates, batch_size) as batches:
        for batch in batches:
            fresh += batch.fresh
            skipped += batch.fresh + batch.gone
            if batch.keys:
                vectors = encoder.encode(batch.texts)
                rows = [
                    PaperVector(key, mark, vector)
                    for key, mark, vector in zip(batch.keys, batch.marks, vectors, strict=True)
                ]
                with uow() as u:
                    u.vectors.put_many(model, rows)
                done += len(rows)
            if progress is not None:
                progress(done, len(candidates) - skipped)
    with uow() as u:
        # Every paper written up to `last` now has its vector (storing a vector leaves the
        # paper's own change number alone: a paper written since is read by the next run).
        u.vectors.set_mark(model, last)
    pruned = 0
    if prune:
        with uow() as u:
            pruned = u.vectors.prune(model)
    return EmbedStats(model, done, fresh, pruned, time.perf_counter() - started)


@dataclass(frozen=True, slots=True)
class _Batch:
    """The stale papers of one batch of candidates, how many were up to date, and how many
    were gone (deleted, or merged into another paper, since the candidates were listed)."""

    keys: list[int]
    texts: list[str]
    marks: list[str]  # the texts' fingerprints
    fresh: int
    gone: int


class _Reader:
    """Reads the candidates' texts in batches on a thread of its own, at most `AHEAD`
    batches before the encoder: the reads (a light query on the text columns, and the
    fingerprints) overlap the encoding instead of pausing it, and no step reads every
    paper's text before the first batch is encoded. Only reads happen here; every write
    stays in the caller's thread, in order. An error in the thread is raised in the
    caller's; leaving the `with` block early (an error, Ctrl-C) stops the thread."""

    AHEAD = 2

    def __init__(self, uow: UnitOfWorkFactory, model: str, keys: Sequence[int], size: int) -> None:
        self._uow, self._model, self._keys, self._size = uow, model, keys, size
        self._queue: queue.Queue[_Batch | BaseException | None] = queue.Queue(self.AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="embed-reader", daemon=True)

    def __enter__(self) -> Iterator[_Batch]:
        self._thread.start()
        return self._batches()

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        while self._thread.is_alive():
            # Unblock a reader waiting on a full queue, then let it see the stop.
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _batches(self) -> Iterator[_Batch]:
        while (item := self._queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item

    def _run(self) -> None:
        try:
            for start in range(0, len(self._keys), self._size):
                batch = self._read(self._keys[start : start + self._size])
                if not self._offer(batch):
                    return
            self._offer(None)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._offer(exc)

    def _read(self, keys: Sequence[int]) -> _Batch:
        stale: list[int] = []
        texts: list[str] = []
        marks: list[str] = []
        fresh = 0
        with self._uow() as u:
            rows = list(u.vectors.texts(self._model, keys))
        for key, title, abstract, known in rows:
            text = paper_text(title, abstract)
            mark = fingerprint(text)
            if known == mark:
                fresh += 1
            else:
                stale.append(key)
                texts.append(text)
                marks.append(mark)
        return _Batch(stale, texts, marks, fresh, len(keys) - len(rows))

    def _offer(self, item: _Batch | BaseException | None) -> bool:
        """Queue `item` unless told to stop first; False once stopped."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
