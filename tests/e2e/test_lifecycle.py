"""The served process's life cycle, end to end with real subprocesses.

- Configuration: `serve` with missing tokens answers with one line, before it migrates
  the database or opens the search index, and without importing the heavy libraries
  (SQLAlchemy, alembic, tantivy, aiohttp, the platform SDKs): they are what made the
  answer take seconds.
- Ctrl-C: the console (under a pseudo-terminal, where Ctrl-C is the terminal's own
  SIGINT) and `ingest file` stop at once, print one line and exit 130; the interrupted
  file leaves the database unchanged.

Nothing here asserts on elapsed time; `bench/lifecycle.py` measures it.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from tests.runtime.cli.helpers import BIN, bot_environment, run_cli

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "corpus" / "papers.jsonl.gz"
# Bounds against hanging only; nothing asserts on time.
PATIENCE = 300.0


def default_sigint() -> None:
    # A shell starting jobs in the background (as CI runners may) makes them ignore
    # SIGINT, and children inherit that; a user's terminal does not.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def sqlite_in(tmp_path: Path) -> tuple[str, Path]:
    path = tmp_path / "bot.db"
    return f"sqlite:///{path}", path


@pytest.mark.parametrize(
    ("target", "env", "named"),
    [
        ("slack", {}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]),
        ("slack", {"SLACK_APP_TOKEN": "xapp-1"}, ["SLACK_BOT_TOKEN"]),
        ("discord", {}, ["DISCORD_TOKEN"]),
        ("all", {}, ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "DISCORD_TOKEN"]),
        (
            "all",
            {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"},
            ["DISCORD_TOKEN"],
        ),
        (
            "slack",
            {"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_SIGNING_SECRET": "s"},
            ["PAPERS_ENCRYPTION_KEY"],
        ),
        ("slack", {"SLACK_BOT_TOKEN": "xoxb-1"}, ["SLACK_SIGNING_SECRET"]),
    ],
)
def test_serve_with_missing_settings_answers_in_one_line_before_any_work(
    tmp_path: Path, target: str, env: dict[str, str], named: list[str]
) -> None:
    url, path = sqlite_in(tmp_path)
    result = run_cli("serve", target, database_url=url, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error:")
    for name in named:
        assert name in lines[0]
    assert result.stdout == ""
    # Before migrations: the database file was never created.
    assert not path.exists()


# Loaded only once the settings are complete (or by the commands that need them).
HEAVY = ("sqlalchemy", "alembic", "tantivy", "aiohttp", "httpx", "slack_bolt", "slack_sdk")
HEAVY += ("discord", "prometheus_client", "numpy")
IMPORTED_BY_CLI = """
import json, sys
sys.argv = ["papers-bot", *sys.argv[1:]]
from runtime.cli.errors import run_cli
from runtime.cli.main import app
code = run_cli(app)
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


@pytest.mark.parametrize("target", ["slack", "discord", "all"])
def test_a_configuration_error_imports_no_heavy_library(tmp_path: Path, target: str) -> None:
    url, _ = sqlite_in(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", IMPORTED_BY_CLI, "serve", target],
        capture_output=True,
        text=True,
        env=bot_environment(DATABASE_URL=url),
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.stderr.startswith("configuration error:"), result.stderr
    report = json.loads(result.stdout)
    assert report["code"] == 1
    loaded = {name.split(".")[0] for name in report["modules"]}
    assert sorted(loaded.intersection(HEAVY)) == []


def test_the_cli_retry_default_is_the_fetchers_default() -> None:
    # Written out in the CLI so that loading it does not import httpx.
    from bot.ingest.http_retry import RetryPolicy
    from runtime.cli.ingest import DEFAULT_RETRIES

    assert RetryPolicy().retries == DEFAULT_RETRIES


def test_a_complete_configuration_names_nothing_missing(tmp_path: Path) -> None:
    # The OAuth settings that pass the check above only by adding the key.
    url, _ = sqlite_in(tmp_path)
    env = {
        "SLACK_CLIENT_ID": "1.2",
        "SLACK_CLIENT_SECRET": "c",
        "SLACK_SIGNING_SECRET": "s",
        "PAPERS_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    result = run_cli("stats", "--json", database_url=url, cwd=tmp_path, env=env, timeout=60)
    assert result.returncode == 0, result.stderr


def read_until(fd: int, needle: bytes, seen: bytearray) -> None:
    """Read the pty into `seen` until `needle` shows up (or the child closes it)."""
    deadline = time.monotonic() + PATIENCE
    while needle not in seen:
        assert time.monotonic() < deadline, seen.decode(errors="replace")[-2000:]
        ready, _, _ = select.select([fd], [], [], 1.0)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        seen.extend(chunk)


def test_ctrl_c_in_the_console_stops_at_once_with_one_line_and_130(tmp_path: Path) -> None:
    url, _ = sqlite_in(tmp_path)
    env = bot_environment(DATABASE_URL=url, PAPERS_LOG_FORMAT="text", TERM="dumb")
    pid, fd = pty.fork()
    if pid == 0:  # the child: `papers-bot serve console` on the pseudo-terminal
        os.chdir(tmp_path)
        default_sigint()
        os.execve(str(BIN), [str(BIN), "serve", "console"], env)
    seen = bytearray()
    try:
        read_until(fd, b"papers>", seen)
        os.write(fd, b"\x03")  # Ctrl-C: the terminal sends SIGINT; no Enter follows
        read_until(fd, b"\x00never", seen)  # until the child closes the terminal
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 130, seen.decode(errors="replace")
    # After the prompt: the terminal's echo of Ctrl-C, then our one line.
    after_prompt = seen.split(b"papers>")[-1].decode(errors="replace").replace("^C", "")
    lines = [line.strip() for line in after_prompt.splitlines() if line.strip()]
    assert lines == ["interrupted"], after_prompt


@pytest.mark.skipif(not CORPUS.exists(), reason="needs ../shared/corpus/papers.jsonl.gz")
def test_ctrl_c_during_ingest_file_exits_130_and_keeps_the_database_unchanged(
    tmp_path: Path,
) -> None:
    url, path = sqlite_in(tmp_path)
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    proc = subprocess.Popen(
        [str(BIN), "ingest", "file", str(CORPUS)],
        env=bot_environment(DATABASE_URL=url, PAPERS_LOG_FORMAT="text"),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    # Interrupt in the middle of the file: once its transaction has written a few MB.
    wal = Path(f"{path}-wal")
    deadline = time.monotonic() + PATIENCE
    while not (wal.exists() and wal.stat().st_size > 1_000_000):
        assert proc.poll() is None, "the ingest ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=PATIENCE)
    assert proc.returncode == 130, err.decode()
    assert err.decode().splitlines() == ["interrupted"]
    assert out == b""
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM papers").fetchone() == (0,)
