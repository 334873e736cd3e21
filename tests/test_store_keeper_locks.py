"""The daemon's look at its store file keeps SQLite's locks (agenttail/daemon/store_keeper.py).

Closing any descriptor of a file drops every POSIX lock the process holds on it, SQLite's
included. The keeper once read the store's header through a descriptor it opened and closed
before every task: another process's writer then took itself for the last connection, and
its close checkpointed and deleted the WAL under the daemon's connections (a store found
corrupt after a full disk, when ``scan`` ran beside the daemon).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from agenttail.daemon.store_keeper import StoreKeeper
from agenttail.store import Store

OTHER_WRITER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
conn.close()  # the last connection's close checkpoints the WAL and deletes it
"""


def test_another_writer_still_sees_the_daemons_connection_after_the_keeper_looks(
    tmp_path: Path,
) -> None:
    database = tmp_path / "agenttail.db"
    Store.ensure_schema(database)
    keeper = StoreKeeper(database)
    store, identity = keeper.open()
    try:
        store.conn.execute("CREATE TABLE probe (x)")
        store.conn.execute("INSERT INTO probe VALUES (1)")
        wal = Path(f"{database}-wal")
        assert wal.stat().st_size > 0  # the change lives in the WAL
        for _ in range(3):  # as the workers do before their tasks
            store, identity = keeper.follow(store, identity)
            assert keeper.holds(identity)
        subprocess.run([sys.executable, "-c", OTHER_WRITER, str(database)], check=True)
        assert wal.exists() and wal.stat().st_size > 0, "the WAL went away under an open writer"
        assert store.conn.execute("SELECT x FROM probe").fetchall() == [(1,)]
    finally:
        store.close()
        keeper.close()
