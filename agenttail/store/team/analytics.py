"""``Analytics`` on the team store: every report, for every developer, on SQLite or PostgreSQL.

The questions are the local store's (``store/analytics.py``), asked of the team store's rollups
(``store/team/rollups.py``: the same tables, plus user and machine keys). Reports open the
database read-only and never create anything: a database without the team tables is refused
with a clear message, as are a bad URL, an unreachable server and a missing server extra.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from agenttail.analytics import Dimension
from agenttail.store.analytics import RollupAnalytics
from agenttail.store.team import TeamStoreError
from agenttail.store.team.rollups import EVENTS

CONNECT_TIMEOUT_S = 10
# A table the rollups added: a team store the server has opened since they exist.
_REQUIRED_TABLES = (EVENTS, "usage_rollup", "session_rollup")

Reader = Callable[[str, Sequence[Any]], Iterator[dict[str, Any]]]


def _number(value: Any) -> Any:
    """PostgreSQL's sums are numeric: whole ones become ints, the rest floats."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class TeamAnalytics(RollupAnalytics):
    """The ``Analytics`` protocol on a team database (``open_team_analytics``)."""

    events_table = EVENTS

    def __init__(self, reader: Reader, close: Callable[[], None], text_agg: str) -> None:
        self._reader = reader
        self._close = close
        self.text_agg = text_agg

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        return self._reader(sql, params)

    def identity(self, dimension: Dimension) -> str:
        return "user_name" if dimension is Dimension.USER else "machine_id"

    def _unrecorded_agents(self) -> list[str]:
        """Agents active in the team store none of whose requests carried tokens: the wire
        carries each request's ``tokens_known``, not the agent's declaration."""
        return [
            row["agent"]
            for row in self._rows(
                "SELECT agent FROM (SELECT agent, sum(requests - unknown_token_requests) AS known"
                " FROM usage_rollup_span GROUP BY agent UNION ALL"
                " SELECT agent, 0 AS known FROM tool_rollup_span GROUP BY agent) AS activity"
                " GROUP BY agent HAVING sum(known) = 0"
            )
        ]

    def close(self) -> None:
        self._close()

    def __enter__(self) -> TeamAnalytics:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def open_team_analytics(url: str) -> TeamAnalytics:
    """Reports' read-only view of ``sqlite:///PATH`` or ``postgresql://…`` (the server's URLs)."""
    if url.startswith("sqlite:///"):
        return _sqlite(Path("/" + url[len("sqlite:///") :].lstrip("/")), url)
    if url.startswith(("postgresql://", "postgres://")):
        return _postgres(url)
    raise TeamStoreError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB",
        "the same URL as `agenttail server --database`",
    )


def _not_a_team_store(url: str, missing: str) -> TeamStoreError:
    return TeamStoreError(
        f"{url} is not an agenttail team store (it has no {missing} table)",
        "point --database at the database `agenttail server --database` writes "
        "(a store from before team analytics gets its rollups when the server next starts)",
    )


def _sqlite(path: Path, url: str) -> TeamAnalytics:
    if not path.is_file():
        raise TeamStoreError(f"no team database at {path}", "check the path in --database")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    try:
        names = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise TeamStoreError(f"cannot read {path} as a team database: {exc}") from None
    for table in _REQUIRED_TABLES:
        if table not in names:
            conn.close()
            raise _not_a_team_store(url, table)

    def read(sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
        cursor = conn.execute(sql, params)
        names = [column[0] for column in cursor.description]
        return (dict(zip(names, row, strict=True)) for row in cursor.fetchall())

    return TeamAnalytics(read, conn.close, "group_concat({}, char(31))")


def _postgres(url: str) -> TeamAnalytics:
    try:
        import psycopg
    except ImportError:
        raise TeamStoreError(
            "PostgreSQL support is not installed", "pip install 'agenttail[server]'"
        ) from None
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
    except psycopg.Error as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise TeamStoreError(
            f"cannot connect to the team database: {reason}",
            "check the server is running and the URL (user, host, port, database)",
        ) from None
    for table in _REQUIRED_TABLES:
        found = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [table]).fetchone()
        if not found or not found[0]:
            conn.close()
            raise _not_a_team_store(_safe(url), table)

    def read(sql: str, params: Sequence[Any]) -> Iterator[dict[str, Any]]:
        cursor = conn.execute(sql.replace("?", "%s"), list(params))
        names = [column.name for column in cursor.description or ()]
        return (
            {name: _number(value) for name, value in zip(names, row, strict=True)}
            for row in cursor.fetchall()
        )

    return TeamAnalytics(read, conn.close, "string_agg({}, chr(31))")


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    scheme, sep, rest = url.partition("://")
    if "@" in rest:
        credentials, _, host = rest.rpartition("@")
        rest = credentials.split(":", 1)[0] + "@" + host
    return f"{scheme}{sep}{rest}"
