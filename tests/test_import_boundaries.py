"""The core stays platform-neutral: nothing under bot/ imports storage, adapters, the
runtime, SQLAlchemy or a platform library. Imports are read with `ast`, so a name in a
string or comment does not count, and an import inside a function or TYPE_CHECKING does.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("storage", "adapters", "runtime", "sqlalchemy", "slack_bolt", "slack_sdk", "discord")


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def forbidden_imports(package: Path) -> list[str]:
    bad = []
    for path in sorted(package.rglob("*.py")):
        for line, module in imported_modules(path):
            top = module.split(".", 1)[0]
            if top in FORBIDDEN:
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return bad


def test_bot_imports_nothing_outside_the_core() -> None:
    assert forbidden_imports(ROOT / "bot") == []


def test_the_check_sees_nested_and_aliased_imports(tmp_path: Path) -> None:
    module = tmp_path / "sample.py"
    module.write_text(
        "import os\n"
        "import sqlalchemy.orm as orm\n"
        "def f():\n"
        "    from storage.db import Database\n"
        "text = 'import discord'\n",
        encoding="utf-8",
    )
    names = [name for _, name in imported_modules(module)]
    assert names == ["os", "sqlalchemy.orm", "storage.db"]
