"""The paper-vector store on the fakes, SQLite and PostgreSQL: the same assertions on each."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from bot.models import PaperRecord
from bot.search.vector_ports import PaperVector
from bot.testing.fakes import FakeDatabase
from storage.db import Database

NOW = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
def db(db_or_fake: Database | FakeDatabase) -> Database | FakeDatabase:
    with db_or_fake.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=f"Paper {i}", source="hf-page") for i in range(3)], seen_at=NOW
        )
    return db_or_fake


def _keys(db: Database | FakeDatabase) -> list[int]:
    with db.uow() as uow:
        return sorted(p.key for p in uow.papers.iter_all())


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(8).astype(np.float32)
    return v / np.linalg.norm(v)


def test_vectors_round_trip_per_model_as_float16(db: Database | FakeDatabase) -> None:
    a, b, c = _keys(db)
    with db.uow() as uow:
        uow.vectors.put_many(
            "m@1", [PaperVector(a, "fa", _unit(1)), PaperVector(b, "fb", _unit(2))]
        )
        uow.vectors.put_many("m@2", [PaperVector(c, "fc", _unit(3))])
    with db.uow() as uow:
        assert uow.vectors.fingerprints("m@1") == {a: "fa", b: "fb"}
        assert uow.vectors.fingerprints("m@2") == {c: "fc"}
        stored = list(uow.vectors.vectors("m@1", batch_size=1))
    assert [k for k, _ in stored] == [a, b]
    np.testing.assert_allclose(stored[0][1], _unit(1), atol=1e-3)
    assert stored[0][1].dtype == np.float32


def test_put_replaces_and_prune_keeps_only_one_model(db: Database | FakeDatabase) -> None:
    a, b, _ = _keys(db)
    with db.uow() as uow:
        uow.vectors.put_many("old", [PaperVector(a, "x", _unit(1)), PaperVector(b, "x", _unit(1))])
        uow.vectors.put_many("new", [PaperVector(a, "x", _unit(1))])
    with db.uow() as uow:
        uow.vectors.put_many("new", [PaperVector(a, "y", _unit(4))])
    with db.uow() as uow:
        assert uow.vectors.fingerprints("new") == {a: "y"}
        np.testing.assert_allclose(dict(uow.vectors.vectors("new"))[a], _unit(4), atol=1e-3)
        assert uow.vectors.prune("new") == 2
    with db.uow() as uow:
        assert uow.vectors.fingerprints("old") == {}
        assert uow.vectors.fingerprints("new") == {a: "y"}


def test_a_failed_unit_of_work_keeps_no_vector(db: Database | FakeDatabase) -> None:
    a, _, _ = _keys(db)
    with pytest.raises(RuntimeError), db.uow() as uow:
        uow.vectors.put_many("m", [PaperVector(a, "x", _unit(1))])
        raise RuntimeError("boom")
    with db.uow() as uow:
        assert uow.vectors.fingerprints("m") == {}


def test_a_mark_limits_the_papers_read_to_those_written_since(
    db: Database | FakeDatabase,
) -> None:
    a, b, c = _keys(db)
    with db.uow() as uow:
        last, keys = uow.vectors.written_since_mark("m")
        assert sorted(keys) == [a, b, c]  # no mark yet: every paper
        uow.vectors.put_many("m", [PaperVector(a, "fa", _unit(1))])
        uow.vectors.set_mark("m", last)
    with db.uow() as uow:
        # Storing `a`'s vector did not write the paper: nothing was written since the mark.
        assert uow.vectors.written_since_mark("m")[1] == []
        assert sorted(uow.vectors.written_since_mark("other")[1]) == [a, b, c]
        texts = {key: (title, fp) for key, title, _, fp in uow.vectors.texts("m", [a, b])}
        assert texts == {a: ("Paper 0", "fa"), b: ("Paper 1", None)}
        uow.vectors.set_mark("m", last - 1)  # a mark never moves back
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title="Paper 0", source="x")], seen_at=NOW)
    with db.uow() as uow:
        assert uow.vectors.written_since_mark("m")[1] == [a]
        assert uow.vectors.prune("m") == 0
        assert uow.vectors.written_since_mark("m")[1] == [a]


def _changed(db: Database | FakeDatabase, model: str, after: int, upto: int) -> list[tuple]:
    with db.uow() as uow:
        return [
            (v.key, v.fingerprint, title)
            for v, title, _ in uow.vectors.changed_between(model, after, upto, batch_size=1)
        ]


def test_a_vector_write_takes_a_change_number_and_leaves_the_paper_alone(
    db: Database | FakeDatabase,
) -> None:
    a, b, c = _keys(db)
    with db.uow() as uow:
        start = uow.papers.last_change()
    with db.uow() as uow:
        uow.vectors.put_many("m", [PaperVector(b, "fb", _unit(2)), PaperVector(a, "fa", _unit(1))])
        uow.vectors.put_many("other", [PaperVector(c, "fc", _unit(3))])
    with db.uow() as uow:
        first = uow.papers.last_change()
        assert first > start  # from the papers' counter (one per SQL transaction)
        assert list(uow.papers.changed_between(start, first)) == []  # no paper re-stamped
    with db.uow() as uow:
        uow.vectors.put_many("m", [PaperVector(c, "fc", _unit(3))])
    with db.uow() as uow:
        second = uow.papers.last_change()
    # In (change, key) order, each with its paper's title, per model, within the range.
    assert _changed(db, "m", start, second) == [
        (a, "fa", "Paper 0"),
        (b, "fb", "Paper 1"),
        (c, "fc", "Paper 2"),
    ]
    assert _changed(db, "m", first, second) == [(c, "fc", "Paper 2")]
    assert _changed(db, "m", start, first) == [(a, "fa", "Paper 0"), (b, "fb", "Paper 1")]
    assert _changed(db, "other", start, second) == [(c, "fc", "Paper 2")]
    assert _changed(db, "m", second, second) == []
    # A vector replaced later carries the later number only.
    with db.uow() as uow:
        uow.vectors.put_many("m", [PaperVector(a, "fa2", _unit(4))])
    with db.uow() as uow:
        third = uow.papers.last_change()
    assert _changed(db, "m", start, second) == [(b, "fb", "Paper 1"), (c, "fc", "Paper 2")]
    assert _changed(db, "m", second, third) == [(a, "fa2", "Paper 0")]
    # A paper written in the range itself is left out: the catch-up applies it as a paper.
    with db.uow() as uow:
        uow.papers.upsert_many([PaperRecord(title="Paper 1", source="y")], seen_at=NOW)
    with db.uow() as uow:
        fourth = uow.papers.last_change()
    assert _changed(db, "m", start, fourth) == [(c, "fc", "Paper 2"), (a, "fa2", "Paper 0")]
    assert [k for k, _, _ in _changed(db, "m", start, third)] == [b, c, a]
