"""The first load of a new store, without per-event trigger and index work.

A cold scan of months of history would otherwise pay every rollup trigger (~60 us an event) and
every secondary index on each insert. When the store holds no events yet, ``BulkLoad.begin``
drops the triggers and secondary indexes on ``events`` (their SQL kept in ``store_build``),
the loading connections write with ``synchronous = OFF``, and ``finish`` builds every rollup
with one ``INSERT ... SELECT`` and restores the triggers and indexes, in one transaction.

A load that never finished (the process died, the machine lost power) leaves ``store_build``
behind with nobody holding the build lock. The next writer resets that store in place (events,
streams and rollups emptied, triggers and indexes restored), so every session is read again
from the agents' files: nothing the store held before the load is lost, because it held no
events.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from pathlib import Path

from agenttail.store.rollups import fill_rollups, rollup_tables

BUILD_TABLE = "store_build"
# Read while loading: the recount of a copy group looks its precedences up through it.
KEPT_INDEXES = ("events_dedup_precedence",)
_KEPT = ", ".join("?" for _ in KEPT_INDEXES)
_DROPPED = (
    "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'events' AND sql IS NOT NULL"
    f" AND (type = 'trigger' OR (type = 'index' AND name NOT IN ({_KEPT})))"
    " ORDER BY type DESC, name"
)


def _lock_path(database: Path) -> str:
    return f"{database}.build-lock"


def _take_lock(database: Path) -> int | None:
    """The build lock's descriptor, or None when another process holds it (its load runs)."""
    fd = os.open(_lock_path(database), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def unfinished(conn: sqlite3.Connection) -> bool:
    """Whether a bulk load began and has not finished (or died) in this store."""
    found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (BUILD_TABLE,))
    return found.fetchone() is not None


def _restore(conn: sqlite3.Connection, *, reset: bool) -> None:
    """Build the rollups (from no events when ``reset``) and bring back what begin dropped."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        if reset:
            conn.execute("DELETE FROM events")
            conn.execute("DELETE FROM sessions")
        for table in rollup_tables():
            conn.execute(f"DELETE FROM {table}")
        fill_rollups(conn)
        dropped = conn.execute(f"SELECT sql FROM {BUILD_TABLE} ORDER BY rowid").fetchall()
        for (sql,) in dropped:
            conn.execute(sql)
        conn.execute(f"DROP TABLE {BUILD_TABLE}")
    except BaseException:
        _rollback(conn)
        raise
    conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    """Roll back what is left: SQLite has already rolled back after some errors (a full disk)."""
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def repair_abandoned(conn: sqlite3.Connection, database: Path) -> bool:
    """Reset a store whose bulk load died; False when a live load holds it (or none began)."""
    if not unfinished(conn):
        return False
    fd = _take_lock(database)
    if fd is None:
        return False
    try:
        if unfinished(conn):  # another writer may have repaired it meanwhile
            _restore(conn, reset=True)
            return True
        return False
    finally:
        os.close(fd)


class BulkLoad:
    """A first load in progress; holds the build lock until ``finish``."""

    def __init__(self, conn: sqlite3.Connection, lock_fd: int) -> None:
        self.conn = conn
        self.lock_fd = lock_fd

    @classmethod
    def begin(cls, conn: sqlite3.Connection, database: Path) -> BulkLoad | None:
        """Start a bulk load on ``conn`` when the store holds no events, else None."""
        fd = _take_lock(database)
        if fd is None:
            return None
        try:
            if unfinished(conn):  # we hold the lock: its loader is gone
                _restore(conn, reset=True)
            # The marker must survive a power loss: this commit is synced in full.
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None:
                    conn.execute("ROLLBACK")
                    os.close(fd)
                    return None
                dropped = conn.execute(_DROPPED, KEPT_INDEXES).fetchall()
                conn.execute(f"CREATE TABLE {BUILD_TABLE} (type TEXT, name TEXT, sql TEXT)")
                conn.executemany(f"INSERT INTO {BUILD_TABLE} VALUES (?, ?, ?)", dropped)
                for kind, name, _sql in dropped:
                    conn.execute(f"DROP {kind.upper()} {name}")
            except BaseException:
                _rollback(conn)
                raise
            conn.execute("COMMIT")
        except BaseException:
            os.close(fd)
            raise
        return cls(conn, fd)

    def finish(self) -> None:
        """Build the rollups from everything loaded and restore triggers and indexes (synced).

        After an error the load is still held: ``finish`` may be tried again (the disk was
        full), or ``abandon`` leaves the store to be reset by its next writer.
        """
        self.conn.execute("PRAGMA synchronous = FULL")
        _restore(self.conn, reset=False)
        os.close(self.lock_fd)

    def abandon(self) -> None:
        os.close(self.lock_fd)
