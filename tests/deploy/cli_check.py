"""Checks that an argument list is a real `papers-bot` invocation (shared by deploy and docs tests).

Two checks per command line: the typer `CliRunner` runs `papers-bot <words> --help` and
must exit 0, and click parses the full argument list against the real command tree
(so a bad choice such as `serve everything` or an unknown option fails too) without
running the command.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer
from typer.testing import CliRunner


def cli_app() -> typer.Typer:
    from runtime.cli.main import app

    return app


def command_words(args: Sequence[str]) -> list[str]:
    """The leading sub-command words and positionals, up to the first option."""
    words: list[str] = []
    for arg in args:
        if arg.startswith("-"):
            break
        words.append(arg)
    return words


def check_cli(args: Sequence[str]) -> None:
    """Fail with a readable message unless `papers-bot *args` is a valid invocation."""
    args = list(args)
    app = cli_app()
    if "--help" in args:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, f"`papers-bot {' '.join(args)}`: {result.output}"
        return
    result = CliRunner().invoke(app, [*command_words(args), "--help"])
    assert result.exit_code == 0, (
        f"`papers-bot {' '.join(args)} --help` exited {result.exit_code}: {result.output}"
    )
    root = typer.main.get_command(app)
    ctx: Any = root.make_context("papers-bot", list(args), resilient_parsing=True)
    node: Any = root
    rest = list(args)
    path = ["papers-bot"]
    while hasattr(node, "get_command") and rest and not rest[0].startswith("-"):
        sub = node.get_command(ctx, rest[0])
        assert sub is not None, f"`papers-bot {' '.join(args)}`: no command {rest[0]!r}"
        path.append(rest.pop(0))
        node = sub
        ctx = node.make_context(path[-1], list(rest), parent=ctx, resilient_parsing=True)
    assert not hasattr(node, "get_command"), f"`{' '.join(path)}` is a group, not a command"
    # Full, strict parse of the leaf's options and arguments; raises on anything wrong.
    node.make_context(path[-1], list(rest), parent=ctx.parent)
