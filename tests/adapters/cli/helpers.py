"""Runs the installed `papers-bot` console script as a subprocess, as users and tools do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent / "papers-bot"


def run_cli(
    *args: str,
    database_url: str,
    cwd: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DISCORD_", "PAPERS_"))
    }
    clean.update({"DATABASE_URL": database_url, "PAPERS_LOG_FORMAT": "text"})
    clean.update(env or {})
    return subprocess.run(
        [str(BIN), *args],
        capture_output=True,
        text=True,
        env=clean,
        cwd=cwd,
        input=stdin,
        timeout=timeout,
        check=False,
    )
