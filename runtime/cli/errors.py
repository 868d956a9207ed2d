"""Turns exceptions into the CLI's contract: one line on stderr and exit code 1 or 2."""

from __future__ import annotations

import sys

import typer
from pydantic import ValidationError

# The one line a Ctrl-C leaves: whatever was under way was rolled back (an ingest is one
# transaction per file) or handed back (a served digest) on the way out.
INTERRUPTED = "interrupted"


class CliError(Exception):
    """A runtime error with a message fit for the user (exit code 1)."""


class UsageError(Exception):
    """Bad arguments the parser could not catch (exit code 2)."""


class ConfigurationError(Exception):
    """Settings a command needs are missing or do not fit together (exit code 1)."""


def settings_error_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(x) for x in err.get("loc", ())) or "settings"
        parts.append(f"{where}: {err.get('msg', 'invalid')}")
    return "configuration error: " + "; ".join(parts)


def loaded_error(module: str, name: str) -> type[BaseException] | None:
    """The exception class `module.name` if that module was imported, else None.

    SQLAlchemy and storage are imported only by the commands that use them (a
    configuration error must not pay for loading them); an error of a library this
    process never imported cannot have been raised.
    """
    found = getattr(sys.modules.get(module), name, None)
    return found if isinstance(found, type) and issubclass(found, BaseException) else None


def library_error_line(exc: Exception) -> str | None:
    """The one line for a storage or database error, or None for any other exception."""
    access = loaded_error("storage.db", "StorageAccessError")
    if access is not None and isinstance(exc, access):
        return f"error: {exc}"
    database = loaded_error("sqlalchemy.exc", "SQLAlchemyError")
    if database is not None and isinstance(exc, database):
        first = str(exc).strip().splitlines()[0]
        return f"database error: {first}"
    return None


def run_cli(app: typer.Typer) -> int:
    try:
        # In non-standalone mode typer returns the code of a `typer.Exit` instead of
        # raising it, and turns Ctrl-C (KeyboardInterrupt) into `Exit(130)`; the commands
        # themselves return None.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            if code == 130:
                print(INTERRUPTED, file=sys.stderr)
            return code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        return 1
    except typer.TyperException as exc:
        # Typer's usage errors carry their own message and exit code 2.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"error: {exc.format_message()}", file=sys.stderr)
        return int(exc.exit_code)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except ConfigurationError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 1
    except ValidationError as exc:
        print(settings_error_line(exc), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(INTERRUPTED, file=sys.stderr)
        return 130
    except Exception as exc:
        line = library_error_line(exc)
        if line is None:
            raise
        print(line, file=sys.stderr)
        return 1
    return 0
