"""The team store's SQL, written once for both engines.

The two dialects differ here only in column types, how a named parameter is spelled
(``:name`` for sqlite3, ``%(name)s`` for psycopg), the two-argument min/max and how a table is
looked up; everything else is common SQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from agenttail.store.team import EVENT_COLUMNS

_INTEGER_COLUMNS = {
    "revision",
    "ts_ms",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cost_nusd",
    "recorded_cost_nusd",
    "tokens_known",
    "estimated",
    "ok",
    "context_tokens",
    "history_len",
    "is_sidechain",
    "counted",
    "received_at",
}
_REAL_COLUMNS = {"duration_ms", "ttft_ms"}
_REQUIRED = {"event_id", "revision", "kind", "agent", "session_id", "ts_ms", "user_name"}


@dataclass(frozen=True)
class Dialect:
    name: str
    integer: str
    real: str
    least: str  # the two-argument min and max
    greatest: str

    def param(self, name: str) -> str:
        return f":{name}" if self.name == "sqlite" else f"%({name})s"

    def table_exists(self) -> str:
        """SQL finding a table by the parameter ``name`` (one row when it exists)."""
        if self.name == "sqlite":
            return "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"
        return "SELECT 1 WHERE to_regclass(%(name)s) IS NOT NULL"


SQLITE = Dialect("sqlite", "INTEGER", "REAL", "min", "max")
POSTGRES = Dialect("postgresql", "BIGINT", "DOUBLE PRECISION", "LEAST", "GREATEST")


def schema(d: Dialect) -> list[str]:
    """CREATE statements, idempotent (IF NOT EXISTS): run at every open."""
    columns = []
    for name in EVENT_COLUMNS:
        kind = "TEXT"
        if name in _INTEGER_COLUMNS:
            kind = d.integer
        elif name in _REAL_COLUMNS:
            kind = d.real
        extra = " PRIMARY KEY" if name == "event_id" else ""
        extra += " NOT NULL" if name in _REQUIRED else ""
        columns.append(f"{name} {kind}{extra}")
    return [
        f"CREATE TABLE IF NOT EXISTS team_events ({', '.join(columns)})",
        "CREATE INDEX IF NOT EXISTS team_events_time ON team_events (ts_ms)",
        "CREATE INDEX IF NOT EXISTS team_events_user_time ON team_events (user_name, ts_ms)",
        f"""CREATE TABLE IF NOT EXISTS team_batches (
            batch_id TEXT PRIMARY KEY,
            user_name TEXT NOT NULL,
            machine_id TEXT NOT NULL,
            event_count {d.integer} NOT NULL,
            received_at {d.integer} NOT NULL)""",
        f"""CREATE TABLE IF NOT EXISTS team_tokens (
            token_hash TEXT PRIMARY KEY,
            user_name TEXT NOT NULL,
            created_at {d.integer} NOT NULL,
            revoked_at {d.integer})""",
        "CREATE INDEX IF NOT EXISTS team_tokens_user ON team_tokens (user_name)",
    ]


def insert_batch(d: Dialect) -> str:
    """Claims an Idempotency-Key; affects no row when the batch was stored before."""
    names = ("batch_id", "user_name", "machine_id", "event_count", "received_at")
    return (
        f"INSERT INTO team_batches ({', '.join(names)}) "
        f"VALUES ({', '.join(d.param(n) for n in names)}) ON CONFLICT (batch_id) DO NOTHING"
    )


def upsert_event(d: Dialect) -> str:
    """Stored once per event_id, at its highest revision (a lower or equal one changes nothing)."""
    replaced = ", ".join(f"{c} = excluded.{c}" for c in EVENT_COLUMNS if c != "event_id")
    return (
        f"INSERT INTO team_events ({', '.join(EVENT_COLUMNS)}) "
        f"VALUES ({', '.join(d.param(c) for c in EVENT_COLUMNS)}) "
        f"ON CONFLICT (event_id) DO UPDATE SET {replaced} "
        "WHERE excluded.revision > team_events.revision"
    )


def insert_token(d: Dialect) -> str:
    names = ("token_hash", "user_name", "created_at")
    return f"INSERT INTO team_tokens ({', '.join(names)}) VALUES ({', '.join(map(d.param, names))})"


def revoke_tokens(d: Dialect) -> str:
    return (
        f"UPDATE team_tokens SET revoked_at = {d.param('now')} "
        f"WHERE user_name = {d.param('user')} AND revoked_at IS NULL"
    )


def user_for_token(d: Dialect) -> str:
    return (
        f"SELECT user_name FROM team_tokens WHERE token_hash = {d.param('hash')} "
        "AND revoked_at IS NULL"
    )


LIST_TOKENS = (
    "SELECT user_name, min(created_at) AS created_at, "
    "sum(CASE WHEN revoked_at IS NULL THEN 1 ELSE 0 END) AS active "
    "FROM team_tokens GROUP BY user_name ORDER BY user_name"
)
HAS_TOKENS = "SELECT 1 FROM team_tokens WHERE revoked_at IS NULL LIMIT 1"
