"""What the daemon is tracking, and how far behind each stream is."""

from __future__ import annotations

from typing import Any

from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.store import Store


def status_data(store: Store | None, clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The ``status --json`` contract: totals first, then one entry per stream."""
    now = now_ms(clock)
    streams: list[dict[str, Any]] = []
    kinds: dict[str, int] = {}
    events_total = 0
    if store is not None:
        for row in store.query(
            "SELECT kind, count(*) AS n FROM events WHERE counted = 1 GROUP BY kind"
        ):
            kinds[row["kind"]] = row["n"]
            events_total += row["n"]
        for row in store.query("SELECT * FROM sessions ORDER BY agent, path, stream"):
            lag_bytes = None
            if row["watermark_kind"] == "byte_offset" and row["file_size"] is not None:
                lag_bytes = max(0, row["file_size"] - row["position"])
            last = row["last_processed_at"]
            streams.append(
                {
                    "agent": row["agent"],
                    "stream": row["stream"],
                    "session_id": row["session_id"],
                    "path": row["path"],
                    "shared": bool(row["shared"]),
                    "position": row["position"],
                    "file_size": row["file_size"],
                    "lag_bytes": lag_bytes,
                    "seconds_since_processed": None if last is None else (now - last) / 1000,
                    "records_total": row["records_total"],
                    "events_total": row["events_total"],
                    "malformed_lines": row["malformed_total"],
                    "invalid_utf8_lines": row["invalid_utf8_total"],
                    "oversized_lines": row["oversized_total"],
                    "resets": row["resets_total"],
                    "error_count": row["error_count"],
                    "errors_total": row["errors_total"],
                    "last_error": row["last_error"],
                    "next_retry_at": row["next_retry_at"],
                }
            )
    return {
        "events_total": events_total,
        "events_by_kind": kinds,
        "streams_total": len(streams),
        "streams_failing": sum(1 for s in streams if s["error_count"]),
        "lag_bytes_total": sum(s["lag_bytes"] or 0 for s in streams),
        "bad_lines_total": sum(
            s["malformed_lines"] + s["invalid_utf8_lines"] + s["oversized_lines"] for s in streams
        ),
        "upload": _upload_section(store),
        "streams": streams,
    }


def _upload_section(store: Store | None) -> dict[str, Any]:
    from agenttail.upload.cli import status_section

    return status_section(store)
