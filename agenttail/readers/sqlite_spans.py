"""OTel spans in SQLite (Copilot's ``agent-traces.db``), paged with a keyset cursor.

The cursor is ``(end_time_ms, span_id)``: ``end_time_ms`` is declared INTEGER but holds REAL
values, so it is bound as a float and persisted with ``repr`` (lossless); ``span_id`` breaks
ties between spans that end in the same millisecond. The database is opened ``mode=ro`` with a
busy timeout (a WAL reader never blocks the editor's writer; ``immutable`` would miss its WAL).

A span committed after the cursor passed its end time (the exporter flushes in batches) would be
skipped by a pure keyset, so every read also returns the spans of a small window behind the
cursor it started from (not the one it ends at: a read that reaches spans hours newer would
move such a window past the late spans); event ids are span ids, so a re-read is harmless. A
replaced database (another inode) is read again from the start, as is one that no longer holds
the cursor's span (emptied, restored, rewritten in place). See agent-formats.md section 3.4.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.readers.base import ReadLimits, ReadResult, Record
from agenttail.watermarks import Watermark, WatermarkError, register_watermark_kind

BUSY_TIMEOUT_S = 5.0
MAX_SPAN_BATCH = 1000
DEFAULT_OVERLAP_MS = 60_000.0
NO_SPANS_TABLE = "no spans table: the editor has not exported a span here yet (nothing to count)"

SPAN_COLUMNS = (
    "span_id",
    "trace_id",
    "parent_span_id",
    "name",
    "start_time_ms",
    "end_time_ms",
    "status_code",
    "status_message",
    "operation_name",
    "provider_name",
    "agent_name",
    "conversation_id",
    "request_model",
    "response_model",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "tool_name",
    "tool_call_id",
    "tool_type",
    "chat_session_id",
    "turn_index",
    "ttft_ms",
)

# Only the attributes that carry metrics: span_attributes also holds full prompts and replies.
ATTRIBUTE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.response.id",
    "gen_ai.response.finish_reasons",
    "copilot_chat.session_id",
    "copilot_chat.location",
    "copilot_chat.intent",
    "copilot_chat.api_type",
    "copilot_chat.canceled",
    "copilot_chat.copilot_usage_nano_aiu",
    "error.type",
)

_COLUMNS = ", ".join(SPAN_COLUMNS)
# A row whose cursor columns are not a number and a text cannot be paged, and one that ends
# more than a year from now (an infinite or corrupt end time) would move the cursor past every
# span still to come: both are skipped and counted (``_UNPAGEABLE``), never allowed to fail or
# stall the read of every other span. A future row is read once its time has come.
_PAGEABLE = (
    "typeof(end_time_ms) IN ('integer', 'real') AND typeof(span_id) = 'text'"
    " AND end_time_ms <= :latest"
)
_UNPAGEABLE = f"SELECT count(*) FROM spans WHERE NOT ({_PAGEABLE})"
FUTURE_SLACK_MS = 366 * 86_400_000
_PAGE = f"""
SELECT {_COLUMNS} FROM spans
WHERE {_PAGEABLE} AND (end_time_ms > :t OR (end_time_ms = :t AND span_id > :id))
ORDER BY end_time_ms, span_id
LIMIT :n
"""
# Behind the read's start cursor, within the overlap window; nearest first, so a late span (it
# ends just before the cursor) is kept when the window is fuller than a page.
_OVERLAP = f"""
SELECT {_COLUMNS} FROM spans
WHERE {_PAGEABLE} AND end_time_ms >= :low
  AND (end_time_ms < :t OR (end_time_ms = :t AND span_id <= :id))
