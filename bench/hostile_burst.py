"""Fire 1,000 hostile requests (signed and unsigned) at a served Slack bot on loopback.

Runs tests/adapters/slack/test_hostile_requests.py with HOSTILE_BURST=1000: it starts
`papers-bot serve slack` as a subprocess against the loopback fake Slack API, sends the
burst, prints RSS before and after and the status counts, and fails unless every answer
is 2xx/4xx and RSS grew by less than 50 MB.

    .venv/bin/python bench/hostile_burst.py [--requests N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    env = {**os.environ, "HOSTILE_BURST": str(args.requests)}
    test = "tests/adapters/slack/test_hostile_requests.py"
    return subprocess.call(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", test],
        cwd=ROOT,
        env=env,
    )


if __name__ == "__main__":
    raise SystemExit(main())
