"""`papers-bot cite` and `papers-bot list export` as installed console scripts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import bibtexparser

from bot.models import ChannelRef, PaperRecord, Platform
from storage.db import Database
from tests.runtime.cli.helpers import run_cli


def prepared(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    db = Database(url)
    db.upgrade()
    now = datetime(2026, 11, 29, tzinfo=UTC)
    with db.uow() as uow:
        uow.papers.upsert_many(
            [
                PaperRecord(
                    title="Attention Is All You Need",
                    source="test",
                    paper_id="1706.03762",
                    authors=("Ashish Vaswani",),
                    published=date(2017, 6, 12),
                    categories=("cs.CL",),
                )
            ],
            seen_at=now,
        )
        paper = uow.papers.find_by_paper_id("1706.03762")
        assert paper is not None
        uow.reading_list.add(ChannelRef(Platform.SLACK, "C1", "T1"), paper.key, user="U1", now=now)
    db.dispose()
    return url


def test_cite_and_list_export(tmp_path: Path) -> None:
    url = prepared(tmp_path)
    cited = run_cli("cite", "https://arxiv.org/abs/1706.03762v7", database_url=url)
    assert cited.returncode == 0, cited.stderr
    (entry,) = bibtexparser.parse_string(cited.stdout).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"

    out = tmp_path / "club.bib"
    exported = run_cli(
        "list", "export", "--channel", "slack:T1:C1", "-o", str(out), database_url=url
    )
    assert exported.returncode == 0, exported.stderr
    (entry,) = bibtexparser.parse_string(out.read_text("utf-8")).entries
    assert entry.fields_dict["eprint"].value == "1706.03762"
    to_stdout = run_cli("list", "export", "--channel", "slack:T1:C1", database_url=url)
    assert to_stdout.stdout == out.read_text("utf-8")

    other = run_cli("list", "export", "--channel", "slack:T1:C2", database_url=url)
    assert (other.returncode, other.stderr.strip()) == (
        1,
        "error: the reading list of slack:T1:C2 is empty",
    )
    bad = run_cli("list", "export", "--channel", "slack-C1", database_url=url)
    assert bad.returncode == 2 and "PLATFORM:WORKSPACE:CHANNEL" in bad.stderr
    unknown = run_cli("cite", "2501.99999", database_url=url)
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