ORDER BY end_time_ms DESC, span_id DESC
LIMIT :n
"""


@register_watermark_kind
@dataclass(frozen=True, slots=True)
class SpanKeysetWatermark:
    """``(end_time_ms, span_id)`` of the last span read, and the database file it was read from.

    String form ``v1|<dev>:<ino>|<repr(end_time_ms)>|<span_id>``; span_id comes last so it may
    hold any character.
    """

    KIND: ClassVar[str] = "span_keyset"

    end_time_ms: float
    span_id: str
    dev: int
    ino: int

    def to_string(self) -> str:
        return f"v1|{self.dev}:{self.ino}|{self.end_time_ms!r}|{self.span_id}"

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("|", 3)
        if len(parts) != 4 or parts[0] != "v1":
            raise WatermarkError(f"not a span_keyset watermark: {text!r}")
        try:
            dev_text, ino_text = parts[1].split(":")
            end = float(parts[2])
            dev, ino = int(dev_text), int(ino_text)
        except ValueError as exc:
            raise WatermarkError(f"not a span_keyset watermark: {text!r}") from exc
        if end != end or end < 0:  # NaN or negative
            raise WatermarkError(f"bad end time in span_keyset watermark: {text!r}")
        return cls(end, parts[3], dev, ino)


def connect_readonly(path: Path, timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A read-only connection that waits for, and never blocks, the database's writer."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
    conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
    conn.row_factory = sqlite3.Row
    return conn


class SqliteSpanReader:
    """Pages spans ordered by ``(end_time_ms, span_id)``; each record is one span.

    Record data: the span's columns, ``attributes`` (the metric keys of ``ATTRIBUTE_KEYS``) and
    ``overlap`` (True for spans re-read from the window behind the cursor).
    """

    name = "sqlite_spans"
    watermark_kind: type[Watermark] = SpanKeysetWatermark

    def __init__(
        self,
        overlap_ms: float = DEFAULT_OVERLAP_MS,
        max_batch: int = MAX_SPAN_BATCH,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.overlap_ms = overlap_ms
        self.max_batch = max_batch
        self.clock = clock

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        stat = path.stat()
        limit = max(1, min(self.max_batch, limits.max_batch_records))
        conn = connect_readonly(path)
        try:
            if not _has_spans_table(conn):  # created lazily: no span exported yet
                return ReadResult(
                    [], _initial(stat), at_end=True, size=stat.st_size, notes=[NO_SPANS_TABLE]
                )
            conn.execute("BEGIN")  # one snapshot for spans and their attributes
            reset_reason: str | None = None
            t, span_id = 0.0, ""
            if isinstance(watermark, SpanKeysetWatermark):
                reset_reason = _why_invalid(conn, stat, watermark)
                if reset_reason is None:
                    t, span_id = watermark.end_time_ms, watermark.span_id
            latest = float(now_ms(self.clock) + FUTURE_SLACK_MS)
            rows = _fetch(conn, _PAGE, {"t": t, "id": span_id, "n": limit, "latest": latest})
            at_end = len(rows) < limit
            end_t, end_id = t, span_id
            if rows:
                end_t, end_id = float(rows[-1]["end_time_ms"]), rows[-1]["span_id"]
            overlap: list[dict[str, Any]] = []
            if self.overlap_ms > 0 and (t > 0 or span_id):
                params = {"low": t - self.overlap_ms, "t": t, "id": span_id}
                params |= {"n": self.max_batch, "latest": latest}
                overlap = _fetch(conn, _OVERLAP, params)[::-1]
            spans = overlap + rows
            _attach_attributes(conn, spans)
            unpageable = conn.execute(_UNPAGEABLE, {"latest": latest}).fetchone()[0]
            conn.execute("COMMIT")
        finally:
            conn.close()
        records = [Record(span, index) for index, span in enumerate(spans)]
        for span in overlap:
            span["overlap"] = True
        return ReadResult(
            records=records,
            watermark=SpanKeysetWatermark(end_t, end_id, stat.st_dev, stat.st_ino),
            at_end=at_end,
            reset=reset_reason is not None,
            reset_reason=reset_reason,
            size=stat.st_size,
            notes=[
                f"{unpageable} spans skipped: end time not a number or in the future,"
                " or span id not text"
            ]
            if unpageable
            else [],
        )


def _initial(stat: os.stat_result) -> SpanKeysetWatermark:
    return SpanKeysetWatermark(0.0, "", stat.st_dev, stat.st_ino)


def _has_spans_table(conn: sqlite3.Connection) -> bool:
    query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'spans'"
    return conn.execute(query).fetchone() is not None


def _why_invalid(
    conn: sqlite3.Connection, stat: os.stat_result, mark: SpanKeysetWatermark
) -> str | None:
    """Why the cursor no longer describes this database, or None.

    The span at the cursor is the newest one read; retention deletes it only after 7 days or
    100 newer sessions, so its absence means the database was replaced, emptied or restored
    (also when the file kept its inode). Reading such a database again from the start costs a
    bounded re-read; span ids make it harmless.
    """
    if (stat.st_dev, stat.st_ino) != (mark.dev, mark.ino):
        return "replaced"
    if not mark.span_id:
        return None
    found = conn.execute("SELECT 1 FROM spans WHERE span_id = ?", [mark.span_id]).fetchone()
    if found is not None:
        return None
    if conn.execute("SELECT 1 FROM spans LIMIT 1").fetchone() is None:
        return "emptied"
    return "rewritten"


def _fetch(conn: sqlite3.Connection, sql: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(row) for row in conn.execute(sql, params)]


def _attach_attributes(conn: sqlite3.Connection, spans: Sequence[dict[str, Any]]) -> None:
    by_id: dict[str, dict[str, Any]] = {}
    for span in spans:
        span["attributes"] = {}
        by_id[span["span_id"]] = span
    ids = list(by_id)
    keys = ", ".join("?" for _ in ATTRIBUTE_KEYS)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        for row in conn.execute(
            f"SELECT span_id, key, value FROM span_attributes "
            f"WHERE span_id IN ({marks}) AND key IN ({keys})",
            [*chunk, *ATTRIBUTE_KEYS],
        ):
            by_id[row["span_id"]]["attributes"][row["key"]] = row["value"]
