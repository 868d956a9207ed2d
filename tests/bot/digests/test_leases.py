"""Worker leases: a held lease reads as alive to others, a released one as dead."""

from __future__ import annotations

from storage.db import Database
from storage.leases import WorkerLease


def test_lease_is_alive_while_held_and_dead_after(db: Database) -> None:
    observer = WorkerLease(db, "observer")
    with WorkerLease(db, "host:1:a"):
        assert observer.is_alive("host:1:a")
        assert observer.is_alive("host:1:a")  # probing must not steal or break the lease
    assert not observer.is_alive("host:1:a")
    assert not observer.is_alive("never-existed")
    assert observer.is_alive("observer")
