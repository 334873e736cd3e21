"""Copilot CLI's ``session-store.db`` (``assistant_usage_events``, the runtime's schema): each
request once, whatever other copies of its session exist; rows added later are read; a store
of a build without the table is a note, not a failure."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from agenttail.agents.copilot_cli import CopilotCliAgent
from agenttail.store import Store
from scripts.gen_copilot_home import SESSION_STORE_SCHEMA
from tests.test_copilot_cli_otel import T2, counted, process, write

USAGE_COLUMNS = (
    "session_id, turn_index, agent_id, model, input_tokens, output_tokens, cache_read_tokens,"
    " cache_write_tokens, reasoning_tokens, created_at"
)


def store_db(path: Path, *rows: tuple[Any, ...], sessions: tuple[str, ...] = ()) -> None:
    """``session-store.db`` with usage ``rows`` (``USAGE_COLUMNS``), created if missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with sqlite3.connect(path) as db:
        if new:
            db.executescript(SESSION_STORE_SCHEMA)
        db.executemany(
            "INSERT OR IGNORE INTO sessions (id, cwd) VALUES (?, ?)",
            [(s, f"/work/{s}") for s in sessions],
        )
        marks = ", ".join("?" for _ in USAGE_COLUMNS.split(","))
        db.executemany(
            f"INSERT INTO assistant_usage_events ({USAGE_COLUMNS}) VALUES ({marks})", rows
        )
    db.close()


def event_line(kind: str, ident: str, ts: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"type": kind, "data": data, "id": ident, "timestamp": ts, "parentId": None}


def test_a_session_counts_once_from_the_store_and_other_sessions_keep_their_source(
    tmp_path: Path,
) -> None:
    home = tmp_path / ".copilot"
    # sess-a: two assistant.usage lines and a shutdown total in events.jsonl, the same two
    # requests in the store. sess-b: an OTel inference log (T2) and one store row.
    # sess-c: only events.jsonl.
    write(
        home / "session-state" / "sess-a" / "events.jsonl",
        event_line("user.message", "a0", "2026-03-01T10:00:00Z", {"content": "x"}),
        event_line("assistant.usage", "a1", "2026-03-01T10:00:05Z",
                   {"model": "gpt-5", "inputTokens": 1000, "outputTokens": 40,
                    "cacheReadTokens": 700}),
        event_line("assistant.usage", "a2", "2026-03-01T10:01:05Z",
                   {"model": "gpt-5", "inputTokens": 1500, "outputTokens": 60,
                    "cacheReadTokens": 1000, "cacheWriteTokens": 100}),
        event_line("session.shutdown", "a3", "2026-03-01T10:02:00Z",
                   {"modelMetrics": {"gpt-5": {"usage": {"inputTokens": 2500,
                    "outputTokens": 100}, "requests": {"count": 2}}}}),
    )  # fmt: skip
    write(
        home / "session-state" / "sess-c" / "events.jsonl",
        event_line("assistant.usage", "c1", "2026-03-01T11:00:00Z",
                   {"model": "gpt-5", "inputTokens": 300, "outputTokens": 30}),
    )  # fmt: skip
    write(home / "otel" / "cli.jsonl", *T2)
    store_db(
        home / "session-store.db",
        ("sess-a", 0, None, "gpt-5", 1000, 40, 700, 0, 0, "2026-03-01T10:00:05.000Z"),
        ("sess-a", 0, None, "gpt-5", 1500, 60, 1000, 100, 0, "2026-03-01T10:01:05.000Z"),
        ("sess-b", 0, None, "gpt-5", 220, 12, 50, 0, 0, "2026-03-01 12:01:00"),
        sessions=("sess-a", "sess-b"),
    )
    agent = CopilotCliAgent(roots=[home], exporter=None)
    store = Store(tmp_path / "at.db")
    process(agent, store)
    rows = counted(store)
    # (session, input - cache read - cache write, output, read, write, reasoning, model, rank)
    assert sorted(rows) == sorted(
        [
            ("sess-a", 1000 - 700, 40, 700, 0, 0, "gpt-5", 4),
            ("sess-a", 1500 - 1000 - 100, 60, 1000, 100, 0, "gpt-5", 4),
            ("sess-b", 220 - 50, 12, 50, 0, 0, "gpt-5", 4),
            ("sess-c", 300, 30, 0, 0, 0, "gpt-5", 0),
        ]
    )
    projects = store.db.execute(
        "SELECT DISTINCT session_id, project FROM events WHERE counted = 1"
        " AND kind = 'llm_request' AND precedence = 4 ORDER BY session_id"
    ).fetchall()
    assert projects == [("sess-a", "/work/sess-a"), ("sess-b", "/work/sess-b")]
    process(agent, store)  # a re-scan of unchanged files changes nothing
    assert sorted(counted(store)) == sorted(rows)


def test_rows_added_later_are_read_with_their_turns(tmp_path: Path) -> None:
    home = tmp_path / ".copilot"
    db = home / "session-store.db"
    row = ("sess-d", 0, None, "claude-sonnet-4.5", 900, 80, 600, 200, 0, "2026-03-02T09:00:00Z")
    store_db(db, row, sessions=("sess-d",))
    agent = CopilotCliAgent(roots=[home], exporter=None)
    store = Store(tmp_path / "at.db")
    process(agent, store)
    assert [r[:3] for r in counted(store)] == [("sess-d", 100, 80)]
    store_db(
        db,
        ("sess-d", 0, "task-1", "claude-sonnet-4.5", 500, 20, 400, 0, 0, "2026-03-02T09:00:30Z"),
        ("sess-d", 1, None, "gpt-5", 2000, 300, 1500, 0, 120, "2026-03-02T09:05:00Z"),
    )
    process(agent, store)
    assert [r[:6] for r in counted(store)] == [
        ("sess-d", 100, 80, 600, 200, 0),
        ("sess-d", 100, 20, 400, 0, 0),
        ("sess-d", 500, 300, 1500, 0, 120),
    ]
    runs = [
        r[0]
        for r in store.db.execute(
            "SELECT run_id FROM events WHERE counted = 1 ORDER BY ts_ms"
        ).fetchall()
    ]
    assert runs[0] == runs[1] != runs[2] and None not in runs  # turn 0, turn 0, turn 1


def test_a_build_without_the_usage_table_is_a_note(tmp_path: Path) -> None:
    home = tmp_path / ".copilot"
    home.mkdir()
    with sqlite3.connect(home / "session-store.db") as db:
        db.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT)")
    db.close()
    agent = CopilotCliAgent(roots=[home], exporter=None)
    store = Store(tmp_path / "at.db")
    process(agent, store)
    (notice, errors) = store.db.execute(
        "SELECT notice, errors_total FROM sessions WHERE stream = 'session_store'"
    ).fetchone()
    assert errors == 0 and "assistant_usage_events" in notice
    assert counted(store) == []
