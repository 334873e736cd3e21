"""The team store on PostgreSQL (psycopg 3 with its connection pool)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from agenttail.store.team import TeamStoreError
from agenttail.store.team import sql as q
from agenttail.store.team.engine import Cursor, SqlTeamStore

POOL_MAX = 8


class PostgresTeamStore(SqlTeamStore):
    dialect = q.POSTGRES

    def __init__(self, url: str, max_size: int = POOL_MAX) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError as exc:
            raise TeamStoreError(
                "PostgreSQL support is not installed: pip install 'agenttail[server]'"
            ) from exc
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self._pool: Any = ConnectionPool(
                url, min_size=1, max_size=max_size, open=True, timeout=30.0
            )
            self._pool.wait(timeout=30.0)
        except Exception as exc:
            raise TeamStoreError(f"cannot connect to PostgreSQL: {exc}") from exc
        self._create_schema()

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def close(self) -> None:
        self._pool.close()
