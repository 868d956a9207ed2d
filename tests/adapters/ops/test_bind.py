"""Where the ops server listens, and what a busy port does (issue 15, item 4)."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.ops.http import AddressInUse, bound_port, start_ops_server
from bot.settings import Settings
from runtime.cli.errors import CliError
from runtime.serve import start_ops
from tests.runtime.cli.helpers import run_cli


async def _ready() -> dict[str, Any]:
    return {"status": "ok", "checks": {}}


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A loopback port some other process already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def test_http_servers_default_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PAPERS_HTTP_HOST", raising=False)
    assert Settings().http_host == "127.0.0.1"


async def test_busy_port_is_one_clear_error(busy_port: int) -> None:
    with pytest.raises(AddressInUse) as caught:
        await start_ops_server("127.0.0.1", busy_port, _ready)
    message = str(caught.value)
    assert f"127.0.0.1:{busy_port} is already in use" in message
    assert "PAPERS_METRICS_PORT" in message and "\n" not in message


async def test_default_port_taken_warns_once_and_runs_on(
    busy_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        runner = await start_ops("127.0.0.1", busy_port, _ready, explicit=False)
    assert runner is None
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"127.0.0.1:{busy_port}" in warnings[0].getMessage()


async def test_chosen_port_taken_stops_the_bot(busy_port: int) -> None:
    with pytest.raises(CliError, match=f"127.0.0.1:{busy_port} is already in use"):
        await start_ops("127.0.0.1", busy_port, _ready, explicit=True)


async def test_free_port_serves() -> None:
    runner = await start_ops("127.0.0.1", 0, _ready, explicit=True)
    assert runner is not None and bound_port(runner) > 0
    await runner.cleanup()


def test_serve_with_a_busy_slack_port_says_so_in_one_line(busy_port: int, tmp_path: Path) -> None:
    done = run_cli(
        "serve",
        "slack",
        database_url=f"sqlite:///{tmp_path / 'bot.db'}",
        env={
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": "http://127.0.0.1:9/api/",
            "PORT": str(busy_port),
            "PAPERS_METRICS_PORT": "0",
            "PAPERS_LOG_LEVEL": "ERROR",
        },
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        f"error: 127.0.0.1:{busy_port} is already in use (Slack HTTP server); "
        "set PORT or `serve --port` to a free port, or stop the other process"
    ), done.stderr
    # The raw socket error never reaches the user. (The digest clock's tick, cancelled at
    # shutdown, still logs its own traceback: clean shutdown is issue 15 item 1.)
    assert "Errno 98" not in done.stderr and "OSError" not in done.stderr
