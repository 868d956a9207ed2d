"""`papers-bot alerts run` and the ingest hook, in process on the console channel: stuck
deliveries are delivered by the command and by an ingest that brings nothing new, and
an idle run says so in one line."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.console.repl import CONSOLE_CHANNEL, CONSOLE_WORKSPACE
from bot.alerts.ledger import enqueue_new_papers
from bot.alerts.models import AlertStatus
from bot.follow.matching import AlertKind
from bot.models import ChannelRef, PaperRecord, Platform
from runtime.alerts import deliver_after_ingest, has_pending_work
from storage.db import Database
from tests.digests_e2e.test_digest_cli import cli

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
CONSOLE = ChannelRef(Platform.CONSOLE, CONSOLE_CHANNEL, CONSOLE_WORKSPACE)
TITLE = "Quasiparticle braiding in a photonic lattice"


def stuck_batch(db: Database) -> None:
    """A batch an ingest queued and never delivered (its process died after the commit)."""
    record = PaperRecord(
        title=TITLE, source="test", paper_id="2603.00001", published=date(2026, 3, 9)
    )
    with db.uow() as uow:
        uow.alerts.add(CONSOLE, AlertKind.SEARCH, "quasiparticle braiding", created_by="me")
        uow.papers.upsert_many([record], seen_at=T0)
    assert enqueue_new_papers(db.uow, since=T0, now=T0) is not None


def test_alerts_run_delivers_what_waits_then_has_nothing_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_db: Database
) -> None:
    stuck_batch(sqlite_db)
    assert cli(monkeypatch, sqlite_db.url, "alerts", "run") == 0
    out = capsys.readouterr().out
    assert TITLE in out and "search “quasiparticle braiding”" in out
    assert out.rstrip().splitlines()[-1] == (
        "alerts: 1 batches, 1 papers for 1 messages, sent 1, failed 0"
    )
    assert cli(monkeypatch, sqlite_db.url, "alerts", "run", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["batches"], data["planned"], data["sent"], data["failed"]) == (0, 0, 0, 0)
    with sqlite_db.uow() as uow:
        assert uow.alert_ledger.count(AlertStatus.SENT) == 1


def test_an_ingest_with_nothing_new_still_delivers_what_waits(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], sqlite_db: Database
) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_db.url)
    for name in ("SLACK_BOT_TOKEN", "SLACK_CLIENT_ID", "DISCORD_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    stuck_batch(sqlite_db)
    assert has_pending_work(sqlite_db)
    deliver_after_ingest(sqlite_db, since=T0 + timedelta(hours=1), as_json=False)
    captured = capsys.readouterr()
    assert TITLE in captured.out and "sent 1" in captured.err
    assert not has_pending_work(sqlite_db)
    # Idle: nothing new, nothing waiting, nothing printed.
    deliver_after_ingest(sqlite_db, since=T0 + timedelta(hours=2), as_json=False)
    assert capsys.readouterr() == ("", "")


def test_alerts_run_with_a_bad_database_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    url = f"sqlite:///{tmp_path}/missing/dir/papers.db"
    assert cli(monkeypatch, url, "alerts", "run") == 1
    assert capsys.readouterr().err.count("\n") == 1
