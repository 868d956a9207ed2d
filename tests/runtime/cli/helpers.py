"""Runs the installed `papers-bot` console script as a subprocess, as users and tools do."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent / "papers-bot"
_BOT_VARIABLES = ("SLACK_", "DISCORD_", "PAPERS_", "DATABASE_URL")


def bot_environment(**settings: str) -> dict[str, str]:
    """This process's environment without any bot setting of the developer's, plus `settings`.

    A subprocess under test must see only the configuration the test gives it, never a
    token or database URL that happens to be exported in the shell running the tests.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_BOT_VARIABLES)}
    # Search by meaning is off unless a test turns it on: embedding the seeds at every
    # ingest would cost each CLI test seconds (tests/runtime/cli/test_semantic_cli.py).
    env["PAPERS_SEMANTIC"] = "0"
    env.update(settings)
    url = env.get("DATABASE_URL", "")
    if url and not url.startswith("sqlite") and "PAPERS_SEARCH_INDEX_DIR" not in env:
        # A PostgreSQL test database's index goes to a directory of its own (each test has
        # its own schema), not into the working directory.
        digest = hashlib.sha1(url.encode()).hexdigest()[:12]
        env["PAPERS_SEARCH_INDEX_DIR"] = str(Path(tempfile.gettempdir()) / f"papers-ix-{digest}")
    return env


def run_cli(
    *args: str,
    database_url: str,
    cwd: Path | None = None,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    clean = bot_environment(DATABASE_URL=database_url, PAPERS_LOG_FORMAT="text", **(env or {}))
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
