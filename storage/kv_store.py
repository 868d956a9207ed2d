"""The one implementation of the `KeyValueStore` port, over the `kv_store` table.

Both platforms use it: Slack for OAuth installations and states, Discord for page queries
too long for a button's custom_id. Each call is its own short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from storage.db import Database
from storage.tables import KeyValueRow

log = logging.getLogger(__name__)


def _utc_now() -> datetime:
    return datetime.now(UTC)


class SqlKeyValueStore:
    """`bot.ports.KeyValueStore` on the database; `clock` stamps `updated_at`."""

    def __init__(self, db: Database, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.db = db
        self.clock = clock

    def get(self, namespace: str, name: str) -> bytes | None:
        with self.db.session() as session:
            row = session.get(KeyValueRow, (namespace, name))
            return bytes(row.value) if row is not None else None

    def put(self, namespace: str, name: str, value: bytes) -> None:
        with self.db.session() as session:
            session.merge(
                KeyValueRow(namespace=namespace, name=name, value=value, updated_at=self.clock())
            )

    def add(self, namespace: str, name: str, value: bytes) -> bool:
        try:
            with self.db.session() as session:
                if session.get(KeyValueRow, (namespace, name)) is not None:
                    return False
                session.add(
                    KeyValueRow(
                        namespace=namespace, name=name, value=value, updated_at=self.clock()
                    )
                )
        except IntegrityError:
            # A concurrent writer inserted the same name between our read and our insert.
            log.debug("kv %s/%s stored concurrently", namespace, name)
            return False
        return True

    def pop(self, namespace: str, name: str) -> tuple[bytes, datetime] | None:
        with self.db.session() as session:
            row = session.get(KeyValueRow, (namespace, name))
            if row is None:
                return None
            found = (bytes(row.value), row.updated_at)
            session.delete(row)
        return found

    def delete(self, namespace: str, name: str) -> None:
        with self.db.session() as session:
            session.execute(
                delete(KeyValueRow).where(
                    KeyValueRow.namespace == namespace, KeyValueRow.name == name
                )
            )

    def delete_prefix(self, namespace: str, prefix: str) -> None:
        with self.db.session() as session:
            session.execute(
                delete(KeyValueRow).where(
                    KeyValueRow.namespace == namespace,
                    KeyValueRow.name.startswith(prefix, autoescape=True),
                )
            )
