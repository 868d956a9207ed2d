"""Search by meaning through the command line, with the real encoder (offline).

`ingest` embeds the new papers (a second bar) before it updates the index, so the
generation's vector part holds them; a cold title search still imports no numpy, while a
description query loads the encoder and fuses dense candidates; `--no-embed` skips it;
`similar` goes through the vectors.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from runtime.cli.embed import embed_ingested
from tests.runtime.cli.helpers import run_cli
from tests.runtime.cli.test_search_cold import NOT_FOR_A_SEARCH, _search

ON = {"PAPERS_SEMANTIC": "1"}
# Describes the deep-clustering speech separation paper without its title words.
DESCRIPTION = (
    "the method that separates overlapping voices of several speakers recorded with a single "
    "microphone by clustering embeddings learned for every time frequency bin"
)


def _vector_meta(tmp_path: Path) -> dict[str, object]:
    home = tmp_path / "papers-bot.index"
    generation = (home / "CURRENT").read_text().strip()
    meta = json.loads((home / generation / "vectors" / "vectors.json").read_text())
    assert isinstance(meta, dict)
    return meta


def test_ingest_embeds_and_search_uses_the_vectors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'papers-bot.db'}"
    done = run_cli("ingest", "seeds", database_url=url, cwd=tmp_path, env=ON, timeout=300)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "papers-bot.db") as connection:
        (papers,) = connection.execute("SELECT count(*) FROM papers").fetchone()
        (vectors,) = connection.execute("SELECT count(*) FROM paper_vectors").fetchone()
    assert vectors == papers
    assert _vector_meta(tmp_path)["count"] == papers  # in the index's generation
    status = run_cli("index", "status", "--json", database_url=url, cwd=tmp_path, env=ON)
    assert status.returncode == 0, status.stderr
    described = json.loads(status.stdout)["vectors"]
    assert described["papers"] == papers
    assert described["model"] == _vector_meta(tmp_path)["model"]

    cards, loaded = _search(url, tmp_path, "cocktail", "party", "problem", env=ON)
    assert cards
    assert sorted(loaded.intersection(NOT_FOR_A_SEARCH)) == []  # no numpy, no onnxruntime
    assert "onnxruntime" not in loaded and "usearch" not in loaded

    cards, loaded = _search(url, tmp_path, DESCRIPTION, env=ON)
    assert "onnxruntime" in loaded and "usearch" in loaded  # the query was embedded
    assert "sqlalchemy" not in loaded
    assert any("Speech Separation" in str(card["title"]) for card in cards[:5])


def test_no_embed_leaves_the_papers_without_vectors(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'papers-bot.db'}"
    done = run_cli(
        "ingest", "seeds", "--no-embed", database_url=url, cwd=tmp_path, env=ON, timeout=300
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(tmp_path / "papers-bot.db") as connection:
        (vectors,) = connection.execute("SELECT count(*) FROM paper_vectors").fetchone()
    assert vectors == 0
    assert _vector_meta(tmp_path)["count"] == 0
    status = run_cli("index", "status", database_url=url, cwd=tmp_path, env=ON)
    assert status.returncode == 0, status.stderr
    assert "vectors:   none yet for all-MiniLM-L6-v2-int8@" in status.stdout
    assert "`papers-bot embed` adds them" in status.stdout


def test_a_missing_extra_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAPERS_SEMANTIC", "1")
    monkeypatch.setattr(
        "runtime.dense.SEMANTIC_MODULES", ("onnxruntime", "no_such_module_for_papers_bot")
    )
    note = embed_ingested(database=None, progress=None)  # type: ignore[arg-type]
    assert note is not None and "\n" not in note
    assert "'semantic' extra is not installed" in note
    assert "no_such_module_for_papers_bot" in note and "--no-embed" in note


def test_embed_after_a_no_embed_ingest_leaves_the_index_current(tmp_path: Path) -> None:
    # The next search must not pay for applying every embedded paper to the index.
    url = f"sqlite:///{tmp_path / 'papers-bot.db'}"
    done = run_cli(
        "ingest", "seeds", "--no-embed", database_url=url, cwd=tmp_path, env=ON, timeout=300
    )
    assert done.returncode == 0, done.stderr
    embedded = run_cli("embed", "--json", database_url=url, cwd=tmp_path, env=ON, timeout=300)
    assert embedded.returncode == 0, embedded.stderr
    with sqlite3.connect(tmp_path / "papers-bot.db") as connection:
        (papers,) = connection.execute("SELECT count(*) FROM papers").fetchone()
    assert json.loads(embedded.stdout)["embedded"] == papers
    status = run_cli("index", "status", "--json", database_url=url, cwd=tmp_path, env=ON)
    report = json.loads(status.stdout)
    assert report["vectors"]["papers"] == papers == _vector_meta(tmp_path)["count"]
    assert report["behind"] == 0  # nothing left for the next search to catch up
