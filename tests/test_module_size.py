"""Modules stay small enough to hold one idea: at most 450 lines in bot/, storage/,
adapters/ and runtime/.

The search engine is the one exception: its index schema, typo expansion, candidate
queries and re-ranking share private state that would only be passed around if split.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LIMIT = 450
EXCEPTIONS = {"bot/search/engine.py"}


def test_no_module_is_longer_than_the_limit() -> None:
    too_long = {
        str(path.relative_to(REPO)): count
        for package in ("bot", "storage", "adapters", "runtime")
        for path in (REPO / package).rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > LIMIT
        and str(path.relative_to(REPO)) not in EXCEPTIONS
    }
    assert too_long == {}
