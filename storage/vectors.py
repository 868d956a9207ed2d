"""The SQL paper vectors (issue 12): one row per (paper, model), float16 bytes.

The rows are the durable copy of every embedding: a restart or a second replica reads them
instead of running the encoder again, and the query-time index (`bot.search.vectors`) is
rebuilt from them. Each row carries the change number of the transaction that wrote it, so
an index applies a new vector to its vector part alone (`changed_between`). A model change
leaves the old rows alone until `prune`, so a half-done re-embedding never leaves search
without vectors.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, Table, delete, or_, select, tuple_
from sqlalchemy.orm import Session

from bot.search.vector_ports import PaperVector
from storage.changes import change_number, last_change
from storage.dialect import SqlDialect
from storage.tables import PaperRow, PaperVectorRow, VectorMarkRow

_VECTORS = cast(Table, PaperVectorRow.__table__)
# Parameters per DELETE … IN: well under SQLite's 32,766 variables.
_CHUNK = 2000


def to_bytes(vector: NDArray[np.float32]) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def from_bytes(raw: bytes) -> NDArray[np.float32]:
    return np.frombuffer(raw, dtype="<f2").astype(np.float32)


class SqlPaperVectors:
    def __init__(self, session: Session, dialect: SqlDialect) -> None:
        self.session = session
        self.dialect = dialect

    def fingerprints(self, model: str) -> dict[int, str]:
        rows = self.session.execute(
            select(PaperVectorRow.paper_key, PaperVectorRow.fingerprint).where(
                PaperVectorRow.model == model
            )
        )
        return {int(key): str(fingerprint) for key, fingerprint in rows}

    def any_stored(self, model: str) -> bool:
        found = self.session.execute(
            select(PaperVectorRow.paper_key).where(PaperVectorRow.model == model).limit(1)
        ).first()
        return found is not None

    def written_since_mark(self, model: str) -> tuple[int, list[int]]:
        last = last_change(self.session)
        mark = self.session.scalar(select(VectorMarkRow.change).where(VectorMarkRow.model == model))
        query = select(PaperRow.key)
        if mark is not None:
            # A range on the indexed change column: a daily ingest reads its own papers.
            query = query.where(PaperRow.change > mark)
        return last, [int(key) for key in self.session.scalars(query)]

    def texts(
        self, model: str, keys: Sequence[int]
    ) -> Iterator[tuple[int, str, str | None, str | None]]:
        for start in range(0, len(keys), _CHUNK):
            rows = self.session.execute(
                select(PaperRow.key, PaperRow.title, PaperRow.abstract, PaperVectorRow.fingerprint)
                .outerjoin(
                    PaperVectorRow,
                    (PaperVectorRow.paper_key == PaperRow.key) & (PaperVectorRow.model == model),
                )
                .where(PaperRow.key.in_(keys[start : start + _CHUNK]))
            )
            for key, title, abstract, fingerprint in rows:
                yield int(key), str(title), abstract, fingerprint

    def set_mark(self, model: str, change: int) -> None:
        row = self.session.get(VectorMarkRow, model)
        if row is None:
            self.session.add(VectorMarkRow(model=model, change=change))
        elif change > row.change:
            row.change = change

    def put_many(self, model: str, vectors: Sequence[PaperVector]) -> None:
        if not vectors:
            return
        # The rows take this transaction's change number (the papers' counter, so numbers
        # follow commit order); the paper rows are left alone, so an index's catch-up
        # applies the new vectors to its vector part without indexing the papers again.
        change = change_number(self.session)
        # Delete then insert: portable, and one statement each per chunk.
        for start in range(0, len(vectors), _CHUNK):
            chunk = vectors[start : start + _CHUNK]
            pairs = [(v.key, model) for v in chunk]
            self.session.execute(
                delete(_VECTORS).where(tuple_(_VECTORS.c.paper_key, _VECTORS.c.model).in_(pairs))
            )
            rows = [
                {
                    "paper_key": v.key,
                    "model": model,
                    "fingerprint": v.fingerprint,
                    "vector": to_bytes(v.vector),
                    "change": change,
                }
                for v in chunk
            ]
            self.dialect.insert_new_rows(self.session, _VECTORS, rows)

    def changed_between(
        self, model: str, after: int, upto: int, batch_size: int = 5000
    ) -> Iterator[tuple[PaperVector, str, str | None]]:
        """Through the (model, change) index, in (change, key) order, keyset-paged; the
        papers written in the same range are left out with a join on their own number."""
        # A paper written in the range is applied with its vector by the paper catch-up.
        not_written = or_(PaperRow.change <= after, PaperRow.change > upto)
        after_last: ColumnElement[bool] = _VECTORS.c.change > after
        while True:
            rows = self.session.execute(
                select(
                    _VECTORS.c.paper_key,
                    _VECTORS.c.change,
                    _VECTORS.c.fingerprint,
                    _VECTORS.c.vector,
                    PaperRow.title,
                    PaperRow.abstract,
                )
                .join(PaperRow, PaperRow.key == _VECTORS.c.paper_key)
                .where(_VECTORS.c.model == model, after_last, _VECTORS.c.change <= upto)
                .where(not_written)
                .order_by(_VECTORS.c.change, _VECTORS.c.paper_key)
                .limit(batch_size)
            ).all()
            if not rows:
                return
            for key, _, mark, raw, title, abstract in rows:
                yield PaperVector(int(key), str(mark), from_bytes(raw)), str(title), abstract
            last = rows[-1]
            after_last = tuple_(_VECTORS.c.change, _VECTORS.c.paper_key) > tuple_(last[1], last[0])

    def get_many(self, model: str, keys: Sequence[int]) -> dict[int, PaperVector]:
        found: dict[int, PaperVector] = {}
        unique = sorted(set(keys))
        for start in range(0, len(unique), _CHUNK):
            rows = self.session.execute(
                select(
                    PaperVectorRow.paper_key, PaperVectorRow.fingerprint, PaperVectorRow.vector
                ).where(
                    PaperVectorRow.model == model,
                    PaperVectorRow.paper_key.in_(unique[start : start + _CHUNK]),
                )
            )
            for key, fingerprint, raw in rows:
                found[int(key)] = PaperVector(int(key), str(fingerprint), from_bytes(raw))
        return found

    def vectors(
        self, model: str, batch_size: int = 5000
    ) -> Iterator[tuple[int, NDArray[np.float32]]]:
        last = -1
        while True:
            rows = self.session.execute(
                select(PaperVectorRow.paper_key, PaperVectorRow.vector)
                .where(PaperVectorRow.model == model, PaperVectorRow.paper_key > last)
                .order_by(PaperVectorRow.paper_key)
                .limit(batch_size)
            ).all()
            if not rows:
                return
            for key, raw in rows:
                yield int(key), from_bytes(raw)
            last = int(rows[-1][0])

    def prune(self, keep_model: str) -> int:
        result = self.session.execute(delete(_VECTORS).where(_VECTORS.c.model != keep_model))
        self.session.execute(delete(VectorMarkRow).where(VectorMarkRow.model != keep_model))
        return int(getattr(result, "rowcount", 0) or 0)
