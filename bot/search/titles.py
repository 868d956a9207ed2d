"""The titles of the indexed papers, kept beside the tantivy index for re-ranking.

Re-ranking compares the query with ~200 candidate titles per search; reading them from
tantivy's compressed doc store costs tens of milliseconds when the blocks are cold, so the
titles live in a dict.  On disk they are a `marshal` base file (loads in milliseconds even
at a million titles) plus an append-only log of later changes, folded into the base when
it grows.  Replaying the log over a base that already holds it gives the same dict, so a
crash between writing the new base and emptying the log loses nothing.
"""

from __future__ import annotations

import json
import marshal
import os
from collections.abc import Iterable
from pathlib import Path

BASE_FILE = "titles.marshal"
LOG_FILE = "titles.jsonl"
_MIN_COMPACT = 50_000


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically: a temporary file, fsync, then rename over."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


class TitleStore:
    """key -> title, persisted as base + log in `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.titles: dict[int, str] = {}
        self._logged = 0

    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (directory / BASE_FILE).is_file()

    def load(self) -> None:
        with (self.directory / BASE_FILE).open("rb") as handle:
            self.titles = marshal.load(handle)
        self._logged = 0
        log = self.directory / LOG_FILE
        if not log.is_file():
            return
        with log.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    key, title = json.loads(line)
                except (ValueError, TypeError):
                    continue  # a line cut short by a crash mid-write
                self._apply(int(key), title)
                self._logged += 1

    def _apply(self, key: int, title: str | None) -> None:
        if title is None:
            self.titles.pop(key, None)
        else:
            self.titles[key] = str(title)

    def record(self, changes: Iterable[tuple[int, str | None]]) -> None:
        """Apply and persist (key, title) pairs; a None title removes the key."""
        batch = list(changes)
        if not batch:
            return
        for key, title in batch:
            self._apply(key, title)
        with (self.directory / LOG_FILE).open("a", encoding="utf-8") as log:
            log.writelines(json.dumps([key, title]) + "\n" for key, title in batch)
        self._logged += len(batch)
        if self._logged > max(_MIN_COMPACT, len(self.titles) // 4):
            self.save()

    def save(self) -> None:
        """Write every title into the base file and empty the log."""
        replace_file(self.directory / BASE_FILE, marshal.dumps(self.titles))
        replace_file(self.directory / LOG_FILE, b"")
        self._logged = 0
