"""`papers-bot serve …` as a subprocess, stopped as a supervisor stops it (SIGTERM).

A clean stop exits 0, and its log (JSON lines) holds nothing at error level: no
"Unclosed client session" from asyncio, no traceback, no interpreter abort.
`SilentPeer` is an endpoint that accepts connections and never answers, so that a test
can stop the process while a platform connection is still being set up.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.runtime.cli.helpers import bot_environment

# Bounds against hanging only; nothing asserts on time.
PATIENCE = 120.0
PAPERS_BOT = shutil.which("papers-bot", path=str(Path(sys.executable).parent)) or "papers-bot"


def read_log(log: Path) -> str:
    return log.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_environment(database_url: str, **settings: str) -> dict[str, str]:
    """Only the test's settings, JSON logs, and no scheduled ingest off this machine."""
    return bot_environment(
        DATABASE_URL=database_url,
        PAPERS_LOG_FORMAT="json",
        PAPERS_METRICS_PORT="0",
        PAPERS_HF_API_URL="http://127.0.0.1:9/hf",
        PAPERS_ARXIV_API_URL="http://127.0.0.1:9/arxiv",
        **settings,
    )


@asynccontextmanager
async def serving(
    target: str, env: dict[str, str], log: Path, *, pipes: bool = False
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`papers-bot serve target`, its log (stderr) into `log`; `pipes`: stdin and stdout.

    Killed on the way out if the test did not stop it.
    """
    std = asyncio.subprocess.PIPE if pipes else asyncio.subprocess.DEVNULL
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            PAPERS_BOT, "serve", target, env=env, cwd=log.parent, stdin=std, stdout=std, stderr=out
        )
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def stop_cleanly(proc: asyncio.subprocess.Process, log: Path) -> list[dict[str, Any]]:
    """SIGTERM, then check the exit and the whole log; the log records, in order."""
    assert proc.returncode is None, f"serve exited early:\n{read_log(log)[-3000:]}"
    proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(proc.wait(), PATIENCE)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise AssertionError(f"serve did not stop:\n{read_log(log)[-3000:]}") from None
    text = read_log(log)
    assert proc.returncode == 0, text[-3000:]
    records = []
    for line in text.splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            raise AssertionError(f"not a log record: {line!r}\n{text[-3000:]}") from None
    bad = [r for r in records if r["level"] in {"error", "critical"} or "Unclosed" in r["msg"]]
    assert bad == [], bad
    return records


class SilentPeer:
    """A loopback TCP endpoint that accepts connections and never sends a byte.

    `async with SilentPeer() as peer`: `peer.url` is a WebSocket URL to hand to a client,
    and `peer.connected` is set once a client has connected (its handshake then hangs).
    """

    def __init__(self) -> None:
        self.connected = asyncio.Event()
        self.url = ""
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> SilentPeer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"
        return self

    async def _accept(self, _reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        self.connected.set()

    async def __aexit__(self, *_exc: object) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


async def stop_while_connecting(
    target: str, env: dict[str, str], peer: SilentPeer, log: Path
) -> list[dict[str, Any]]:
    """Serve, stop once the platform connection reached `peer`; `stop_cleanly`'s records."""
    async with serving(target, env, log) as proc:
        await wait_or_exit(peer.connected, proc, log)
        return await stop_cleanly(proc, log)


async def wait_or_exit(event: asyncio.Event, proc: asyncio.subprocess.Process, log: Path) -> None:
    """Wait for `event`, failing with the log if the process exits first."""
    happened = asyncio.ensure_future(event.wait())
    exited = asyncio.ensure_future(proc.wait())
    await asyncio.wait({happened, exited}, timeout=PATIENCE, return_when=asyncio.FIRST_COMPLETED)
    happened.cancel()
    exited.cancel()
    assert event.is_set(), read_log(log)[-3000:]


async def wait_for_log(proc: asyncio.subprocess.Process, log: Path, needle: str) -> None:
    """Poll the log until it contains `needle`, failing with the log if the process exits."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while needle not in (text := read_log(log)):
        assert proc.returncode is None and loop.time() < deadline, text[-3000:]
        await asyncio.sleep(0.1)
