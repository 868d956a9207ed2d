"""`papers-bot embed` as the installed console script: embeds once, then only what changed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from bot.models import PaperRecord
from storage.db import Database
from tests.runtime.cli.helpers import run_cli

NOW = datetime(2026, 11, 30, tzinfo=UTC)


def _add(url: str, titles: list[str]) -> None:
    db = Database(url)
    db.upgrade()
    with db.uow() as uow:
        uow.papers.upsert_many(
            [PaperRecord(title=t, abstract=f"We study {t.lower()}.", source="t") for t in titles],
            seen_at=NOW,
        )
    db.dispose()


def test_embed_is_incremental_across_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'e.db'}"
    env = {"PAPERS_BOT_CACHE": str(tmp_path / "cache"), "HF_HUB_OFFLINE": "1"}
    _add(url, ["Speech separation", "Graph neural networks", "Diffusion models"])
    first = run_cli("embed", "--json", database_url=url, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert (result["embedded"], result["unchanged"]) == (3, 0)
    assert result["model"].startswith("all-MiniLM-L6-v2-int8@")
    _add(url, ["Protein folding"])
    second = run_cli("embed", database_url=url, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    # Only the new paper was written since the first run (its vectors left the papers alone).
    assert "embedded 1 paper (0 already up to date)" in second.stderr
