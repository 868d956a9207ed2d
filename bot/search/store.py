"""Where the search index lives on disk: generations, an atomic pointer and a state file.

    papers-bot.index/
      CURRENT                 the name of the live generation (replaced atomically)
      gen-<stamp>-<pid>/      one complete index: tantivy files, titles, state.json
        state.json            {"format", "change", "papers", "database"}: the last change
                              applied, and the id of the database it came from
        vectors/              reserved for embeddings (issue 12), same change numbers
      gen-<stamp>-<pid>.building/   a rebuild in progress; never pointed at

A rebuild writes a new generation beside the live one and swaps `CURRENT` only when it is
complete, so a crash mid-rebuild leaves the old index in place.  `state.json` is written
after tantivy's commit (temporary file, fsync, rename): a crash between the two leaves a
state that is older than the index, and applying those changes again is idempotent
(papers are replaced by key, removals of absent keys are no-ops).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bot.search.titles import replace_file

CURRENT_FILE = "CURRENT"
STATE_FILE = "state.json"
BUILDING = ".building"
FORMAT = 1


@dataclass(frozen=True, slots=True)
class IndexState:
    """What a generation holds: changes applied up to `change`, and how many papers."""

    change: int
    papers: int
    database: str = ""
    format: int = FORMAT


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class IndexHome:
    """The directory holding the index generations of one database."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def current(self) -> Path | None:
        """The live generation, or None when no index was published yet."""
        try:
            name = (self.root / CURRENT_FILE).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        path = self.root / name
        return path if name and (path / STATE_FILE).is_file() else None

    @staticmethod
    def read_state(generation: Path) -> IndexState:
        data = json.loads((generation / STATE_FILE).read_text(encoding="utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError(f"index format {data.get('format')} in {generation}, want {FORMAT}")
        return IndexState(
            change=int(data["change"]), papers=int(data["papers"]), database=str(data["database"])
        )

    @staticmethod
    def write_state(generation: Path, state: IndexState) -> None:
        replace_file(generation / STATE_FILE, json.dumps(asdict(state)).encode())

    def new_generation(self) -> Path:
        """An empty directory for a rebuild; stale ones of dead processes are removed."""
        self.root.mkdir(parents=True, exist_ok=True)
        for stale in self.root.glob(f"gen-*{BUILDING}"):
            pid = stale.name.removesuffix(BUILDING).rsplit("-", 1)[-1]
            if not pid.isdigit() or not _alive(int(pid)):
                shutil.rmtree(stale, ignore_errors=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        path = self.root / f"gen-{stamp}{time.time_ns() % 1_000_000:06d}-{os.getpid()}{BUILDING}"
        path.mkdir()
        return path

    def publish(self, building: Path) -> Path:
        """Make a finished generation the live one; older ones but the last are deleted.

        The previous generation stays, since a running process may still have it open.
        """
        final = building.with_name(building.name.removesuffix(BUILDING))
        os.replace(building, final)
        previous = self.current()
        replace_file(self.root / CURRENT_FILE, (final.name + "\n").encode())
        keep = {final.name, previous.name if previous else ""}
        for old in self.root.glob("gen-*"):
            if old.name not in keep and not old.name.endswith(BUILDING):
                shutil.rmtree(old, ignore_errors=True)
        return final

    def size_bytes(self) -> int:
        """Bytes on disk of the live generation."""
        current = self.current()
        if current is None:
            return 0
        return sum(f.stat().st_size for f in current.rglob("*") if f.is_file())
