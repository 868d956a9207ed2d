"""The one seam where SQLite and PostgreSQL differ: a strategy object chosen once per engine.

The repositories write portable SQLAlchemy and ask their `SqlDialect` for the few things
that are spelled differently per backend: an insert that skips conflicting rows, row locks
for concurrent claimers, and the bulk insert of new rows. Nothing else in `storage/` looks at
the dialect name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import Table, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect as SaDialect
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

# A bind processor per column that needs one: (position, column name, processor).
_Processors = list[tuple[int, str, Callable[[Any], Any]]]


class SqlDialect(Protocol):
    """What the repositories need to know about the backend, and nothing more."""

    name: str

    def insert_ignoring(self, table: Table, index_elements: Sequence[str]) -> Any:
        """`INSERT … ON CONFLICT (index_elements) DO NOTHING` for `table`."""
        ...

    def skip_locked(self, stmt: Select[Any], of: Any) -> Select[Any]:
        """`stmt` locking the rows of `of` it returns, skipping rows another claimer holds.

        A no-op where the backend has no row locks (SQLite).
        """
        ...

    def lock_for_claim(self, session: Session, stmt: Select[Any], of: Any) -> Select[Any]:
        """Make `stmt` safe to read-then-claim from several processes at once.

        PostgreSQL locks the selected rows `FOR UPDATE SKIP LOCKED`, so replicas split the
        rows between them. SQLite has no row locks, so it takes the database write lock
        before the read: a second process then waits and reads only committed claims.
        """
        ...

    def insert_new_rows(self, session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
        """Insert `rows` (all with the same keys) into `table`, no keys returned."""
        ...


class PostgresDialect:
    name = "postgresql"

    def insert_ignoring(self, table: Table, index_elements: Sequence[str]) -> Any:
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)

    def skip_locked(self, stmt: Select[Any], of: Any) -> Select[Any]:
        return stmt.with_for_update(skip_locked=True, of=of)

    def lock_for_claim(self, session: Session, stmt: Select[Any], of: Any) -> Select[Any]:
        return self.skip_locked(stmt, of)

    def insert_new_rows(self, session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
        session.execute(insert(table), rows)


@dataclass
class SqliteDialect:
    """SQLite: no row locks, and a bulk insert that bypasses per-row parameter processing."""

    name = "sqlite"
    _plans: dict[tuple[str, tuple[str, ...]], tuple[str, list[str], _Processors]] = field(
        default_factory=dict
    )

    def insert_ignoring(self, table: Table, index_elements: Sequence[str]) -> Any:
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)

    def skip_locked(self, stmt: Select[Any], of: Any) -> Select[Any]:
        return stmt

    def lock_for_claim(self, session: Session, stmt: Select[Any], of: Any) -> Select[Any]:
        # A no-op UPDATE opens the write transaction (SQLite locks at statement start).
        table: Table = of.__table__
        key = next(iter(table.primary_key.columns))
        session.execute(update(table).where(key == -1).values({key.name: key}))
        return stmt

    def insert_new_rows(self, session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
        """Hand pre-converted tuples straight to the driver's executemany.

        SQLAlchemy's per-row parameter processing (five JSON columns, timestamps) was most of
        the time of a bulk ingest. Values are converted with the columns' own bind
        processors, so what is stored is exactly what the ORM would store.
        """
        if not rows:
            return
        connection = session.connection()
        sql, order, processed = self._plan(connection.dialect, table, tuple(rows[0]))
        raw = itemgetter(*order)
        # Timestamps, dates and short JSON lists repeat across rows: convert each distinct
        # value once (memo per column). Values that are not hashable, or that are mostly
        # distinct (author lists), are converted directly.
        memos: dict[int, dict[Any, Any]] = {index: {} for index, _, _ in processed}
        params: list[tuple[Any, ...]] = []
        for row in rows:
            values = list(raw(row))
            for index, name, process in processed:
                value = values[index]
                if value is None:
                    continue
                if name == "authors":
                    values[index] = process(value)
                    continue
                memo_key = _memo_key(value)
                memo = memos[index]
                if memo_key not in memo:
                    memo[memo_key] = process(value)
                values[index] = memo[memo_key]
            params.append(tuple(values))
        connection.exec_driver_sql(sql, params)

    def _plan(
        self, dialect: SaDialect, table: Table, columns: tuple[str, ...]
    ) -> tuple[str, list[str], _Processors]:
        """The positional INSERT, its parameter order and the columns' bind processors."""
        plan_key = (table.name, columns)
        if plan_key not in self._plans:
            compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
            order = list(compiled.positiontup or columns)
            processed: _Processors = []
            for index, name in enumerate(order):
                process = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processed.append((index, name, process))
            self._plans[plan_key] = (compiled.string, order, processed)
        return self._plans[plan_key]


def _memo_key(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(value)
    if isinstance(value, dict):
        return tuple(value.items())
    return value


def dialect_for(dialect: SaDialect) -> SqlDialect:
    """The strategy for an engine's dialect; only SQLite and PostgreSQL are supported."""
    if dialect.name == "postgresql":
        return PostgresDialect()
    if dialect.name == "sqlite":
        return SqliteDialect()
    raise ValueError(f"unsupported database dialect {dialect.name!r}: use SQLite or PostgreSQL")
