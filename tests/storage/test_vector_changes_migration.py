"""Migration 0018: stored vectors take their paper's change number, and the index on
(model, change) matches the tables; the downgrade re-stamps the papers whose vector is
newer than their row (as the older code stamped them), keeping every vector."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from bot.models import PaperRecord
from bot.search.vector_ports import PaperVector
from storage.db import Database
from storage.tables import Base

T0 = datetime(2026, 11, 30, 9, tzinfo=UTC)
BEFORE = "0017_merge_refs"


def _rows(database: Database, query: str) -> list[tuple[Any, ...]]:
    with database.engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(sa.text(query)))


def _changes(database: Database) -> dict[int, int]:
    return dict(_rows(database, "SELECT key, change FROM papers"))  # type: ignore[arg-type]


def test_upgrade_backfills_from_the_papers_and_downgrade_restamps_them(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        command.upgrade(database.alembic_config(), BEFORE)
        for n in (1, 2, 3):  # three transactions: three change numbers
            with database.uow() as uow:
                uow.papers.upsert_many([PaperRecord(title=f"Paper {n}", source="t")], seen_at=T0)
        k1, k2, k3 = sorted(_changes(database))
        with database.engine.begin() as conn:
            for key in (k1, k2):  # as 0017 stored them: no change column
                conn.execute(
                    sa.text(
                        "INSERT INTO paper_vectors (paper_key, model, fingerprint, vector)"
                        " VALUES (:key, 'm', 'f', :raw)"
                    ),
                    {"key": key, "raw": b"\x00\x3c" * 4},
                )
        papers = _changes(database)

        database.upgrade()
        assert _rows(database, "SELECT paper_key, change FROM paper_vectors") == [
            (k1, papers[k1]),
            (k2, papers[k2]),
        ]
        with database.engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diffs if "paper_vectors" in repr(d)] == []

        # A vector written after the upgrade: a number of its own, the paper left alone.
        with database.uow() as uow:
            uow.vectors.put_many("m", [PaperVector(k3, "g", np.ones(4, np.float32) / 2)])
            stamped = uow.papers.last_change()
        assert stamped > max(papers.values()) and _changes(database) == papers

        command.downgrade(database.alembic_config(), BEFORE)
        columns = {c["name"] for c in sa.inspect(database.engine).get_columns("paper_vectors")}
        assert "change" not in columns
        assert _rows(database, "SELECT paper_key, fingerprint FROM paper_vectors") == [
            (k1, "f"),
            (k2, "f"),
            (k3, "g"),
        ]
        # The older catch-up finds the vector-only write through its paper.
        assert _changes(database) == {**papers, k3: stamped}

        database.upgrade()
        assert _rows(database, "SELECT paper_key, change FROM paper_vectors") == [
            (k1, papers[k1]),
            (k2, papers[k2]),
            (k3, stamped),
        ]
    finally:
        database.dispose()
