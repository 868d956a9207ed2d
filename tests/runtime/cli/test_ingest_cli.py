"""`papers-bot ingest …` end to end: the real CLI app against a temporary SQLite file.

Most cases run `runtime.cli.main.app` in-process with typer's CliRunner (fast); the
exit-code contract is also checked through the installed console script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from runtime.cli.main import app
from storage.db import Database
from storage.tables import PaperRow
from tests.bot.ingest.loopback import Reply, Request, atom_entries, atom_feed, json_reply, serve

AS_OF = "2025-11-07"
BIN = Path(sys.executable).parent / "papers-bot"


def invoke(url: str, *args: str, **env: str) -> Result:
    runner = CliRunner()
    return runner.invoke(app, list(args), env={"DATABASE_URL": url, **env})


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def snapshot(url: str) -> tuple[int, list[tuple[object, ...]]]:
    db = Database(url)
    try:
        with db.session() as session:
            count = session.scalar(select(func.count()).select_from(PaperRow)) or 0
            rows = session.execute(
                select(
                    PaperRow.key,
                    PaperRow.paper_id,
                    PaperRow.title,
                    PaperRow.upvotes,
                    PaperRow.sources,
                    PaperRow.updated,
                )
                .order_by(PaperRow.key)
                .limit(3)
            ).all()
        return count, [tuple(r) for r in rows]
    finally:
        db.dispose()


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'papers.db'}"


@pytest.fixture
def seeded(url: str) -> str:
    result = invoke(url, "ingest", "seeds", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    return url


def test_seeds_json_and_summary_lines(url: str) -> None:
    result = invoke(url, "ingest", "seeds", "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["papers"] == 195
    assert [(f["file"], f["papers"], f["error"]) for f in data["files"]] == [
        ("seeds/000_bc1dae328157c801.txt", 47, None),
        ("seeds/001_5dc950244780a2b1.txt", 48, None),
        ("seeds/002_1bb46013d491ba01.txt", 63, None),
        ("seeds/003_beacb78799436043.txt", 55, None),
    ]
    assert lines(result.stderr)[0] == (
        "seeds/000_bc1dae328157c801.txt: 47 papers (47 new, 0 updated, 0 unchanged)"
    )
    assert len(lines(result.stderr)) == 4


def test_seeds_if_empty_skips_a_filled_database(seeded: str) -> None:
    before = snapshot(seeded)
    result = invoke(seeded, "ingest", "seeds", "--if-empty")
    assert result.exit_code == 0, result.stderr
    assert "seeds skipped" in result.stderr
    assert snapshot(seeded) == before


def test_files_make_234_and_reingest_changes_nothing(seeded: str, fixtures_dir: Path) -> None:
    files = [
        str(fixtures_dir / "hf_daily_papers_2024-10-25.json"),
        str(fixtures_dir / "arxiv_query_sample.xml"),
    ]
    result = invoke(seeded, "ingest", "file", *files, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["papers"] == 234
    before = snapshot(seeded)
    again = invoke(seeded, "ingest", "file", *files, "--json")
    assert again.exit_code == 0
    data = json.loads(again.stdout)
    assert [(f["inserted"], f["updated"], f["unchanged"]) for f in data["files"]] == [
        (0, 0, 29),
        (0, 0, 10),
    ]
    assert snapshot(seeded) == before


BAD = {
    "mystery.dat": (b"\x00\x01\x02 not a paper format", "is not a known format"),
    "truncated.json": (b'[{"paper": {"id": "2501.00001"}, "title": "A"}, {"pap', "truncated JSON"),
    "shape.json": (b'{"count": 3}', "top level: expected a JSON list of papers"),
    "items.json": (
        b'[{"paper": {"id": "2501.00001"}, "title": "A"}, {"title": "B"}]',
        "item 1: has no paper.id",
    ),
    "latin1.txt": (b"Daily Papers\n\nNov 7\n\nCaf\xe9 title\n\nAbstract\n", "byte offset 24"),
    "error.xml": (
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>http://arxiv.org/api/errors#x'
        b"</id><title>Error</title><summary>max_results must be non-negative</summary>"
        b"</entry></feed>",
        "arXiv API error: max_results must be non-negative",
    ),
    "lines.jsonl": (b'{"id": "1", "title": "t", "abstract": "a"}\n{"id": 2,\n', "line 2"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_file_one_line_exit_1_database_unchanged(
    seeded: str, tmp_path: Path, name: str
) -> None:
    content, needle = BAD[name]
    path = tmp_path / name
    path.write_bytes(content)
    before = snapshot(seeded)
    result = invoke(seeded, "ingest", "file", str(path))
    assert result.exit_code == 1
    (line,) = lines(result.stderr)
    assert line.startswith(f"error: {path}: ")
    assert needle in line
    assert snapshot(seeded) == before


def test_bad_files_do_not_stop_the_good_ones(url: str, tmp_path: Path, fixtures_dir: Path) -> None:
    paths = []
    for name in ("truncated.json", "latin1.txt"):
        (tmp_path / name).write_bytes(BAD[name][0])
        paths.append(str(tmp_path / name))
    good = str(fixtures_dir / "arxiv_query_sample.xml")
    result = invoke(url, "ingest", "file", paths[0], good, paths[1])
    assert result.exit_code == 1
    out = lines(result.stderr)
    assert [line.startswith("error: ") for line in out] == [True, False, True]
    assert out[1] == f"{good}: 10 papers (10 new, 0 updated, 0 unchanged)"
    assert snapshot(url)[0] == 10


def test_hf_fetch_from_loopback(url: str, fixtures_dir: Path) -> None:
    body = (fixtures_dir / "hf_daily_papers_2024-10-25.json").read_bytes()
    with serve(lambda request: json_reply(body)) as server:
        result = invoke(
            url,
            "ingest",
            "hf",
            "--date",
            "2024-10-25",
            "--json",
            PAPERS_HF_API_URL=server.url + "/api",
        )
    assert result.exit_code == 0, result.stderr
    assert server.requests[0].path == "/api/daily_papers"
    assert server.requests[0].query["date"] == "2024-10-25"
    assert json.loads(result.stdout)["papers"] == 29


def test_hf_5xx_is_one_line_exit_1_database_unchanged(seeded: str) -> None:
    before = snapshot(seeded)
    with serve(lambda request: Reply(503, b"down for maintenance")) as server:
        result = invoke(seeded, "ingest", "hf", "--retries", "0", PAPERS_HF_API_URL=server.url)
    assert result.exit_code == 1
    (line,) = lines(result.stderr)
    assert line.startswith("error: hf daily_papers: ") and "HTTP 503" in line
    assert snapshot(seeded) == before


def test_arxiv_fetch_and_error_entry(url: str, fixtures_dir: Path) -> None:
    fixture = (fixtures_dir / "arxiv_query_sample.xml").read_text(encoding="utf-8")

    def script(request: Request) -> Reply:
        if request.query["search_query"] == "cat:bad":
            error = (
                "<entry><id>http://arxiv.org/api/errors#x</id><title>Error</title>"
                "<summary>malformed query</summary></entry>"
            )
            return Reply(200, atom_feed(fixture, [error], total=1))
        return Reply(200, atom_feed(fixture, atom_entries(fixture), total=10))

    with serve(script) as server:
        ok = invoke(
            url,
            "ingest",
            "arxiv",
            "--category",
            "cs.LG",
            "--max",
            "10",
            PAPERS_ARXIV_API_URL=server.url,
        )
        before = snapshot(url)
        bad = invoke(url, "ingest", "arxiv", "--category", "bad", PAPERS_ARXIV_API_URL=server.url)
    assert ok.exit_code == 0, ok.stderr
    assert lines(ok.stderr) == ["arxiv cat:cs.LG: 10 papers (10 new, 0 updated, 0 unchanged)"]
    assert server.requests[0].query["max_results"] == "10"
    assert bad.exit_code == 1
    (line,) = lines(bad.stderr)
    assert "arXiv API error: malformed query" in line
    assert snapshot(url) == before


def _console(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PAPERS_", "SLACK_", "DISCORD_"))
    }
    env["DATABASE_URL"] = url
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


def test_console_script_exit_codes(url: str, tmp_path: Path) -> None:
    bad = tmp_path / "truncated.json"
    bad.write_bytes(BAD["truncated.json"][0])
    result = _console(url, "ingest", "file", str(bad))
    assert result.returncode == 1, result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith(f"error: {bad}: ") and "truncated JSON" in line


@pytest.mark.parametrize(
    "args",
    [
        ("ingest", "hf", "--date", "2024-10-25", "--month", "2024-10"),
        ("ingest", "seeds", "--as-of", "2025-13-01"),
    ],
)
def test_console_script_usage_errors_exit_2(url: str, args: tuple[str, ...]) -> None:
    result = _console(url, *args)
    assert result.returncode == 2, result.stderr
    (line,) = lines(result.stderr)
    assert line.startswith("error: ")


def test_summary_counts_repeated_and_rejected_entries(url: str, tmp_path: Path) -> None:
    # Entries add up: 2 papers + 1 repeated + 1 rejected (an id PostgreSQL cannot store).
    path = tmp_path / "mixed.jsonl"
    rows = [
        {"id": "2411.00001", "title": "One", "abstract": "a"},
        {"id": "2411.00002", "title": "Two", "abstract": "b"},
        {"id": "2411.00001", "title": "One", "abstract": "a"},
        {"id": "9" * 65, "title": "Long id", "abstract": "c"},
    ]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    result = invoke(url, "ingest", "file", str(path))
    assert result.exit_code == 0, result.stderr
    out = lines(result.stderr)
    assert out[0] == (
        f"{path}: 2 papers (2 new, 0 updated, 0 unchanged) from 4 entries (1 repeated, 1 rejected)"
    )
    assert out[1].startswith("  rejected: ") and "record 4" in out[1]
    assert len(out) == 2
