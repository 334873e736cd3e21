"""The running daemon follows its store file: replaced, moved, deleted, emptied or damaged.

Workers keep one connection each for hours. Before every task a worker compares the file's
(device, inode) with the one its connection was opened on (one ``stat``): a file replaced by
``agenttail scan`` (which moves a damaged store aside and builds a new one), moved or deleted
is followed by reopening, creating it when missing. An error that says the file under the
connection is damaged (SQLITE_NOTADB / SQLITE_CORRUPT, or the schema gone as after truncation
to 0 bytes) moves it aside and rebuilds it, once, whichever worker or sweep meets it first;
then a sweep reads every stream again into the new store (events and watermarks live in the
same file, so nothing is counted twice). No restart is needed for new usage to show.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from agenttail.lazy_log import LazyLogger
from agenttail.store import STEADY_CHECKPOINT_PAGES, Store, is_damage, quarantine

log = LazyLogger(__name__)

Identity = tuple[int, int]


def file_identity(path: Path) -> Identity | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def is_broken_store(exc: BaseException) -> bool:
    """The store file under a connection is damaged or no longer ours (schema gone)."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    return is_damage(exc) or "no such table" in str(exc)


def store_problem(path: Path) -> str | None:
    """Why the store file is unusable (for ``doctor`` and recovery), or None when it looks fine.

    Cheap: the size, the SQLite header and our schema, not a page-by-page check.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be read: {exc}"
    if size == 0:
        return "empty (0 bytes)"
    try:
        with Store(path, readonly=True) as store:
            names = set(store.table_names())
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            return f"damaged: {exc}"
        return None  # busy or locked: not a verdict on the file
    if "_sqlite_migrations" not in names:
        return "not an agenttail store (no schema)"
    return None


SQLITE_HEADER = b"SQLite format 3\0"


def _header_damage(header: bytes) -> str | None:
    if not header:
        return "empty (0 bytes)"
    if header != SQLITE_HEADER:
        return "not a SQLite file any more"
    return None


class StoreKeeper:
    """Shared by the daemon's workers and sweep; thread-safe."""

    def __init__(self, path: Path, on_rebuilt: Callable[[], object] | None = None) -> None:
        self.path = path
        self.on_rebuilt = on_rebuilt
        self.rebuilds = 0
        self._lock = threading.Lock()
        self._reader: tuple[Identity, int] | None = None  # see _damaged_in_place

    def _damaged_in_place(self) -> str | None:
        """A cheap look at the file under an open connection: empty, or not SQLite any more.

        Read through one descriptor kept open per file, never one opened and closed here:
        closing any descriptor of a file drops every POSIX lock this process holds on it,
        SQLite's included, and another process's writer would then take itself for the last
        connection and checkpoint and delete the WAL under the daemon's (a corrupt store).
        """
        with self._lock:
            current = file_identity(self.path)
            if current is None:
                return None
            if self._reader is None or self._reader[0] != current:
                try:
                    fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
                except OSError:
                    return None
                stat = os.fstat(fd)
                # The old file's locks go with its descriptor: its connections are leaving it.
                self._close_reader()
                self._reader = ((stat.st_dev, stat.st_ino), fd)
                if self._reader[0] != current:  # replaced between the stat and the open
                    return None
            try:
                header = os.pread(self._reader[1], len(SQLITE_HEADER), 0)
            except OSError:
                return None
        return _header_damage(header)

    def _close_reader(self) -> None:
        if self._reader is not None:
            os.close(self._reader[1])
            self._reader = None

    def close(self) -> None:
        """After every connection on the store is closed (the daemon stops)."""
        with self._lock:
            self._close_reader()

    def _ensure(self) -> None:
        """Create the store when missing (caller holds the lock)."""
        if file_identity(self.path) is None:
            log.warning("store_missing_recreating", database=str(self.path))
            Store.ensure_schema(self.path)
            self._rebuilt()

    def _rebuilt(self) -> None:
        self.rebuilds += 1
        if self.on_rebuilt is not None:
            self.on_rebuilt()

    def open(self) -> tuple[Store, Identity | None]:
        """A writer on the current file, and the identity it was opened on."""
        with self._lock:
            self._ensure()
            store = Store(self.path, checkpoint_pages=STEADY_CHECKPOINT_PAGES)
            return store, file_identity(self.path)

    def follow(self, store: Store, opened_on: Identity | None) -> tuple[Store, Identity | None]:
        """``store`` itself while its file is still in place; else a writer on the new one.

        A connection not followed yet (``opened_on`` None) adopts the file as it is now."""
        current = file_identity(self.path)
        if current is not None and opened_on in (None, current):
            damage = self._damaged_in_place()
            if damage is None:
                return store, current
            # Truncated or overwritten under an open connection, which still reads its own
            # cache and WAL and so would never fail: every other reader sees the damage.
            self.recover(current, damage, problem=damage)
        elif opened_on is not None:
            log.warning("store_replaced_reopening", database=str(self.path))
        store.close()
        return self.open()

    def holds(self, opened_on: Identity | None) -> bool:
        """Whether a connection opened on ``opened_on`` is still on the store's file, undamaged."""
        if opened_on is None or file_identity(self.path) != opened_on:
            return False
        return self._damaged_in_place() is None

    def check(self) -> None:
        """For the sweep: a missing store is created before it is read."""
        with self._lock:
            self._ensure()

    def recover(self, seen_on: Identity | None, error: str, problem: str | None = None) -> None:
        """Move a damaged store aside and build a new one, unless another thread already did
        (the file is no longer the one the error was met on) or the file is fine after all."""
        with self._lock:
            if file_identity(self.path) != seen_on:
                return
            problem = problem or store_problem(self.path)
            if problem is None:
                return
            moved = quarantine(self.path)
            log.error(
                "store_damaged_rebuilding",
                database=str(self.path),
                moved_to=str(moved),
                problem=problem,
                error=error,
                hint="every stream is read again from the agents' files",
            )
            Store.ensure_schema(self.path)
            self._rebuilt()
