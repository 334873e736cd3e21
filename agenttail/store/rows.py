"""Rows as dicts keyed by column name: no code in the store reads a column by position."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

Params = Sequence[Any] | Mapping[str, Any]


def rows(conn: sqlite3.Connection, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description or ()]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def first_row(conn: sqlite3.Connection, sql: str, params: Params = ()) -> dict[str, Any] | None:
    return next(rows(conn, sql, params), None)
