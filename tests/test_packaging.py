"""The built wheel carries the seeds and migrations, so `ingest seeds` works outside a checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_wheel_ingests_bundled_seeds(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "-w",
            str(wheels),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    target = tmp_path / "site"
    wheel = next(wheels.glob("papers_bot-*.whl"))
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {
        **os.environ,
        "PYTHONPATH": str(target),
        "DATABASE_URL": "sqlite:///p.db",
        "PAPERS_LOG_FORMAT": "text",
    }
    code = "from runtime.cli.main import main; main()"
    ingest = subprocess.run(
        [sys.executable, "-c", code, "ingest", "seeds"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert ingest.returncode == 0, ingest.stderr
    origin = subprocess.run(
        [sys.executable, "-c", "import seeds; print(seeds.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert origin.stdout.startswith(str(target))  # really the wheel's copy, not the checkout
    stats = subprocess.run(
        [sys.executable, "-c", code, "stats", "--json"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(stats.stdout)["papers"] == 195
