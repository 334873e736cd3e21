"""The team store on SQLite: the embedded default, one file in the server's state folder."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agenttail.store.team import sql as q
from agenttail.store.team.engine import Cursor, SqlTeamStore

BUSY_TIMEOUT_S = 30.0


class SqliteTeamStore(SqlTeamStore):
    """One connection, one writer at a time (SQLite allows no more); WAL for readers."""

    dialect = q.SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
        self._conn.isolation_level = None
        self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute("PRAGMA synchronous = NORMAL")
        self._create_schema()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self._conn.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._conn.close()
