"""What the daemon is tracking, and how far behind each stream is."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.events import iso_from_ms
from agenttail.paths import AppPaths
from agenttail.store import Store


def status_data(store: Store | None, clock: Clock = SYSTEM_CLOCK) -> dict[str, Any]:
    """The ``status --json`` contract: totals first, a summary per agent, one entry per stream.

    ``last_error`` keeps a stream's most recent error; ``current_error`` is set only while the
    stream is still failing (an error that has recovered is history, not a current problem).
    """
    now = now_ms(clock)
    streams: list[dict[str, Any]] = []
    kinds: dict[str, int] = {}
    activity: dict[str, tuple[int, int | None]] = {}
    if store is not None:
        kinds = store.counted_events_by_kind()
        activity = store.agent_activity()
        for row in store.stream_rows():
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
                    "invalid_records": row["invalid_total"],
                    "last_invalid": row["last_invalid"],
                    "notice": row["notice"],
                    "error_count": row["error_count"],
                    "errors_total": row["errors_total"],
                    "last_error": row["last_error"],
                    "current_error": row["last_error"] if row["error_count"] else None,
                    "next_retry_at": row["next_retry_at"],
                }
            )
    return {
        "events_total": sum(kinds.values()),
        "events_by_kind": kinds,
        "streams_total": len(streams),
        "streams_failing": sum(1 for s in streams if s["error_count"]),
        "lag_bytes_total": sum(s["lag_bytes"] or 0 for s in streams),
        "bad_lines_total": sum(
            s["malformed_lines"] + s["invalid_utf8_lines"] + s["oversized_lines"] for s in streams
        ),
        "invalid_records_total": sum(s["invalid_records"] for s in streams),
        "gaps": gaps(store, streams),
        "upload": _upload_section(store),
        "agents": _agents_summary(streams, activity),
        "streams": streams,
    }


def gaps(store: Store | None, streams: list[dict[str, Any]]) -> dict[str, Any]:
    """What is not counted, or counted without tokens, and why (``status`` and ``doctor``).

    ``unknown_token_requests``: requests whose source recorded no tokens, per agent (and per
    stream); ``invalid_records``: events skipped as out of range, with the latest reason;
    ``notices``: a stream's current condition (a trace database without its spans table);
    ``unreadable_folders``: folders the last sweep could not list.
    """
    unknown: dict[str, dict[str, int]] = {}
    folders: list[dict[str, str]] = []
    if store is not None:
        unknown = store.unknown_token_requests()
        folders = [asdict(problem) for problem in store.discovery_problems()]
    return {
        "unknown_token_requests": {agent: sum(n.values()) for agent, n in unknown.items()},
        "unknown_token_requests_by_stream": unknown,
        "invalid_records": [
            {"path": s["path"], "count": s["invalid_records"], "last_reason": s["last_invalid"]}
            for s in streams
            if s["invalid_records"]
        ],
        "notices": [{"path": s["path"], "notice": s["notice"]} for s in streams if s["notice"]],
        "unreadable_folders": folders,
    }


def gap_lines(gaps: dict[str, Any]) -> list[str]:
    """One line per gap, for the terminal."""
    lines = [
        f"{agent}: {count} requests without recorded tokens (counted as requests, 0 tokens)"
        for agent, count in gaps["unknown_token_requests"].items()
    ]
    lines += [
        f"skipped {item['count']} invalid records in {item['path']} (latest: {item['last_reason']})"
        for item in gaps["invalid_records"]
    ]
    lines += [f"{item['path']}: {item['notice']}" for item in gaps["notices"]]
    lines += [
        f"cannot read folder {item['path']} ({item['error']}): its sessions are not counted"
        for item in gaps["unreadable_folders"]
    ]
    return lines


def _empty_agent(name: str) -> dict[str, Any]:
    return {
        "agent": name,
        "streams": 0,
        "sessions": set(),
        "lag_bytes": 0,
        "streams_failing": 0,
        "bad_lines": 0,
    }


def _agents_summary(
    streams: list[dict[str, Any]], activity: dict[str, tuple[int, int | None]]
) -> list[dict[str, Any]]:
    """One line per agent: what a person with thousands of sessions wants to see first."""
    agents: dict[str, dict[str, Any]] = {}
    for stream in streams:
        entry = agents.setdefault(stream["agent"], _empty_agent(stream["agent"]))
        entry["streams"] += 1
        entry["sessions"].add(stream["session_id"])
        entry["lag_bytes"] += stream["lag_bytes"] or 0
        entry["streams_failing"] += bool(stream["current_error"])
        entry["bad_lines"] += (
            stream["malformed_lines"] + stream["invalid_utf8_lines"] + stream["oversized_lines"]
        )
    summary = []
    for name in sorted(set(agents) | set(activity)):
        entry = agents.get(name) or _empty_agent(name)
        events, last_ms = activity.get(name, (0, None))
        summary.append(
            {
                **entry,
                "sessions": len(entry["sessions"]),
                "events": events,
                "last_event_at": None if last_ms is None else iso_from_ms(last_ms),
            }
        )
    return summary


def _upload_section(store: Store | None) -> dict[str, Any]:
    from agenttail.upload.status import status_section

    return status_section(store)


NO_SPACE_BYTES = 64 * 1024
CONDITION_TEXT = {
    "disk_full": "the disk is full: new usage is not stored until there is space again "
    "(the daemon retries by itself and then catches up, nothing is lost)",
}


def daemon_section(paths: AppPaths) -> dict[str, Any]:
    """Whether a daemon runs, and the conditions it reports (a full disk) in its runtime state."""
    from agenttail.daemon.lifecycle import lock_holder, read_runtime_state, runtime_state_file

    pid = lock_holder(paths.lock_file)
    runtime = read_runtime_state(runtime_state_file(paths)) if pid else None
    conditions = []
    for item in (runtime or {}).get("conditions") or []:
        if isinstance(item, dict):
            name = str(item.get("condition"))
            conditions.append({**item, "message": CONDITION_TEXT.get(name, name)})
    if not any(c["condition"] == "disk_full" for c in conditions) and _no_space(paths.data_dir):
        # Seen by `status` itself: on a full disk the daemon may not manage to say it.
        conditions.append({"condition": "disk_full", "message": CONDITION_TEXT["disk_full"]})
    first_load = (runtime or {}).get("first_load")
    return {
        "running": pid is not None,
        "pid": pid if pid and pid > 0 else None,
        "conditions": conditions,
        # While the daemon's first sweep loads a new store: reports show nothing until it ends.
        "first_load": first_load if isinstance(first_load, dict) else None,
    }


def first_load_line(progress: dict[str, Any]) -> str:
    """What a person reading ``status`` during the daemon's first load should know."""
    return (
        f"the daemon is loading the agents' history ({progress.get('streams_done', 0):,} of"
        f" {progress.get('streams', 0):,} streams read): reports show it all when the load ends"
    )


def _no_space(folder: Path) -> bool:
    try:
        fs = os.statvfs(folder)
    except OSError:
        return False
    return fs.f_bavail * fs.f_frsize < NO_SPACE_BYTES
