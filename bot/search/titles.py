"""The titles of the indexed papers, kept beside the tantivy index for re-ranking.

Re-ranking compares the query with ~200 candidate titles per search; reading them from
tantivy's compressed doc store costs tens of milliseconds when its blocks are cold, so
titles are looked up here instead.  On disk they are one base file, memory-mapped, so
opening costs nothing at any size (a pickled or marshalled dict took 0.65 s to load at
138k titles on this machine):

    int64 n | int64 keys[n] (sorted) | int64 offsets[n + 1] | UTF-8 titles, concatenated

(native byte order, as `array` writes it)

plus an append-only log (JSON lines) of later changes, held in a small dict and folded
into a new base when it grows.  Replaying the log over a base that already holds it gives
the same titles, so a crash between writing the new base and emptying the log loses
nothing.
"""

from __future__ import annotations

import bisect
import json
import mmap
import os
import struct
from array import array
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

BASE_FILE = "titles.bin"
LOG_FILE = "titles.jsonl"
_MIN_COMPACT = 50_000
_HEADER = 8


def replace_file(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Write `data` to `path` atomically: a temporary file, fsync, then rename over."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("wb") as handle:
        for chunk in [data] if isinstance(data, bytes) else data:
            handle.write(chunk)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def _encode(titles: dict[int, str]) -> Iterator[bytes]:
    keys = array("q", sorted(titles))
    encoded = [titles[k].encode("utf-8") for k in keys]
    offsets = array("q", [0])
    total = 0
    for title in encoded:
        total += len(title)
        offsets.append(total)
    yield struct.pack("q", len(keys))
    yield keys.tobytes()
    yield offsets.tobytes()
    yield b"".join(encoded)


class _Base:
    """The memory-mapped base file: sorted keys, offsets and the title bytes.

    Read through `memoryview.cast("q")` (native int64, as `array` wrote it), so opening
    maps the file and reads nothing: no numpy import, no copy, at any size.
    """

    def __init__(self, path: Path | None) -> None:
        self.keys: Sequence[int] = ()
        self._offsets: Sequence[int] = (0,)
        self._start = 0
        self._blob: memoryview | bytes = b""
        # Titles decoded so far: re-ranking looks up ~300 candidates per search, mostly
        # the same popular ones. It grows with use, never beyond the dict of all titles
        # that the index kept before the titles were mapped.
        self._decoded: dict[int, str | None] = {}
        if path is None or path.stat().st_size == 0:
            return
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        view = memoryview(self._map)
        (n,) = struct.unpack_from("q", view, 0)
        self.keys = view[_HEADER : _HEADER + 8 * n].cast("q")
        self._offsets = view[_HEADER + 8 * n : _HEADER + 8 * (2 * n + 1)].cast("q")
        self._start = _HEADER + 8 * (2 * n + 1)
        self._blob = view

    def get(self, key: int) -> str | None:
        try:
            return self._decoded[key]
        except KeyError:
            pass
        i = bisect.bisect_left(self.keys, key)
        found = None
        if i < len(self.keys) and self.keys[i] == key:
            start, end = self._offsets[i] + self._start, self._offsets[i + 1] + self._start
            found = bytes(self._blob[start:end]).decode("utf-8")
        self._decoded[key] = found
        return found


class TitleStore:
    """key -> title, persisted as a memory-mapped base plus a log of changes."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._base = _Base(None)
        # Changes since the base was written; None marks a removed key.
        self._overlay: dict[int, str | None] = {}
        self._logged = 0

    @classmethod
    def exists(cls, directory: Path) -> bool:
        return (directory / BASE_FILE).is_file()

    def load(self) -> None:
        self._base = _Base(self.directory / BASE_FILE)
        self._overlay = {}
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
                self._overlay[int(key)] = None if title is None else str(title)
                self._logged += 1

    # ------------------------------------------------------------ mapping
    def get(self, key: int, default: str = "") -> str:
        if key in self._overlay:
            title = self._overlay[key]
            return default if title is None else title
        found = self._base.get(key)
        return default if found is None else found

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, int):
            return False
        if key in self._overlay:
            return self._overlay[key] is not None
        return self._base.get(key) is not None

    def __iter__(self) -> Iterator[int]:
        for key in self._base.keys:
            if int(key) not in self._overlay:
                yield int(key)
        for key, title in self._overlay.items():
            if title is not None:
                yield key

    def keys(self) -> set[int]:
        return set(self)

    def __len__(self) -> int:
        # O(changes since the base), not O(titles): the base's count, then the log.
        count = len(self._base.keys)
        for key, title in self._overlay.items():
            in_base = self._base.get(key) is not None
            count += (title is not None) - in_base
        return count

    # ------------------------------------------------------------ writing
    def record(self, changes: Iterable[tuple[int, str | None]]) -> None:
        """Apply and persist (key, title) pairs; a None title removes the key."""
        batch = list(changes)
        if not batch:
            return
        self._overlay.update(batch)
        with (self.directory / LOG_FILE).open("a", encoding="utf-8") as log:
            log.writelines(json.dumps([key, title]) + "\n" for key, title in batch)
        self._logged += len(batch)
        if self._logged > max(_MIN_COMPACT, len(self._base.keys) // 4):
            self.save()

    def save(self, titles: dict[int, str] | None = None) -> None:
        """Write every title (or exactly `titles`) into a new base and empty the log."""
        if titles is None:
            titles = {key: self.get(key) for key in self}
        replace_file(self.directory / BASE_FILE, _encode(titles))
        replace_file(self.directory / LOG_FILE, b"")
        self.load()
