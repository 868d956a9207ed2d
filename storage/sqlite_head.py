"""The change head of a SQLite database file, read with the standard library only.

A CLI search compares it with the index's state: when they match, the index is current and
the search needs neither SQLAlchemy nor a migration check, which is most of a cold start.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_head(path: Path) -> tuple[int, str] | None:
    """(last change number, database id) of the SQLite file, or None if unreadable."""
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        row = connection.execute(
            "SELECT value, database_id FROM paper_change_counter WHERE id = 1"
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return (int(row[0]), str(row[1])) if row else None
