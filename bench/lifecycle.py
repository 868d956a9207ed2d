"""Times the life-cycle answers of `papers-bot serve`: the one-line configuration error,
and SIGTERM to exit of an idle served bot (console-free `serve slack` on loopback).

    .venv/bin/python bench/lifecycle.py [--runs N]

Prints wall and CPU seconds per run, beside a bare interpreter start (`python -c pass`)
timed in the same run as the baseline. The configuration error must come within 2 s on an
idle machine; SIGTERM to exit is bounded by PAPERS_SHUTDOWN_GRACE_SECONDS plus about 1 s.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "papers-bot"


def environment(**settings: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "DISCORD_", "PAPERS_", "DATABASE_URL"))
    }
    env.update(settings)
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def missing_token(workdir: Path, command: tuple[str, ...]) -> tuple[float, float, str]:
    cpu = children_cpu()
    started = time.perf_counter()
    result = subprocess.run(
        command,
        env=environment(DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}"),
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    return time.perf_counter() - started, children_cpu() - cpu, result.stderr.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def sigterm_to_exit(workdir: Path) -> tuple[float, int]:
    env = environment(
        DATABASE_URL=f"sqlite:///{workdir / 'bench.db'}",
        SLACK_BOT_TOKEN="xoxb-bench",
        SLACK_SIGNING_SECRET="bench",
        SLACK_API_URL="http://127.0.0.1:9/api/",
        PORT=str(free_port()),
        PAPERS_HTTP_HOST="127.0.0.1",
        PAPERS_METRICS_PORT="0",
        PAPERS_LOG_FORMAT="text",
    )
    proc = subprocess.Popen(
        [str(BIN), "serve", "slack"],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        if "digest clock started" in line:
            break
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    proc.stderr.read()
    code = proc.wait()
    return time.perf_counter() - started, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        for run in range(args.runs):
            wall, cpu, _ = missing_token(workdir, (sys.executable, "-c", "pass"))
            print(f"baseline python -c pass, run {run + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU")
            wall, cpu, line = missing_token(workdir, (str(BIN), "serve", "slack"))
            print(f"missing token, run {run + 1}: {wall:.2f} s wall, {cpu:.2f} s CPU: {line}")
        for run in range(args.runs):
            wall, code = sigterm_to_exit(workdir)
            print(f"SIGTERM to exit, run {run + 1}: {wall:.2f} s, exit code {code}")


if __name__ == "__main__":
    main()
