"""A database path the bot may not write is one line naming the path and the owner it
needs (issue 15, item 5), and `db upgrade` says what it did (item 12)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from storage.db import Database, StorageAccessError
from tests.runtime.cli.helpers import BIN, bot_environment, run_cli

UID = 10001


def test_unwritable_directory_is_one_clear_error(tmp_path: Path) -> None:
    # A path under a regular file fails for root too (ENOTDIR), unlike chmod.
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    database = Database(f"sqlite:///{blocker / 'papers-bot.db'}")
    try:
        with pytest.raises(StorageAccessError) as caught:
            database.upgrade()
    finally:
        database.dispose()
    message = str(caught.value)
    assert f"cannot create {blocker / 'papers-bot.db'}.migrate-lock" in message
    assert f"the directory {blocker} must exist and be writable by uid" in message


def _can_run_as(uid: int) -> bool:
    if shutil.which("setpriv") is None or os.geteuid() != 0:
        return False
    probe = subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", str(BIN), "--help"],
        capture_output=True,
        check=False,
    )
    return probe.returncode == 0


@pytest.mark.skipif(not _can_run_as(UID), reason="needs root and setpriv to drop to uid 10001")
def test_root_owned_volume_as_the_image_user() -> None:
    # Not under tmp_path: pytest's base directory is private to root, so uid 10001 could
    # not even reach it.
    base = Path(tempfile.mkdtemp(prefix="papers-volume-"))
    volume = base / "data"
    try:
        base.chmod(0o755)
        volume.mkdir(mode=0o755)  # owned by root, as a fresh Docker volume mounted on /data
        env = bot_environment(DATABASE_URL=f"sqlite:///{volume}/papers-bot.db")
        command = ["setpriv", f"--reuid={UID}", f"--regid={UID}", "--clear-groups", str(BIN)]
        done = subprocess.run(
            [*command, "db", "upgrade"],
            capture_output=True,
            text=True,
            env=env,
            cwd=base,
            check=False,
            timeout=120,
        )
    finally:
        shutil.rmtree(base)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: cannot create {volume}/papers-bot.db.migrate-lock (Permission denied): "
        f"the directory {volume} must exist and be writable by uid {UID} gid {UID}, "
        f"the user papers-bot runs as (e.g. chown {UID}:{UID} {volume}), "
        "or set DATABASE_URL elsewhere"
    ]


def test_db_upgrade_says_created_then_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    first = run_cli("db", "upgrade", database_url=url)
    assert first.returncode == 0, first.stderr
    assert first.stderr.startswith(f"created sqlite database {tmp_path / 'new.db'} at revision ")
    second = run_cli("db", "upgrade", database_url=url)
    assert second.returncode == 0, second.stderr
    assert "is already up to date (revision " in second.stderr
    assert not second.stderr.startswith("created")
