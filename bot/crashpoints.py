"""Named points where a test can freeze the process, to kill -9 it there.

`PAPERS_PAUSE_AT=name` makes `pause_point("name")` print one line to stderr and sleep
until the process is killed; without it a pause point costs one dict lookup.  The crash
tests use it to show that the database and the index agree after the next open, whatever
the moment of death.
"""

from __future__ import annotations

import os
import sys
import time

ENV = "PAPERS_PAUSE_AT"


def pause_point(name: str) -> None:
    if os.environ.get(ENV) == name:
        print(f"paused at {name}", file=sys.stderr, flush=True)
        while True:
            time.sleep(60)
