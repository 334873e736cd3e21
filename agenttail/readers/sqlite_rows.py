"""Rows of an agent's SQLite database, paged with a keyset cursor (OpenCode, Kilo CLI, ...).

A ``RowQuery`` names a table, the columns to read (SQL expressions, so a JSON column can be cut
down to its metric fields inside SQLite and content never reaches Python), optional joins, and
two ordering columns: a monotonic one (``time_updated``) and a unique tie-breaker (``id``).
A row updated in place gets a later ``time_updated`` and is read again; consumers key events by
the row's own id, so a re-read is an upsert.

The database is opened ``mode=ro`` with a busy timeout (a WAL reader never blocks the agent's
writer). A row committed after the cursor passed its key (a transaction that stamped its time
before another committed) would be skipped by a pure keyset, so every read also returns the
rows of a window behind the cursor it started from (``overlap``). A replaced database (another
inode, or a table whose newest key is behind the cursor) is read from the start. The
generalisation of ``sqlite_spans.py`` for any table.

A bad row never fails the page: text that is not UTF-8 is decoded with replacement characters,
and a row whose ordering columns are NULL or of another type than ``RowQuery.key_types`` cannot
be paged, so it is left out and counted (a note in the read result).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.readers.base import ReadLimits, ReadResult, Record
from agenttail.watermarks import Watermark, WatermarkError, register_watermark_kind

MAX_ROW_BATCH = 1000
BUSY_TIMEOUT_S = 5.0
# What an ordering column may hold, as SQLite ``typeof`` names.
KEY_TYPES = {
    "number": ("integer", "real"),
    "integer": ("integer",),
    "text": ("text",),
    "scalar": ("integer", "real", "text"),
}
Row = dict[str, Any]


@dataclass(frozen=True)
class RowQuery:
    """What to read: ``SELECT <columns> FROM <table> AS t <joins>`` ordered by ``t.<order>``.

    ``overlap`` is how far behind the cursor a read starts from (in units of the first ordering
    column) it looks again for late commits; 0 turns it off. ``key_types`` says what each
    ordering column must hold (``KEY_TYPES``); other rows are skipped and counted. Declare
    "number" for a numeric time: a stray text value would otherwise sort after every number
    (SQLite's order) and carry the cursor past the rows written after it.

    A changed database is read again from the start: by default when its newest key is behind
    the cursor (rows updated in place get newer keys); with ``cursor_check`` when the row at the
    cursor is gone (for tables whose rows never change: emptied, or restored and rewritten).
    ``noun`` names the rows in notes; ``missing_note`` is the note for a missing table.
    ``future_slack`` (ms, for a first ordering column in epoch ms): a row further ahead of now
    (an infinite or corrupt time) would carry the cursor past every row to come, so it is
    skipped and counted until its time has come.
    """

    table: str
    columns: tuple[str, ...]
    order: tuple[str, str] = ("time_updated", "id")
    joins: str = ""
    where: str = ""
    overlap: float = 60_000
    key_types: tuple[str, str] = ("scalar", "scalar")
    noun: str = "rows"
    missing_note: str = ""
    cursor_check: bool = False
    future_slack: float | None = None

    def pageable(self) -> str:
        """The rows a keyset can page: ordering columns of the declared types (and, with a
        ``future_slack``, a first column no later than ``:latest``)."""
        typed = " AND ".join(
            f"typeof(t.{column}) IN ({', '.join(repr(t) for t in KEY_TYPES[kind])})"
            for column, kind in zip(self.order, self.key_types, strict=True)
        )
        return typed if self.future_slack is None else f"{typed} AND t.{self.order[0]} <= :latest"

    def unpageable_sql(self) -> str:
        """Rows the query wants (``where``) that a keyset cannot page."""
        wanted = f"({self.where}) AND " if self.where else ""
        return f"SELECT count(*) FROM {self.table} AS t WHERE {wanted}NOT ({self.pageable()})"

    def at_key_sql(self) -> str:
        first, second = self.order
        return f"SELECT 1 FROM {self.table} AS t WHERE t.{first} = :k1 AND t.{second} = :k2"

    def newest_sql(self) -> str:
        return f"SELECT max(t.{self.order[0]}) FROM {self.table} AS t WHERE {self.pageable()}"

    def _select(self) -> str:
        first, second = self.order
        extra = f" AND ({self.where})" if self.where else ""
        extra += f" AND {self.pageable()}"
        return (
            f"SELECT {', '.join(self.columns)}, t.{first} AS _k1, t.{second} AS _k2 "
            f"FROM {self.table} AS t {self.joins} WHERE {{cond}}{extra} "
        )

    def page_sql(self) -> str:
        first, second = self.order
        cond = f"(t.{first} > :k1 OR (t.{first} = :k1 AND t.{second} > :k2))"
        return self._select().format(cond=cond) + f"ORDER BY t.{first}, t.{second} LIMIT :n"

    def overlap_sql(self) -> str:
        first, second = self.order
        cond = f"t.{first} >= :low AND (t.{first} < :k1 OR (t.{first} = :k1 AND t.{second} <= :k2))"
        order = f"ORDER BY t.{first} DESC, t.{second} DESC LIMIT :n"
        return self._select().format(cond=cond) + order


@register_watermark_kind
@dataclass(frozen=True, slots=True)
class RowKeysetWatermark:
    """The ordering key of the last row read and the database file it was read from.

    String form ``v1|<dev>:<ino>|<JSON [k1, k2]>`` (keys may be numbers or text).
    """

    KIND: ClassVar[str] = "row_keyset"

    key: tuple[Any, Any]
    dev: int
    ino: int

    def to_string(self) -> str:
        return f"v1|{self.dev}:{self.ino}|{json.dumps(list(self.key))}"

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("|", 2)
        if len(parts) != 3 or parts[0] != "v1":
            raise WatermarkError(f"not a row_keyset watermark: {text!r}")
        try:
            dev_text, ino_text = parts[1].split(":")
            key = json.loads(parts[2])
            dev, ino = int(dev_text), int(ino_text)
        except ValueError as exc:
            raise WatermarkError(f"not a row_keyset watermark: {text!r}") from exc
        if not isinstance(key, list) or len(key) != 2:
            raise WatermarkError(f"bad key in row_keyset watermark: {text!r}")
        return cls((key[0], key[1]), dev, ino)

    @classmethod
    def at(cls, key: tuple[Any, Any], dev: int, ino: int) -> Self:
        return cls(key, dev, ino)


START_KEY: tuple[Any, Any] = (-(2**62), "")  # before every row: numbers sort before text


def connect_readonly(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A read-only connection that waits for, and never blocks, the database's writer."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.row_factory = sqlite3.Row
    return conn


class SqliteRowReader:
    """Pages the rows of one ``RowQuery``; each record is one row as a dict of its columns.

    Rows re-read from the overlap window carry ``overlap: True``. ``enrich(conn, rows)`` adds
    related data to a page's rows inside the same snapshot (a span's attributes).
    """

    name = "sqlite_rows"
    watermark_kind: type[Watermark] = RowKeysetWatermark
    keyset_mark: type[RowKeysetWatermark] = RowKeysetWatermark
    """The watermark class, also ``watermark_kind`` (a subclass may keep an older stored form)."""

    def __init__(
        self,
        query: RowQuery,
        max_batch: int = MAX_ROW_BATCH,
        enrich: Callable[[sqlite3.Connection, list[Row]], None] | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        for kind in query.key_types:
            if kind not in KEY_TYPES:
                raise ValueError(f"key type {kind!r} is not one of {sorted(KEY_TYPES)}")
        self.query = query
        self.max_batch = max_batch
        self.enrich = enrich
        self.clock = clock
        self._page, self._overlap = query.page_sql(), query.overlap_sql()

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        stat = path.stat()
        limit = max(1, min(self.max_batch, limits.max_batch_records))
        mark_type = self.keyset_mark
        reset_reason: str | None = None
        key = START_KEY
        if isinstance(watermark, mark_type):
            if (watermark.dev, watermark.ino) == (stat.st_dev, stat.st_ino):
                key = watermark.key
            else:
                reset_reason = "replaced"
        conn = connect_readonly(path)
        conn.text_factory = lenient_text
        try:
            if not has_table(conn, self.query.table):  # created lazily by the agent
                notes = [self.query.missing_note] if self.query.missing_note else []
                mark = mark_type.at(START_KEY, stat.st_dev, stat.st_ino)
                return ReadResult([], mark, at_end=True, size=stat.st_size, notes=notes)
            conn.execute("BEGIN")  # one snapshot for the page and its overlap
            slack = self.query.future_slack
            bound = {} if slack is None else {"latest": float(now_ms(self.clock) + slack)}
            changed = self._why_changed(conn, key, bound) if key != START_KEY else None
            if changed is not None:
                key, reset_reason = START_KEY, changed
            rows = _fetch(conn, self._page, {"k1": key[0], "k2": key[1], "n": limit, **bound})
            at_end = len(rows) < limit
            end = (rows[-1]["_k1"], rows[-1]["_k2"]) if rows else key
            behind: list[dict[str, Any]] = []
            numeric = isinstance(key[0], int | float)
            if self.query.overlap > 0 and key != START_KEY and numeric:
                low = key[0] - self.query.overlap
                params = {"low": low, "k1": key[0], "k2": key[1], "n": self.max_batch, **bound}
                behind = _fetch(conn, self._overlap, params)[::-1]
            for row in behind:
                row["overlap"] = True
            page = [_public(row) for row in behind + rows]
            if self.enrich is not None:
                self.enrich(conn, page)
            unpageable = (
                conn.execute(self.query.unpageable_sql(), bound).fetchone()[0] if at_end else 0
            )
            conn.execute("COMMIT")
        finally:
            conn.close()
        records = [Record(row, index) for index, row in enumerate(page)]
        noun = self.query.noun
        notes = [f"{unpageable} {noun} skipped: ordering columns NULL or mistyped"] * (
            unpageable > 0
        )
        return ReadResult(
            records=records,
            watermark=mark_type.at(end, stat.st_dev, stat.st_ino),
            at_end=at_end,
            reset=reset_reason is not None,
            reset_reason=reset_reason,
            size=stat.st_size,
            notes=notes,
        )

    def _why_changed(
        self, conn: sqlite3.Connection, key: tuple[Any, Any], bound: dict[str, float]
    ) -> str | None:
        """Why the cursor no longer describes this database (read it from the start), or None."""
        if not self.query.cursor_check:
            newest = _in_sqlite_order(_newest(conn, self.query, bound))
            return "rewound" if newest < _in_sqlite_order(key[0]) else None
        if conn.execute(self.query.at_key_sql(), {"k1": key[0], "k2": key[1]}).fetchone():
            return None
        any_row = f"SELECT 1 FROM {self.query.table} LIMIT 1"
        return "rewritten" if conn.execute(any_row).fetchone() else "emptied"


def has_table(conn: sqlite3.Connection, table: str) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
    return conn.execute(query, [table]).fetchone() is not None


def _newest(conn: sqlite3.Connection, query: RowQuery, bound: dict[str, float]) -> Any:
    """The table's newest ordering key (-inf when empty): behind the cursor, the file changed."""
    newest = conn.execute(query.newest_sql(), bound).fetchone()[0]
    return float("-inf") if newest is None else newest


def _in_sqlite_order(value: Any) -> tuple[int, Any]:
    """A sort key that orders mixed values as SQLite does: numbers before text."""
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def lenient_text(raw: bytes) -> str:
    """Text that is not UTF-8 still reads (with replacement characters): one bad row must not
    fail the fetch of its whole page."""
    return raw.decode("utf-8", "replace")


def _fetch(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, params)]


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k not in ("_k1", "_k2")}
