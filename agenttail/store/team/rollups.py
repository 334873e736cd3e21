"""The team store's rollups: the local store's (``store/rollups.py``), per user and machine.

The local store keeps its rollups with triggers; the team store keeps the same tables (same
names, same columns, plus ``user_name`` and ``machine_id`` keys) with a few set-at-a-time
statements in each batch's transaction, written once for SQLite and PostgreSQL: the rows a
batch is about to replace are subtracted, and the rows it stored are added. So reports read
thousands of rollup rows however many events the team has sent, and the analytics of
``store/analytics.py`` answer on both stores.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from agenttail.store.rollups import (
    SESSIONS,
    Rollup,
    analytics_rollups,
    duration_bin,
    portable_duration_bin,
)
from agenttail.store.team.sql import Dialect

EVENTS = "team_events"
IDENTITY_KEYS = {"user_name": "{r}.user_name", "machine_id": "{r}.machine_id"}
_TIME_KEYS = ("bucket", "hour", "day", "span", "bin")


# A bare comparison used as 0 or 1 (``({r}.ok = 1)``; not a function's parentheses).
_FLAG = re.compile(r"(?<![\w])\((\{r\}\.[^()]*)\)")


def portable(expr: str) -> str:
    """A local rollup expression in SQL PostgreSQL runs too: flags as CASE, 64-bit casts."""
    expr = _FLAG.sub(r"CASE WHEN \1 THEN 1 ELSE 0 END", expr)
    return expr.replace(" AS INTEGER)", " AS BIGINT)")


def _team(rollup: Rollup) -> Rollup:
    keys = {**rollup.keys, **IDENTITY_KEYS}
    for column in ("{r}.duration_ms", "{r}.ttft_ms"):  # the local bin uses SQLite's log2
        if keys.get("bin") == duration_bin(column):
            keys["bin"] = portable_duration_bin(column)
    sums = {name: portable(expr) for name, expr in rollup.sums.items()}
    return replace(rollup, keys=keys, sums=sums)


def team_rollups() -> list[Rollup]:
    """Every rollup of the local store, keyed by user and machine too."""
    return [_team(rollup) for rollup in (*analytics_rollups(), SESSIONS)]


def _column_type(name: str, rollup: Rollup, d: Dialect) -> str:
    if name in rollup.keys:
        return d.integer if name in _TIME_KEYS else "TEXT"
    if name == "project":
        return "TEXT"
    return d.integer


def schema(d: Dialect) -> list[str]:
    """CREATE statements of every rollup table and the indexes reports use."""
    statements = []
    for rollup in team_rollups():
        keys = [f"{k} {_column_type(k, rollup, d)} NOT NULL" for k in rollup.keys]
        sums = [f"{c} {d.integer} NOT NULL DEFAULT 0" for c in rollup.sums]
        extremes = [f"{c} {_column_type(c, rollup, d)}" for c in rollup.extremes]
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {rollup.table} ({', '.join(keys + sums + extremes)}, "
            f"PRIMARY KEY ({', '.join(rollup.keys)}))"
        )
    statements += [
        "CREATE TABLE IF NOT EXISTS session_runs (agent TEXT NOT NULL, session_id TEXT NOT NULL,"
        " run_id TEXT NOT NULL, PRIMARY KEY (agent, session_id, run_id))",
        "CREATE INDEX IF NOT EXISTS session_rollup_last ON session_rollup (last_ms)",
        "CREATE INDEX IF NOT EXISTS team_events_session_time ON team_events (session_id, ts_ms)",
    ]
    return statements


def merges(d: Dialect, selection: str, sign: str) -> list[str]:
    """Statements adding (``sign`` "") or subtracting ("-") the team events that pass
    ``selection`` (SQL over ``r``) to every rollup."""
    statements = [
        rollup.merge(EVENTS, selection, sign, d.least, d.greatest) for rollup in team_rollups()
    ]
    if not sign:  # runs are a set: rows are only ever added, as in the local store
        statements.append(
            "INSERT INTO session_runs (agent, session_id, run_id) "
            f"SELECT DISTINCT r.agent, r.session_id, r.run_id FROM {EVENTS} AS r "
            f"WHERE ({selection}) AND r.run_id IS NOT NULL AND r.counted = 1 "
            "ON CONFLICT DO NOTHING"
        )
    return statements


def selection_of(d: Dialect, event_ids: Sequence[str]) -> str:
    """SQL selecting these events by id (their ids as parameters ``e0``, ``e1``...)."""
    return f"r.event_id IN ({', '.join(d.param(f'e{i}') for i in range(len(event_ids)))})"
