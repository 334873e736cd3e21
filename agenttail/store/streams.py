"""Stream state: what the store knows about each tailed stream (the ``sessions`` table).

A stream's watermark, its agent state and its file identity live here, apart from the events
they produced; ``Store.commit_batch`` writes both in one transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agenttail.agents.base import StreamRef, StreamState
from agenttail.readers.base import ReadResult
from agenttail.store.rows import first_row, rows


@dataclass(frozen=True, slots=True)
class FileStat:
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        st = path.stat()
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """What the store knows about one stream."""

    session_id: str
    stream: str
    path: str
    agent: str
    watermark_kind: str
    watermark: str | None
    state: dict[str, Any]
    file_stat: FileStat | None
    error_count: int
    next_retry_at: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SessionRow:
        stat = None
        if row["file_ino"] is not None:
            stat = FileStat(
                row["file_dev"], row["file_ino"], row["file_size"], row["file_mtime_ns"]
            )
        return cls(
            session_id=row["session_id"],
            stream=row["stream"],
            path=row["path"],
            agent=row["agent"],
            watermark_kind=row["watermark_kind"],
            watermark=row["watermark"],
            state=orjson.loads(row["state"]) if row["state"] else {},
            file_stat=stat,
            error_count=row["error_count"],
            next_retry_at=row["next_retry_at"],
        )


_KEY = "WHERE session_id = :session_id AND stream = :stream AND path = :path"


def _key(ref: StreamRef) -> dict[str, Any]:
    return {"session_id": ref.session_id, "stream": ref.kind, "path": ref.path_text}


def _stat(stat: FileStat | None) -> dict[str, Any]:
    return {
        "file_dev": None if stat is None else stat.dev,
        "file_ino": None if stat is None else stat.ino,
        "file_size": None if stat is None else stat.size,
        "file_mtime_ns": None if stat is None else stat.mtime_ns,
    }


class StreamStates:
    """Reads and writes of the ``sessions`` table on one connection (no transactions here)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def all(self) -> dict[tuple[str, str], SessionRow]:
        """Every tracked stream keyed like the task queue: (path, stream).

        For the sweep: stats and retry state only; watermark and state are left out (read per
        stream by ``get``), so a sweep over thousands of streams parses no JSON.
        """
        found = rows(
            self.conn,
            "SELECT session_id, stream, path, agent, watermark_kind, NULL AS watermark,"
            " NULL AS state, file_dev, file_ino, file_size, file_mtime_ns, error_count,"
            " next_retry_at FROM sessions",
        )
        return {(r["path"], r["stream"]): SessionRow.from_row(r) for r in found}

    def get(self, ref: StreamRef) -> SessionRow | None:
        row = first_row(self.conn, f"SELECT * FROM sessions {_KEY}", _key(ref))
        return None if row is None else SessionRow.from_row(row)

    def ensure(self, ref: StreamRef, now_ms: int) -> None:
        self.conn.execute(
            """INSERT INTO sessions (session_id, stream, path, agent, shared, watermark_kind,
                                     first_seen_at)
               VALUES (:session_id, :stream, :path, :agent, :shared, :watermark_kind, :now)
               ON CONFLICT DO NOTHING""",
            {
                **_key(ref),
                "agent": ref.agent,
                "shared": int(ref.spec.shared),
                "watermark_kind": ref.spec.watermark_kind,
                "now": now_ms,
            },
        )

    def advance(
        self,
        ref: StreamRef,
        result: ReadResult,
        state: StreamState,
        stat: FileStat | None,
        events: int,
        now_ms: int,
        invalid: Sequence[str] = (),
    ) -> None:
        """Move the watermark past a committed batch and count what the batch held (and the
        events skipped as invalid, with the latest reason; the reader's notes are the notice)."""
        self.conn.execute(
            f"""UPDATE sessions SET
                    watermark = :watermark, position = :position, state = :state,
                    file_dev = :file_dev, file_ino = :file_ino, file_size = :file_size,
                    file_mtime_ns = :file_mtime_ns,
                    records_total = records_total + :records,
                    events_total = events_total + :events,
                    malformed_total = malformed_total + :malformed,
                    invalid_utf8_total = invalid_utf8_total + :invalid_utf8,
                    oversized_total = oversized_total + :oversized,
                    resets_total = resets_total + :resets,
                    invalid_total = invalid_total + :invalid,
                    last_invalid = COALESCE(:last_invalid, last_invalid), notice = :notice,
                    error_count = 0, next_retry_at = NULL, last_processed_at = :now
                {_KEY}""",
            {
                **_key(ref),
                **_stat(stat),
                "watermark": result.watermark.to_string(),
                "position": getattr(result.watermark, "offset", 0),
                "state": orjson.dumps(state.data).decode(),
                "records": len(result.records),
                "events": events,
                "malformed": result.malformed,
                "invalid_utf8": result.invalid_utf8,
                "oversized": result.oversized,
                "resets": int(result.reset),
                "invalid": len(invalid),
                "last_invalid": invalid[-1] if invalid else None,
                "notice": "; ".join(result.notes) or None,
                "now": now_ms,
            },
        )

    def mark_unchanged(self, ref: StreamRef, stat: FileStat, now_ms: int) -> None:
        self.conn.execute(
            f"""UPDATE sessions SET file_dev = :file_dev, file_ino = :file_ino,
                    file_size = :file_size, file_mtime_ns = :file_mtime_ns,
                    last_processed_at = :now
                {_KEY}""",
            {**_key(ref), **_stat(stat), "now": now_ms},
        )

    def record_failure(self, ref: StreamRef, error: str, now_ms: int, retry_at_ms: int) -> int:
        """Count a failed attempt; returns the consecutive failure count."""
        self.conn.execute(
            f"""UPDATE sessions SET error_count = error_count + 1,
                    errors_total = errors_total + 1, last_error = :error,
                    last_error_at = :now, next_retry_at = :retry_at
                {_KEY}""",
            {**_key(ref), "error": error[:2000], "now": now_ms, "retry_at": retry_at_ms},
        )
        row = first_row(self.conn, f"SELECT error_count FROM sessions {_KEY}", _key(ref))
        return 0 if row is None else int(row["error_count"])
