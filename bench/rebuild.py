"""`papers-bot index rebuild` on a given database, this tree beside a baseline tree, alternating.

Issue 11's targets: at most 20 s wall at 138k papers and 60 s at 1M. Each run is a fresh
`papers-bot index rebuild` process on a copy of the database, one copy per tree (the given
file is only read),
with the interpreter of this venv; the baseline tree wins on `PYTHONPATH` (checked: its
`bot` package is the one imported). Printed per run: wall, user and sys CPU (the child's
`getrusage`), peak RSS, and the load average before it; then the medians. CPU is the figure
to compare on this shared 2-core machine: a rebuild keeps both cores busy (tantivy's two
indexing threads and the Python thread), so its wall time is its CPU over two when the
machine is idle and follows the load otherwise.

    nice -n 10 .venv/bin/python bench/rebuild.py --db /tmp/m1m.db --baseline /work/wt-rbbase
    nice -n 10 .venv/bin/python bench/rebuild.py --db /tmp/m138.db --baseline REV --rounds 3

`--baseline` is a directory holding another checkout (a `git worktree`), or a revision,
exported with `git archive` into a temporary directory.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PAPERS_BOT = Path(sys.executable).parent / "papers-bot"
TARGETS = {138_083: 20.0, 1_000_000: 60.0}


@dataclass(frozen=True)
class Run:
    wall: float
    user: float
    sys: float
    rss_mb: float
    load: float

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def baseline_tree(spec: str, scratch: Path) -> Path:
    """A directory to put first on PYTHONPATH: `spec` itself, or revision `spec` exported."""
    if Path(spec).is_dir():
        return Path(spec).resolve()
    tree = scratch / "baseline"
    tree.mkdir()
    archive = subprocess.run(
        ["git", "archive", spec], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def imported_from(tree: Path, cwd: Path) -> Path:
    """Where `bot` comes from with `tree` first on PYTHONPATH (it must be `tree`)."""
    found = subprocess.run(
        [sys.executable, "-c", "import bot; print(bot.__file__)"],
        cwd=cwd,  # not a checkout: `-c` puts the working directory first
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return Path(found).resolve().parent.parent


def rebuild(tree: Path, database: Path) -> Run:
    """One `papers-bot index rebuild` with `tree` first on PYTHONPATH; it must succeed."""
    load = os.getloadavg()[0]
    env = {**os.environ, "PYTHONPATH": str(tree), "DATABASE_URL": f"sqlite:///{database}"}
    env.pop("PAPERS_SEARCH_INDEX_DIR", None)
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as errors:
        child = subprocess.Popen(
            [str(PAPERS_BOT), "index", "rebuild"],
            env=env,
            cwd=database.parent,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        # wait4: this child's own rusage (RUSAGE_CHILDREN's peak RSS is over all of them).
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"rebuild with {tree} failed:\n{errors.read()[-2000:]}")
    return Run(
        wall=wall,
        user=usage.ru_utime,
        sys=usage.ru_stime,
        rss_mb=usage.ru_maxrss / 1024,  # KB on Linux
        load=load,
    )


def papers_in(database: Path) -> int:
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(database)) as connection:
        return int(connection.execute("SELECT count(*) FROM papers").fetchone()[0])


def line(name: str, run: Run) -> str:
    return (
        f"{name:>8}: {run.wall:7.1f} s wall {run.user:7.1f} user {run.sys:5.1f} sys "
        f"({run.cpu:6.1f} CPU-s)  peak RSS {run.rss_mb:5.0f} MB  load {run.load:4.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="SQLite database (only read)")
    parser.add_argument("--baseline", required=True, help="a checkout directory or a revision")
    parser.add_argument("--rounds", type=int, default=2, help="baseline/now pairs (default 2)")
    parser.add_argument("--scratch", type=Path, default=None, help="where the copy goes")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-rebuild-", dir=args.scratch))
    try:
        trees = {"baseline": baseline_tree(args.baseline, scratch), "now": REPO}
        for name, tree in trees.items():
            if imported_from(tree, scratch) != tree.resolve():
                raise SystemExit(f"{name}: PYTHONPATH={tree} does not win over the venv's bot")
        # A copy per tree: opening the database migrates it to the tree's newest revision,
        # which an older tree then cannot open.
        databases = {name: scratch / name / args.db.name for name in trees}
        for database in databases.values():
            database.parent.mkdir()
            shutil.copyfile(args.db, database)
        papers = papers_in(databases["baseline"])
        print(f"{papers} papers ({args.db}), baseline {args.baseline}, {args.rounds} rounds")
        runs: dict[str, list[Run]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                runs[name].append(rebuild(tree, databases[name]))
                print(line(name, runs[name][-1]), flush=True)
        print("medians:")
        for name, done in runs.items():
            wall = statistics.median(r.wall for r in done)
            cpu = statistics.median(r.cpu for r in done)
            print(f"{name:>8}: {wall:7.1f} s wall {cpu:7.1f} CPU-s")
        target = TARGETS.get(papers)
        if target is not None:
            print(f"target: {target:.0f} s wall (issue 11)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
