"""A cold `papers-bot search` on a current SQLite index loads only what a search needs.

After `ingest` the index holds every change, so the search compares the database's change
head (stdlib sqlite3) with the index's state and answers from the index: no SQLAlchemy, no
alembic, no platform or HTTP library. That is what makes a cold search take under a
second at 138k papers (`bench/startup.py` measures it; nothing here is timed). When the
database is ahead of the index, the search goes through the database and catches up.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.adapters.slack.conftest import SURVEY
from tests.runtime.cli.helpers import bot_environment, run_cli

NOT_FOR_A_SEARCH = ("sqlalchemy", "alembic", "aiohttp", "httpx", "slack_bolt", "slack_sdk")
NOT_FOR_A_SEARCH += ("discord", "numpy", "prometheus_client", "psycopg")
SEARCH_IN_PROCESS = """
import json, sys
sys.argv = ["papers-bot", *sys.argv[1:]]
from runtime.cli.errors import run_cli
from runtime.cli.main import app
code = run_cli(app)
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def _search(
    url: str, cwd: Path, *query: str, env: dict[str, str] | None = None
) -> tuple[list[dict[str, object]], set[str]]:
    result = subprocess.run(
        [sys.executable, "-c", SEARCH_IN_PROCESS, "search", *query, "--json"],
        capture_output=True,
        text=True,
        env=bot_environment(DATABASE_URL=url, **(env or {})),
        cwd=cwd,
        timeout=120,
        check=False,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return json.loads(result.stdout), {name.split(".")[0] for name in report["modules"]}


def test_a_search_on_a_current_index_imports_no_database_library(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'papers-bot.db'}"
    done = run_cli("ingest", "seeds", database_url=url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "papers-bot.index" / "CURRENT").is_file()  # beside the database

    cards, loaded = _search(url, tmp_path, "cocktail", "party", "problem")
    assert cards[0]["title"] == SURVEY
    assert sorted(loaded.intersection(NOT_FOR_A_SEARCH)) == []

    # A write the index has not seen (another tool, a crashed ingest): the full path.
    with sqlite3.connect(tmp_path / "papers-bot.db") as connection:
        connection.execute("UPDATE paper_change_counter SET value = value + 1")
    cards, loaded = _search(url, tmp_path, "cocktail", "party", "problem")
    assert cards[0]["title"] == SURVEY
    assert "sqlalchemy" in loaded
