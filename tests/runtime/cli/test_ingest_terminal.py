"""`ingest file` on a real terminal (a pty): each summary starts its own line instead of
being glued onto the progress bar (issue 15, item 12)."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.runtime.cli.helpers import BIN, bot_environment


def _run_on_a_terminal(args: list[str], env: dict[str, str]) -> bytes:
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, env=env)
    # The parent keeps the slave open: Linux moves written bytes to the master
    # asynchronously, so the hang-up (EIO) after the child exits can overtake its last
    # line. With the slave held open there is no hang-up; read until the child has exited
    # and the terminal stays quiet.
    out = b""
    exited_at: float | None = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            out += os.read(master, 65536)
            continue
        if proc.poll() is None:
            continue
        if exited_at is None:
            exited_at = time.monotonic()
        elif time.monotonic() - exited_at > 0.5:
            break
    os.close(slave)
    os.close(master)
    assert proc.wait(timeout=120) == 0, out[-2000:]
    return out


def test_summary_is_on_its_own_line_after_the_bar(tmp_path: Path, fixtures_dir: Path) -> None:
    fixture = fixtures_dir / "hf_daily_papers_2024-10-25.json"
    env = bot_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", TERM="xterm", COLUMNS="100"
    )
    out = _run_on_a_terminal([str(BIN), "ingest", "file", str(fixture)], env)
    summary = f"{fixture}: 29 papers (29 new, 0 updated, 0 unchanged)".encode()
    assert summary in out
    before = out[: out.index(summary)]
    # Rich prints above a live bar by clearing the line first; a glued summary follows
    # the bar's last cell directly.
    assert before == b"" or before.endswith((b"\n", b"\r", b"\x1b[2K")), before[-200:]


def test_a_summary_longer_than_the_terminal_is_not_broken_in_two(
    tmp_path: Path, fixtures_dir: Path
) -> None:
    # CI's checkout path is longer than a developer's: at 100 columns the summary line
    # wrapped there, and a copied path lost its tail. 40 columns wraps it anywhere.
    fixture = fixtures_dir / "hf_daily_papers_2024-10-25.json"
    env = bot_environment(
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", TERM="xterm", COLUMNS="40"
    )
    out = _run_on_a_terminal([str(BIN), "ingest", "file", str(fixture)], env)
    assert f"{fixture}: 29 papers (29 new, 0 updated, 0 unchanged)".encode() in out
