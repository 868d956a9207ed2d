"""Entry point of the `papers-bot` console script.

Sub-command groups live in their own modules (ingest, query, admin, serve, digest,
discord, alerts, index, reading, similar, embed) and are mounted here, lazily: a module is
imported only when its command runs (or when `--help` lists them all). A cold
`papers-bot search` therefore never imports SQLAlchemy, alembic, the chat platforms or
the ingest parsers it does not use (docs/search.md, "Cold start"). Exit codes follow
DESIGN.md §2: 0 success, 2 usage error, 1 runtime error, with errors on stderr in one line.
"""

from __future__ import annotations

import sys
from importlib import import_module

import typer
from typer import _click as click  # typer ships its own click; its types are these
from typer.core import TyperGroup

from runtime.cli.errors import run_cli

# name -> (module, attribute): a typer app (a group of commands) or a command function.
COMMANDS: dict[str, tuple[str, str]] = {
    "ingest": ("runtime.cli.ingest", "app"),
    "search": ("runtime.cli.query", "search"),
    "trending": ("runtime.cli.query", "trending"),
    "stats": ("runtime.cli.admin", "stats"),
    "db": ("runtime.cli.admin", "db_app"),
    "digest": ("runtime.cli.digest", "app"),
    "alerts": ("runtime.cli.alerts", "app"),
    "index": ("runtime.cli.index_cmd", "app"),
    "serve": ("runtime.cli.serve", "serve"),
    "discord": ("runtime.cli.discord_cmd", "app"),
    # Reading list and citations (issue 14).
    "cite": ("runtime.cli.reading", "cite"),
    "list": ("runtime.cli.reading", "list_app"),
    # More like this, and vectors for search by meaning (issue 12).
    "similar": ("runtime.cli.similar", "similar"),
    "embed": ("runtime.cli.embed", "embed"),
}


def load_command(name: str) -> click.Command:
    """The click command `name`, built from its module (imported now, not before)."""
    module, attribute = COMMANDS[name]
    target = getattr(import_module(module), attribute)
    # A holder with a callback always becomes a group, so a one-command sub-app stays a
    # group (`db upgrade`) and a function becomes exactly one command.
    holder = typer.Typer(add_completion=False)
    holder.callback()(lambda: None)
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


class LazyGroup(TyperGroup):
    """The root group: lists every command, imports one only when it is looked up."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        if cmd_name not in self.commands:
            self.commands[cmd_name] = load_command(cmd_name)
        return self.commands[cmd_name]


app = typer.Typer(
    name="papers-bot",
    cls=LazyGroup,
    help="Track new research papers in Slack, Discord or a terminal.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Track new research papers in Slack, Discord or a terminal."""


def main() -> None:
    sys.exit(run_cli(app))


if __name__ == "__main__":
    main()
