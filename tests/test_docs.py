"""The docs match the code: configuration tables against `Settings`, commands against the CLI.

- A *configuration table* is a markdown table whose first column holds one environment
  variable in backticks per row (e.g. `| `DATABASE_URL` | … |`). Every variable in such a
  table in README.md or docs/operations.md must be a `Settings` alias; docs/operations.md
  must list every alias, with its real default; README.md, if it has such a table, must
  list every alias too unless it links to docs/operations.md for the full list.
- Every `papers-bot …` command shown in a fenced code block or an inline code span of
  README.md or docs/*.md must be a real command: `papers-bot <words> --help` exits 0, and
  a concrete example (no placeholders) also parses in full.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.deploy.cli_check import check_cli, cli_app

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
OPERATIONS = REPO / "docs" / "operations.md"
FIELDS = {field.alias: field for field in Settings.model_fields.values()}
ALIASES = set(FIELDS)
_VAR_CELL = re.compile(r"^`([A-Z][A-Z0-9_]*)`$")


def tables(text: str) -> list[list[list[str]]]:
    """Markdown tables as rows of cells, header and separator rows dropped."""
    found: list[list[list[str]]] = []
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.lstrip().startswith("|"):
            block.append(line.strip())
            continue
        if len(block) >= 3:
            rows = []
            for row in block[2:]:
                # Split on pipes that are not escaped as \\|.
                cells = re.split(r"(?<!\\)\|", row.strip().strip("|"))
                rows.append([c.strip() for c in cells])
            found.append(rows)
        block = []
    return found


def config_tables(text: str) -> list[list[list[str]]]:
    return [t for t in tables(text) if t and all(_VAR_CELL.match(row[0]) for row in t)]


def documented(text: str) -> dict[str, list[str]]:
    return {
        _VAR_CELL.match(row[0]).group(1): row  # type: ignore[union-attr]
        for table in config_tables(text)
        for row in table
    }


def render_default(alias: str) -> str:
    default = FIELDS[alias].default
    if default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def test_operations_configuration_table_matches_settings_both_ways() -> None:
    rows = documented(OPERATIONS.read_text())
    assert set(rows) - ALIASES == set(), "documented but not in Settings"
    assert ALIASES - set(rows) == set(), "in Settings but not documented"
    for alias, row in rows.items():
        assert row[1] == render_default(alias), (alias, row[1])
        assert row[2], f"{alias} has no meaning"


def test_readme_configuration_table_matches_settings() -> None:
    if not README.exists():
        pytest.skip("README.md not written yet")
    text = README.read_text()
    rows = documented(text)
    if not rows:
        # The lead may link the full table instead of copying it.
        return
    assert set(rows) - ALIASES == set(), "README documents settings that do not exist"
    if "docs/operations.md" not in text:
        assert ALIASES - set(rows) == set(), "README's table misses settings"


# Read by the test suite and .ci/run, not by the bot, so they are not Settings.
TEST_HARNESS_VARIABLES = {"PAPERS_TEST_POSTGRES_URL", "PAPERS_SHARED_DIR"}
# Read by bot/search/embedding.py (where the derived model is cached), not a setting.
ENCODER_VARIABLES = {"PAPERS_BOT_CACHE"}


def test_no_doc_mentions_unknown_settings() -> None:
    pattern = re.compile(r"`((?:PAPERS|SLACK|DISCORD)_[A-Z0-9_]+)`")
    for path in (README, OPERATIONS):
        if path.exists():
            unknown = set(pattern.findall(path.read_text())) - ALIASES
            unknown -= {"PAPERS_INGEST_"} | TEST_HARNESS_VARIABLES | ENCODER_VARIABLES
            assert not unknown, (path.name, unknown)


def test_the_encoder_variables_are_read_by_the_encoder() -> None:
    source = (REPO / "bot" / "search" / "embedding.py").read_text()
    assert all(f'"{name}"' in source for name in ENCODER_VARIABLES)


# --- commands -----------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"[\[\]|…<>{}]|\.\.\.|^[A-Z][A-Z0-9_]*$|^\\")


def doc_files() -> list[Path]:
    files = [OPERATIONS, *sorted((REPO / "docs").glob("*.md"))]
    if README.exists():
        files.append(README)
    return sorted(set(files))


def command_lines(text: str) -> list[str]:
    """`papers-bot …` commands from fenced code blocks and inline code spans.

    In code blocks a command is a shell segment (split at `&&`, `;` and pipes) that starts
    with `papers-bot` or a path ending in `/papers-bot`, or the arguments after
    `docker compose … run --rm bot`, which go to the image's papers-bot entrypoint.
    """
    found: list[str] = []
    for block in re.findall(r"```[a-z]*\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #", 1)[0].strip().removeprefix("$ ")
            for segment in re.split(r"&&|;|\|", line):
                segment = segment.strip()
                match = re.match(r"^(?:\S*/)?papers-bot(\s.*)?$", segment)
                if match:
                    found.append(f"papers-bot{match.group(1) or ''}")
                run = re.search(r"\bcompose\b.*\brun --rm bot (.+)$", segment)
                if run:
                    found.append(f"papers-bot {run.group(1)}")
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found.extend(re.findall(r"`(papers-bot\s[^`]*)`", prose))
    return [c.strip().rstrip(".") for c in found if c.strip() != "papers-bot"]


def split_command(command: str) -> tuple[list[str], bool]:
    """The arguments after `papers-bot`, and whether they are concrete (no placeholders)."""
    try:
        argv = shlex.split(command)
    except ValueError:
        argv = command.split()
    args = argv[1:]
    concrete = not any(_PLACEHOLDER.search(a) for a in args)
    return args, concrete


def all_commands() -> list[tuple[str, str]]:
    out = []
    for path in doc_files():
        for command in command_lines(path.read_text()):
            out.append((path.name, command))
    return out


def test_docs_show_commands() -> None:
    shown = {c for _, c in all_commands()}
    assert "papers-bot db upgrade" in shown
    assert any(c.startswith("papers-bot digest run") for c in shown)


@pytest.mark.parametrize(("doc", "command"), sorted(set(all_commands())))
def test_documented_command_is_real(doc: str, command: str) -> None:
    args, concrete = split_command(command)
    if concrete:
        check_cli(args)
        return
    # A synopsis such as `papers-bot ingest file PATH… [--as-of DATE]`: the command words
    # before the first placeholder must name a real (sub)command.
    words = []
    for arg in args:
        if arg.startswith("-") or _PLACEHOLDER.search(arg):
            break
        words.append(arg)
    from typer.testing import CliRunner

    result = CliRunner().invoke(cli_app(), [*words, "--help"])
    assert result.exit_code == 0, f"{doc}: `papers-bot {' '.join(words)} --help`: {result.output}"


# --- README pictures: the Block Kit → HTML preview renderer -----------------------------


def _render_blocks_module() -> object:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "render_blocks", REPO / "docs" / "render_blocks.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_preview_renderer_turns_real_blocks_into_safe_html() -> None:
    from adapters.slack.blocks import render_reply
    from bot.models import Paper, PaperCard, Reply, ReplyKind

    paper = Paper(
        key=1,
        title="<script>alert(1)</script> & <!channel> *not bold*",
        paper_id="2410.16251",
        abstract="An abstract with > and < signs.",
        authors=("Ada Lovelace",),
        upvotes=41,
    )
    reply = Reply(
        ReplyKind.SEARCH, "Results", cards=(PaperCard(paper=paper, rank=1),), title="Search"
    )
    blocks = render_reply(reply).block_dicts()
    render = _render_blocks_module()
    page = render.message_html(blocks, command="/papers search x")  # type: ignore[attr-defined]
    assert "<script>" not in page
    assert "&lt;script&gt;" in page
    assert '<a href="https://arxiv.org/abs/2410.16251">' in page
    assert "<blockquote>" in page
    assert '<div class="header">Search</div>' in page
    assert '<span class="mention">' not in page  # the title's <!channel> stays literal text


def test_readme_pictures_are_committed() -> None:
    for name in ("slack-search.png", "slack-digest.png"):
        data = (REPO / "docs" / "img" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
