"""The sweep manifest in the store: written after a full ``scan`` that changed nothing it could
not vouch for, read by the next ``scan`` before it loads click and the agent plugins.

The manifest (``discovery_trace.DiscoveryTrace.manifest``) says what discovery looked at; the
streams it found are checked here against the stats the store recorded for them, exactly as
the sweep compares them (``daemon/sweep.py``). Stdlib only.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Mapping
from typing import Any

from agenttail.discovery_trace import KNOWN_PROJECTS

# Every project folder a session was seen in (any agent): Aider looks for its files there.
KNOWN_PROJECTS_SQL = (
    "SELECT DISTINCT project FROM session_rollup WHERE project IS NOT NULL"
    " AND project != '' ORDER BY project"
)
# Store values discovery may depend on (``discovery_trace.note_input``), read again here.
STORE_INPUTS = {KNOWN_PROJECTS: KNOWN_PROJECTS_SQL}


def schema_version(conn: sqlite3.Connection) -> int:
    """Changes with every schema change: a migration, or a bulk load dropping triggers."""
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])


def store_inputs(conn: sqlite3.Connection, keys: list[str]) -> dict[str, Any]:
    return {key: [row[0] for row in conn.execute(STORE_INPUTS[key])] for key in keys}


def write(conn: sqlite3.Connection, manifest: Mapping[str, Any]) -> None:
    """Replace the manifest (with the store's schema version it describes)."""
    recorded = {**manifest, "schema_version": schema_version(conn)}
    conn.execute(
        "INSERT OR REPLACE INTO sweep_manifest (id, manifest) VALUES (1, ?)",
        (json.dumps(recorded, separators=(",", ":")),),
    )


def clear(conn: sqlite3.Connection) -> None:
    conn.execute("DELETE FROM sweep_manifest")


def read(conn: sqlite3.Connection) -> dict[str, Any] | None:
    try:
        row = conn.execute("SELECT manifest FROM sweep_manifest WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a store from before m011
        return None
    return None if row is None else dict(json.loads(row[0]))


def store_changed(conn: sqlite3.Connection, manifest: Mapping[str, Any]) -> str | None:
    """Why the store no longer matches ``manifest``, or None: its schema, a store value
    discovery used, or any stream the sweep would queue (unknown, failing, or a file whose
    stat differs from the one recorded when it was last read)."""
    if schema_version(conn) != manifest["schema_version"]:
        return "the store's schema changed"
    inputs: dict[str, Any] = manifest["inputs"]
    if any(key not in STORE_INPUTS for key in inputs):
        return "an input this version cannot check"
    if store_inputs(conn, list(inputs)) != inputs:
        return "a store value discovery uses changed"
    known = {
        (path, stream): (errors, stat)
        for path, stream, errors, *stat in conn.execute(
            "SELECT path, stream, error_count, file_dev, file_ino, file_size, file_mtime_ns"
            " FROM sessions"
        )
    }
    for path, kind, shared in manifest["streams"]:
        row = known.get((path, kind))
        if row is None or row[0] > 0:
            return f"stream not read yet or failing: {path}"
        if shared:
            continue  # its database and side files are in the manifest's "read" probes
        try:
            st = os.stat(path)  # noqa: PTH116 - thousands of files: no Path per stat
        except OSError:
            return f"vanished: {path}"
        if row[1] != [st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns]:
            return f"changed: {path}"
    return None
