"""The migration heads `Database.upgrade` reads without alembic are alembic's own."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from storage.db import Database, head_revisions


def test_heads_read_from_the_files_are_alembics(sqlite_db: Database) -> None:
    script = ScriptDirectory.from_config(sqlite_db.alembic_config())
    assert head_revisions() == frozenset(script.get_heads())


def test_a_current_database_is_left_as_it_is(db: Database) -> None:
    before, after = db.upgrade()
    assert set(before) == set(after) == head_revisions()
    assert db.revisions() == before
