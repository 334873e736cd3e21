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

It is a configuration of the shared keyset reader (``sqlite_rows.py``): the span table, its
ordering columns, a cursor-row check, and the metric attributes added to each page. Its
watermark keeps the string form it has always been stored in.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

from agenttail.clock import SYSTEM_CLOCK, Clock
from agenttail.readers.sqlite_rows import (
    START_KEY,
    RowKeysetWatermark,
    RowQuery,
    SqliteRowReader,
    connect_readonly,
)
from agenttail.watermarks import Watermark, WatermarkError, register_watermark_kind

__all__ = ["SpanKeysetWatermark", "SqliteSpanReader", "connect_readonly"]

MAX_SPAN_BATCH = 1000
DEFAULT_OVERLAP_MS = 60_000.0
FUTURE_SLACK_MS = 366 * 86_400_000
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


SPANS = RowQuery(
    table="spans",
    columns=tuple(f"t.{column} AS {column}" for column in SPAN_COLUMNS),
    order=("end_time_ms", "span_id"),
    overlap=DEFAULT_OVERLAP_MS,
    key_types=("number", "text"),
    noun="spans",
    missing_note=NO_SPANS_TABLE,
    # The span at the cursor is the newest one read; retention deletes it only after 7 days or
    # 100 newer sessions, so its absence means the database was emptied or restored.
    cursor_check=True,
    # A span ending more than a year ahead (an infinite or corrupt end time) would move the
    # cursor past every span to come: it is skipped and counted until its time has come.
    future_slack=FUTURE_SLACK_MS,
)


@register_watermark_kind
@dataclass(frozen=True, slots=True)
class SpanKeysetWatermark(RowKeysetWatermark):
    """``(end_time_ms, span_id)`` of the last span read, and the database file it was read from.

    String form ``v1|<dev>:<ino>|<repr(end_time_ms)>|<span_id>``; span_id comes last so it may
    hold any character.
    """

    KIND: ClassVar[str] = "span_keyset"

    @property
    def end_time_ms(self) -> float:
        return 0.0 if self.key == START_KEY else float(self.key[0])

    @property
    def span_id(self) -> str:
        return "" if self.key == START_KEY else str(self.key[1])

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
        return cls((end, parts[3]) if parts[3] else START_KEY, dev, ino)


class SqliteSpanReader(SqliteRowReader):
    """Pages spans ordered by ``(end_time_ms, span_id)``; each record is one span.

    Record data: the span's columns, ``attributes`` (the metric keys of ``ATTRIBUTE_KEYS``) and
    ``overlap`` (True for spans re-read from the window behind the cursor).
    """

    name = "sqlite_spans"
    watermark_kind: type[Watermark] = SpanKeysetWatermark
    keyset_mark = SpanKeysetWatermark

    def __init__(
        self,
        overlap_ms: float = DEFAULT_OVERLAP_MS,
        max_batch: int = MAX_SPAN_BATCH,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        query = replace(SPANS, overlap=overlap_ms)
        super().__init__(query, max_batch, _attach_attributes, clock)
        self.overlap_ms = overlap_ms


def _attach_attributes(conn: sqlite3.Connection, spans: Sequence[dict[str, Any]]) -> None:
    """Each span's metric attributes (``span_attributes`` also holds prompts and replies)."""
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
