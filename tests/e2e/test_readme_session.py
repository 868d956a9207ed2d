"""The README's example console session is what `make run` really prints.

The test does what `make run` does (migrate, ingest the bundled seeds, `serve console`),
types the README's commands into the console, and compares the transcript with the
README block line by line, from the first prompt (the README leaves out the one-line
greeting, which names commands that tests/test_docs.py would read as CLI commands).
Dates are replaced by a placeholder first: the seed captures carry page dates without a
year, read relative to today, and the next digest's date depends on the day the test
runs; box padding is compared without spaces.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.runtime.cli.helpers import run_cli

README = Path(__file__).resolve().parents[2] / "README.md"
PROMPT = "papers> "
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2}")


def readme_session() -> list[str]:
    """The first ```text block after `make run` opens the console."""
    text = README.read_text(encoding="utf-8")
    start = text.index("`make run` opens the console adapter")
    block = text[start:].split("```text\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def comparable(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        line = _DATE.sub("DATE", line)
        line = re.sub(r"\s+", "", line.strip().strip("│"))
        if line:
            out.append(line)
    return out


def test_the_readme_console_session_matches_the_console(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'papers-bot.db'}"
    assert run_cli("db", "upgrade", database_url=url, cwd=tmp_path).returncode == 0
    assert run_cli("ingest", "seeds", "--if-empty", database_url=url, cwd=tmp_path).returncode == 0
    expected = readme_session()
    commands = [line[len(PROMPT) :] for line in expected if line.startswith(PROMPT)]
    assert commands and commands[-1] == "quit"
    result = run_cli(
        "serve",
        "console",
        database_url=url,
        cwd=tmp_path,
        stdin="\n".join(commands) + "\n",
        env={"COLUMNS": "80"},
    )
    assert result.returncode == 0, result.stderr
    # Piped input is not echoed: put each command back after its prompt, as a terminal shows.
    typed = iter(commands)
    transcript: list[str] = []
    printed = result.stdout[result.stdout.index(PROMPT) :]
    for line in printed.splitlines():
        while line.startswith(PROMPT):
            rest = line[len(PROMPT) :]
            transcript.append(PROMPT + next(typed, ""))
            line = rest
        transcript.append(line)
    assert comparable(transcript) == comparable(expected)
