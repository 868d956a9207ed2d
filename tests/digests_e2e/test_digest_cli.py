"""`papers-bot digest run` argument handling and `--dry-run`, in process (no sockets)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.models import Platform
from bot.testing.fakes import seed_papers, subscribe
from runtime.cli.errors import run_cli
from runtime.cli.main import app
from storage.db import Database

NOW = datetime(2026, 3, 10, 9, 5, tzinfo=UTC)


def cli(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> int:
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(sys, "argv", ["papers-bot", *args])
    return run_cli(app)


def test_bad_now_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_url: str
) -> None:
    assert cli(monkeypatch, sqlite_url, "digest", "run", "--now", "tomorrow-ish") == 2
    err = capsys.readouterr().err
    assert "--now 'tomorrow-ish' is not an ISO 8601 time" in err and err.count("\n") == 1


def test_dry_run_shows_the_plan_and_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sqlite_db: Database,
) -> None:
    seed_papers(sqlite_db, NOW.date())
    sub = subscribe(sqlite_db, "term", platform=Platform.CONSOLE, created=NOW - timedelta(days=1))
    args = ("digest", "run", "--now", "2026-03-10T09:05:00Z", "--dry-run", "--json")
    assert cli(monkeypatch, sqlite_db.url, *args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["dry_run"] is True
    assert [(p["action"], p["channel"], p["date"]) for p in data["planned"]] == [
        ("send", sub.channel.key, "2026-03-10")
    ]
    assert len(data["planned"][0]["papers"]) == 5
    with sqlite_db.uow() as uow:
        assert uow.deliveries.count() == 0
    # The real run then prints the console digest and the summary.
    assert cli(monkeypatch, sqlite_db.url, "digest", "run", "--now", "2026-03-10T09:05") == 0
    out = capsys.readouterr().out
    assert "Trending papers" in out
    assert out.rstrip().endswith("sent 1, failed 0, empty 0, skipped 0")
