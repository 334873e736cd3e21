"""Write the fixtures of the agents no usage CLI reads well, in their real on-disk formats.

Each agent gets ``fixtures/<name>/root/`` (the content of its first root) and
``fixtures/<name>/expected.json``: the totals ``agenttail report`` must show for it, computed here
from the request lists below (never by agenttail's own code). Prompt, response, thinking and
tool text carry ``CANARY-...`` strings that must never leave the machine.

    usage: python scripts/gen_agents_more_fixtures.py [FIXTURES_DIR]

Formats: agent-formats.md 8, 9, 13, 14; agent-formats-more.md 2.9-2.18 (see each writer).
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import sys
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DAY0 = int(datetime(2026, 3, 10, 9, 0, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000
MIN_MS = 60_000


@dataclass(frozen=True)
class Call:
    """One request as the house counts it (input excludes the cache)."""

    ts: int
    input: int
    output: int
    cache_read: int = 0
    cache_write: int = 0

    @property
    def day(self) -> str:
        return datetime.fromtimestamp(self.ts / 1000, UTC).date().isoformat()


def expected(
    calls: Iterable[Call], sessions: list[str], tokens: str, **extra: Any
) -> dict[str, Any]:
    days: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for call in calls:
        day = days[call.day]
        day["input_tokens"] += call.input
        day["output_tokens"] += call.output
        day["cache_read_tokens"] += call.cache_read
        day["cache_write_tokens"] += call.cache_write
        day["requests"] += 1
    totals: dict[str, int] = defaultdict(int)
    for values in days.values():
        for key, value in values.items():
            totals[key] += value
    return {
        "tokens": tokens,
        "sessions": sorted(sessions),
        "days": {day: dict(values) for day, values in sorted(days.items())},
        "totals": dict(totals),
        **extra,
    }


def write_json(path: Path, value: Any, indent: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=indent) + "\n")


def write_jsonl(path: Path, lines: Iterable[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


# -- Cline / Roo Code / Kilo Code: globalStorage/<ext>/tasks/<taskId>/ui_messages.json -----------


def cline_family(out: Path, name: str, protocol: str | None) -> None:
    """Two tasks; requests in place-updated rows, a cancelled one, a started-only one, tools."""
    root = out / name / "root"
    calls: list[Call] = []
    sessions: list[str] = []
    tools = 0
    for task_index, day in enumerate((0, 1)):
        start = DAY0 + day * DAY_MS + task_index * 7 * MIN_MS
        task_id = str(start)
        sessions.append(task_id)
        model = "claude-sonnet-4-5-20250929" if protocol != "openai" else "gpt-4.1"
        model_info = {
            "providerId": "anthropic" if protocol != "openai" else "openai",
            "modelId": model,
            "mode": "act",
        }
        rows: list[dict[str, Any]] = [
            {
                "ts": start,
                "type": "say",
                "say": "text",
                "text": f"CANARY-PROMPT-{name}-{task_index}",
            },
        ]
        plan = [(1200, 300, 8000, 900), (40, 520, 9100, 310), (15, 75, 9400, 0)]
        for step, (fresh, out_tokens, read, write) in enumerate(plan):
            ts = start + (step + 1) * MIN_MS
            call = Call(ts, fresh, out_tokens, read, write)
            calls.append(call)
            tokens_in = fresh + read + write if protocol == "openai" else fresh
            info: dict[str, Any] = {
                "request": f"CANARY-REQUEST-{name}-{task_index}-{step}",
                "tokensIn": tokens_in,
                "tokensOut": out_tokens,
                "cacheWrites": write,
                "cacheReads": read,
                "cost": round(0.003 * fresh / 1000 + 0.015 * out_tokens / 1000, 8),
            }
            if protocol:
                info["apiProtocol"] = protocol
            if step == 2:
                info["cancelReason"] = "user_cancelled"
            rows.append(
                {
                    "ts": ts,
                    "type": "say",
                    "say": "api_req_started",
                    "text": json.dumps(info),
                    "modelInfo": model_info,
                    "conversationHistoryIndex": step,
                }
            )
            rows.append(
                {
                    "ts": ts + 500,
                    "type": "say",
                    "say": "reasoning",
                    "text": f"CANARY-THINKING-{name}",
                    "partial": False,
                }
            )
            rows.append(
                {
                    "ts": ts + 900,
                    "type": "say",
                    "say": "tool",
                    "partial": False,
                    "text": json.dumps(
                        {"tool": "readFile", "path": "src/app.py", "content": f"CANARY-TOOL-{name}"}
                    ),
                }
            )
            tools += 1
        # A request that started and never finished (VS Code closed): no numbers, no event.
        rows.append(
            {
                "ts": start + 5 * MIN_MS,
                "type": "say",
                "say": "api_req_started",
                "text": json.dumps({"request": "CANARY-REQUEST-unfinished"}),
            }
        )
        rows.append(
            {
                "ts": start + 5 * MIN_MS + 10,
                "type": "ask",
                "ask": "tool",
                "partial": True,
                "text": '{"tool":"editedExistingFile","path":"CANARY',
            }
        )
        task = root / "tasks" / task_id
        write_json(task / "ui_messages.json", rows)
        write_json(
            task / "api_conversation_history.json",
            [{"role": "user", "content": [{"type": "text", "text": "CANARY-HISTORY"}]}],
        )
        write_json(
            task / "task_metadata.json",
            {
                "files_in_context": [],
                "model_usage": [
                    {
                        "ts": start,
                        "model_id": model,
                        "model_provider_id": model_info["providerId"],
                        "mode": "act",
                    }
                ],
                "environment_history": [],
            },
        )
    # The extension's task index names the folder each task started in.
    project = f"/home/dev/{name}-app"
    history = [
        {"id": task_id, "ts": int(task_id), "task": f"CANARY-TASK-{name}", "tokensIn": 0,
         "tokensOut": 0, "totalCost": 0, "cwdOnTaskInitialization": project}
        for task_id in sessions
    ]  # fmt: skip
    write_json(root / "state" / "taskHistory.json", history)
    want = expected(calls, sessions, "measured", tools=tools, project=project)
    write_json(out / name / "expected.json", want, indent=2)


# -- Zed: threads/threads.db, zstd JSON rows ----------------------------------------------------

ZED_SCHEMA = """
CREATE TABLE threads (id TEXT PRIMARY KEY, summary TEXT NOT NULL, updated_at TEXT NOT NULL,
 data_type TEXT NOT NULL, data BLOB NOT NULL, parent_id TEXT, folder_paths TEXT,
 folder_paths_order TEXT, created_at TEXT);
"""


def zed(out: Path) -> None:
    import zstandard

    root = out / "zed" / "root"
    db_path = root / "threads" / "threads.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(ZED_SCHEMA)
    calls: list[Call] = []
    sessions: list[str] = []
    tools = 0
    threads = [
        (
            "zed-thread-0001",
            None,
            DAY0 + 2 * 3600_000,
            [(900, 120, 300, 4000), (60, 340, 0, 5200)],
            (2100, 700, 600, 15000),
        ),
        (
            "zed-thread-0002",
            "zed-thread-0001",
            DAY0 + DAY_MS + 3600_000,
            [(400, 80, 0, 0)],
            (400, 80, 0, 0),
        ),
    ]
    for thread_id, parent, ts, turns, cumulative in threads:
        sessions.append(thread_id)
        usage_map = {}
        messages: list[Any] = []
        for index, (i, o, w, r) in enumerate(turns):
            user_id = f"{thread_id}-u{index}"
            usage_map[user_id] = {
                k: v
                for k, v in (
                    ("input_tokens", i),
                    ("output_tokens", o),
                    ("cache_creation_input_tokens", w),
                    ("cache_read_input_tokens", r),
                )
                if v
            }
            messages.append({"User": {"id": user_id, "content": [{"Text": "CANARY-PROMPT-zed"}]}})
            messages.append(
                {
                    "Agent": {
                        "content": [
                            {"Text": "CANARY-RESPONSE-zed"},
                            {"Thinking": {"text": "CANARY-THINKING-zed", "signature": None}},
                            {
                                "ToolUse": {
                                    "id": f"{user_id}-tool",
                                    "name": "read_file",
                                    "raw_input": "{}",
                                    "input": {"path": "CANARY-TOOL"},
                                    "is_input_complete": True,
                                }
                            },
                        ],
                        "tool_results": {
                            f"{user_id}-tool": {
                                "tool_use_id": f"{user_id}-tool",
                                "tool_name": "read_file",
                                "is_error": False,
                                "content": {"Text": "CANARY-TOOL-OUTPUT"},
                                "output": None,
                            }
                        },
                    }
                }
            )
            tools += 1
        i, o, w, r = cumulative
        # One request per user message, plus one for what the per-message map misses.
        for ti, to, tw, tr in turns:
            calls.append(Call(ts, ti, to, tr, tw))
        rest = (
            i - sum(t[0] for t in turns),
            o - sum(t[1] for t in turns),
            w - sum(t[2] for t in turns),
            r - sum(t[3] for t in turns),
        )
        if any(rest):
            calls.append(Call(ts, rest[0], rest[1], rest[3], rest[2]))
        updated = datetime.fromtimestamp(ts / 1000, UTC).isoformat()
        thread = {
            "title": "CANARY-TITLE-zed",
            "messages": messages,
            "updated_at": updated,
            "detailed_summary": None,
            "initial_project_snapshot": None,
            "cumulative_token_usage": {
                "input_tokens": i,
                "output_tokens": o,
                "cache_creation_input_tokens": w,
                "cache_read_input_tokens": r,
            },
            "request_token_usage": usage_map,
            "model": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
            "profile": "write",
            "imported": False,
            "version": "0.3.0",
        }
        blob = zstandard.ZstdCompressor(level=3).compress(json.dumps(thread).encode())
        db.execute(
            "INSERT INTO threads (id, parent_id, folder_paths, folder_paths_order, summary,"
            " updated_at, data_type, data, created_at) VALUES (?,?,?,?,?,?,?,?,?)",
            (
                thread_id,
                parent,
                "/home/dev/zed-project",
                "0",
                "CANARY-TITLE-zed",
                updated,
                "zstd",
                blob,
                updated,
            ),
        )
    db.commit()
    db.close()
    write_json(
        out / "zed" / "expected.json", expected(calls, sessions, "measured", tools=tools), indent=2
    )


# -- Junie: sessions/<id>/events.jsonl, replayed on resume --------------------------------------


def junie(out: Path) -> None:
    root = out / "junie" / "root"
    session = "session-260310-091500-abcd"
    start = DAY0 + 15 * MIN_MS
    calls: list[Call] = []
    lines: list[dict[str, Any]] = [
        {"kind": "TaskStartedEvent", "taskId": "task-1", "timestampMs": start},
        {
            "kind": "SessionA2uxEvent",
            "timestampMs": start + 100,
            "event": {
                "agentEvent": {
                    "kind": "CurrentDirectoryUpdatedEvent",
                    "currentDirectory": "/home/dev/junie-app",
                }
            },
        },
        {"kind": "UserPromptEvent", "prompt": "CANARY-PROMPT-junie", "timestampMs": start + 200},
    ]
    plan = [(2126, 147, 0, 0), (300, 410, 6000, 1200), (120, 95, 7100, 0)]
    for step, (i, o, r, w) in enumerate(plan):
        ts = start + (step + 1) * MIN_MS
        calls.append(Call(ts, i, o, r, w))
        lines.append(
            {
                "kind": "SessionA2uxEvent",
                "timestampMs": ts,
                "event": {
                    "state": "IN_PROGRESS",
                    "agentEvent": {
                        "kind": "LlmResponseMetadataEvent",
                        "agent": {"kind": "MainAgent", "id": "main", "name": "main"},
                        "modelUsage": [
                            {
                                "model": "claude-sonnet-4-5-20250929",
                                "cost": 0.01,
                                "inputTokens": i,
                                "cacheInputTokens": r,
                                "cacheCreateTokens": w,
                                "outputTokens": o,
                                "time": 1800,
                            }
                        ],
                    },
                },
            }
        )
        lines.append(
            {
                "kind": "SessionA2uxEvent",
                "timestampMs": ts + 50,
                "event": {
                    "agentEvent": {"kind": "ToolBlockUpdatedEvent", "text": "CANARY-TOOL-junie"}
                },
            }
        )
    # Resume: Junie replays the session's earlier events byte for byte, then goes on.
    replay = [dict(line) for line in lines[3:5]]
    lines.extend(replay)
    write_jsonl(root / "sessions" / session / "events.jsonl", lines)
    write_json(out / "junie" / "expected.json", expected(calls, [session], "measured"), indent=2)


# -- Crush: projects.json -> <project>/.crush/crush.db -----------------------------------------

CRUSH_SCHEMA = """
CREATE TABLE sessions (id TEXT PRIMARY KEY, parent_session_id TEXT, title TEXT NOT NULL,
 message_count INTEGER NOT NULL DEFAULT 0, prompt_tokens INTEGER NOT NULL DEFAULT 0,
 completion_tokens INTEGER NOT NULL DEFAULT 0, cost REAL NOT NULL DEFAULT 0.0,
 updated_at INTEGER NOT NULL, created_at INTEGER NOT NULL, summary_message_id TEXT);
CREATE TABLE messages (id TEXT PRIMARY KEY, session_id TEXT NOT NULL, role TEXT NOT NULL,
 parts TEXT NOT NULL DEFAULT '[]', model TEXT, created_at INTEGER NOT NULL,
 updated_at INTEGER NOT NULL, finished_at INTEGER, provider TEXT);
"""


def crush(out: Path) -> None:
    root = out / "crush" / "root"
    project = "projects/web-app"
    write_json(
        root / "projects.json",
        {
            "projects": [
                {"path": project, "data_dir": ".crush", "last_accessed": "2026-03-11T10:00:00Z"}
            ]
        },
        indent=2,
    )
    db_path = root / project / ".crush" / "crush.db"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(CRUSH_SCHEMA)
    rows = [  # id, parent, cost, last prompt, last completion, updated (s)
        ("crush-sess-1", None, 0.4375, 48000, 900, DAY0 // 1000 + 3600),
        ("crush-sess-2", None, 0.125, 12000, 300, (DAY0 + DAY_MS) // 1000 + 600),
        ("crush-sub-1", "crush-sess-1", 0.05, 3000, 100, DAY0 // 1000 + 1800),
    ]
    for sid, parent, cost, prompt, completion, updated in rows:
        db.execute(
            "INSERT INTO sessions VALUES (?,?,?,?,?,?,?,?,?,NULL)",
            (
                sid,
                parent,
                "CANARY-TITLE-crush",
                4,
                prompt,
                completion,
                cost,
                updated,
                updated - 300,
            ),
        )
        db.execute(
            "INSERT INTO messages VALUES (?,?,?,?,?,?,?,?,?)",
            (
                f"{sid}-m1",
                sid,
                "user",
                json.dumps([{"type": "text", "data": {"text": "CANARY-PROMPT-crush"}}]),
                None,
                updated - 200,
                updated - 200,
                None,
                None,
            ),
        )
    db.commit()
    db.close()
    roots = [r for r in rows if r[1] is None]
    days: dict[str, float] = defaultdict(float)
    for r in roots:
        days[datetime.fromtimestamp(r[5], UTC).date().isoformat()] += r[2]
    write_json(
        out / "crush" / "expected.json",
        {
            "tokens": "absent",
            "sessions": sorted(r[0] for r in roots),
            "requests": len(roots),
            "cost_usd": sum(r[2] for r in roots),
            "cost_by_day": dict(sorted(days.items())),
        },
        indent=2,
    )


# -- Continue: sessions/<id>.json (measured) and dev_data/devdata.sqlite (estimates) ----------


def continue_dev(out: Path) -> None:
    root = out / "continue" / "root"
    session = "4f1e2d3c-continue-0001"
    usage = {
        "totalCost": 0.002423,
        "promptTokens": 1813,
        "completionTokens": 305,
        "promptTokensDetails": {"cachedTokens": 4366, "cacheWriteTokens": 2183},
    }
    write_json(
        root / "sessions" / f"{session}.json",
        {
            "sessionId": session,
            "title": "CANARY-TITLE-continue",
            "workspaceDirectory": "/home/dev/continue-app",
            "history": [
                {
                    "message": {"role": "user", "content": "CANARY-PROMPT-continue"},
                    "contextItems": [],
                    "editorState": "CANARY-EDITOR",
                },
                {
                    "message": {
                        "role": "assistant",
                        "content": "CANARY-RESPONSE-continue",
                        "toolCalls": [
                            {
                                "id": "call_01",
                                "type": "function",
                                "function": {
                                    "name": "read_file",
                                    "arguments": '{"path": "CANARY"}',
                                },
                            }
                        ],
                    },
                    "contextItems": [],
                },
            ],
            "usage": usage,
        },
        indent=2,
    )
    db_path = root / "dev_data" / "devdata.sqlite"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.execute(
        "CREATE TABLE tokens_generated (id INTEGER PRIMARY KEY AUTOINCREMENT,"
        " model TEXT NOT NULL, provider TEXT NOT NULL, tokens_generated INTEGER NOT NULL,"
        " tokens_prompt INTEGER NOT NULL DEFAULT 0,"
        " timestamp DATETIME DEFAULT CURRENT_TIMESTAMP)"
    )
    estimates = [
        ("gpt-4o", "openai", 50, 1200, "2026-03-10 09:15:00"),
        ("gpt-4o", "openai", 80, 2400, "2026-03-11 14:00:00"),
    ]
    db.executemany(
        "INSERT INTO tokens_generated (model, provider, tokens_generated,"
        " tokens_prompt, timestamp) VALUES (?,?,?,?,?)",
        estimates,
    )
    db.commit()
    db.close()
    details = usage["promptTokensDetails"]
    assert isinstance(details, dict)
    write_json(
        out / "continue" / "expected.json",
        {
            "tokens": "measured",
            "sessions": sorted([session, "devdata"]),  # IDE estimates: no session
            "measured": {
                "input_tokens": usage["promptTokens"],
                "output_tokens": usage["completionTokens"],
                "cache_read_tokens": details["cachedTokens"],
                "cache_write_tokens": details["cacheWriteTokens"],
                "requests": 1,
            },
            "estimated": {
                "input_tokens": sum(e[3] for e in estimates),
                "output_tokens": sum(e[2] for e in estimates),
                "requests": len(estimates),
            },
            "tools": 1,
        },
        indent=2,
    )


# -- Mistral Vibe: logs/session/<prefix>_<ts>_<id>/meta.json + messages.jsonl --------------------


def mistral_vibe(out: Path) -> None:
    root = out / "mistral_vibe" / "root"
    session_id = "7c0ffee1-2222-4333-8444-555566667777"
    folder = root / f"session_20260310_101500_{session_id[:8]}"
    stats = {
        "steps": 4,
        "session_prompt_tokens": 18_500,
        "session_completion_tokens": 2_100,
        "tool_calls_agreed": 2,
        "tool_calls_rejected": 0,
        "tool_calls_failed": 0,
        "tool_calls_succeeded": 2,
        "context_tokens": 9_800,
        "last_turn_prompt_tokens": 9800,
        "last_turn_completion_tokens": 700,
        "last_turn_duration": 3.1,
        "tokens_per_second": 220.0,
        "input_price_per_million": 0.4,
        "output_price_per_million": 2.0,
        "session_total_llm_tokens": 20_600,
        "last_turn_total_tokens": 10_500,
        "session_cost": 0.0116,
    }
    write_json(
        folder / "meta.json",
        {
            "session_id": session_id,
            "parent_session_id": None,
            "start_time": "2026-03-10T10:15:00+00:00",
            "end_time": "2026-03-10T10:31:00+00:00",
            "git_commit": None,
            "git_branch": "main",
            "environment": {"working_directory": "/home/dev/vibe-app"},
            "username": "dev",
            "title": "CANARY-TITLE-vibe",
            "title_source": "auto",
            "stats": stats,
            "total_messages": 4,
            "config": {
                "active_model": "devstral-medium",
                "models": [
                    {
                        "name": "mistral-medium-latest",
                        "provider": "mistral",
                        "alias": "devstral-medium",
                        "input_price": 0.4,
                        "output_price": 2.0,
                    }
                ],
            },
            "system_prompt": {"role": "system", "content": "CANARY-SYSTEM"},
        },
        indent=2,
    )
    write_jsonl(
        folder / "messages.jsonl",
        [
            {"role": "user", "content": "CANARY-PROMPT-vibe", "message_id": "m1"},
            {
                "role": "assistant",
                "content": "CANARY-RESPONSE-vibe",
                "message_id": "m2",
                "tool_calls": [
                    {
                        "id": "tc1",
                        "index": 0,
                        "type": "function",
                        "function": {"name": "bash", "arguments": '{"command": "CANARY"}'},
                    },
                    {
                        "id": "tc2",
                        "index": 1,
                        "type": "function",
                        "function": {"name": "read_file", "arguments": "{}"},
                    },
                ],
            },
            {"role": "tool", "content": "CANARY-TOOL-vibe", "tool_call_id": "tc1", "name": "bash"},
            {
                "role": "tool",
                "content": "CANARY-TOOL-vibe",
                "tool_call_id": "tc2",
                "name": "read_file",
            },
        ],
    )
    end = int(datetime(2026, 3, 10, 10, 31, tzinfo=UTC).timestamp() * 1000)
    write_json(
        out / "mistral_vibe" / "expected.json",
        expected(
            [Call(end, stats["session_prompt_tokens"], stats["session_completion_tokens"])],
            [folder.name],  # sessions are named by their folder
            "measured",
            tools=2,
        ),
        indent=2,
    )


# -- Cursor CLI and Windsurf: transcripts without usage ----------------------------------------


def cursor_cli(out: Path) -> None:
    root = out / "cursor_cli" / "root"
    session = "9d8c7b6a-5f4e-4d3c-8b2a-cursor000001"
    write_jsonl(
        root / "projects" / "home-dev-cursor-app" / "agent-transcripts" / f"{session}.jsonl",
        [
            {
                "role": "user",
                "message": {
                    "content": [
                        {
                            "type": "text",
                            "text": "<user_query>\nCANARY-PROMPT-cursor\n</user_query>",
                        }
                    ]
                },
            },
            {
                "role": "assistant",
                "message": {
                    "content": [
                        {"type": "text", "text": "CANARY-RESPONSE-cursor\n\n[REDACTED]"},
                        {
                            "type": "tool_use",
                            "name": "Read",
                            "input": {"path": "/home/dev/CANARY-TOOL"},
                        },
                        {
                            "type": "tool_use",
                            "name": "Write",
                            "input": {"path": "x", "contents": "CANARY"},
                        },
                    ]
                },
            },
            {"role": "user", "message": {"content": [{"type": "text", "text": "CANARY-PROMPT-2"}]}},
        ],
    )
    write_json(
        out / "cursor_cli" / "expected.json",
        {"tokens": "absent", "sessions": [session], "turns": 2, "tools": 2},
        indent=2,
    )


def windsurf(out: Path) -> None:
    root = out / "windsurf" / "root"
    trajectory = "windsurf-trajectory-0001"
    write_jsonl(
        root / "transcripts" / f"{trajectory}.jsonl",
        [
            {
                "status": "done",
                "type": "user_input",
                "user_input": {"user_response": "CANARY-PROMPT"},
            },
            {
                "planner_response": {"response": "CANARY-RESPONSE"},
                "status": "done",
                "type": "planner_response",
            },
            {
                "status": "done",
                "type": "view_file",
                "view_file": {
                    "content": "CANARY-TOOL",
                    "path": "file:///home/dev/a.md",
                    "start_line": 0,
                    "end_line": 1,
                },
            },
            {"status": "done", "type": "run_command", "run_command": {"command": "CANARY-CMD"}},
            {"status": "done", "type": "code_action", "code_action": {"new_content": "CANARY"}},
        ],
    )
    write_json(
        out / "windsurf" / "expected.json",
        {"tokens": "absent", "sessions": [trajectory], "turns": 1, "tools": 3},
        indent=2,
    )


# -- Cursor IDE: User/globalStorage/state.vscdb, cursorDiskKV bubbles ---------------------------

VSCDB_SCHEMA = """
CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
CREATE TABLE cursorDiskKV (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);
"""


def cursor(out: Path) -> None:
    root = out / "cursor" / "root"
    db_path = root / "globalStorage" / "state.vscdb"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(VSCDB_SCHEMA)
    composer = "c0ffee00-1111-4222-8333-444455556666"
    start = DAY0 + 3 * 3600_000

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")

    bubbles = [  # (bubble id, type, offset s, request id, tokens (in, out), tool)
        ("b1", 1, 0, None, (0, 0), None),
        ("b2", 2, 5, "req-1", (0, 0), None),
        ("b3", 2, 9, "req-1", (0, 0), ("read_file", "completed")),
        ("b4", 1, 60, None, (0, 0), None),
        ("b5", 2, 70, "req-2", (5200, 310), None),  # an older build that kept its counts
    ]
    for bubble, kind, offset, request, (tin, tout), tool in bubbles:
        value: dict[str, Any] = {
            "_v": 3,
            "type": kind,
            "bubbleId": bubble,
            "text": f"CANARY-{'PROMPT' if kind == 1 else 'RESPONSE'}-cursor",
            "createdAt": iso(start + offset * 1000),
            "tokenCount": {"inputTokens": tin, "outputTokens": tout},
        }
        if request:
            value["requestId"] = request
        if tool:
            value["toolFormerData"] = {
                "name": tool[0],
                "rawArgs": '{"path": "CANARY-TOOL-ARGS"}',
                "result": "CANARY-TOOL-OUTPUT",
                "status": tool[1],
            }
        db.execute(
            "INSERT INTO cursorDiskKV VALUES (?, ?)",
            (f"bubbleId:{composer}:{bubble}", json.dumps(value).encode()),
        )
    db.execute(
        "INSERT INTO cursorDiskKV VALUES (?, ?)",
        (
            f"composerData:{composer}",
            json.dumps(
                {
                    "_v": 10,
                    "composerId": composer,
                    "name": "CANARY-TITLE-cursor",
                    "createdAt": start,
                    "modelConfig": {"modelName": "claude-4.5-sonnet"},
                }
            ),
        ),
    )
    db.execute("INSERT INTO ItemTable VALUES ('cursorAuth/cachedEmail', 'CANARY-EMAIL')")
    db.commit()
    db.close()
    write_json(
        out / "cursor" / "expected.json",
        {
            "tokens": "absent",
            "sessions": [composer],
            "turns": sum(1 for b in bubbles if b[1] == 1),
            "tools": sum(1 for b in bubbles if b[5]),
            "requests": len({b[3] for b in bubbles if b[3]}),
            "known_input_tokens": sum(b[4][0] for b in bubbles),
        },
        indent=2,
    )


# -- Warp: warp.sqlite, ai_queries exchanges (schema from warpdotdev/warp schema.rs) ------------


def warp(out: Path) -> None:
    root = out / "warp" / "root"
    db_path = root / "warp.sqlite"
    db_path.parent.mkdir(parents=True, exist_ok=True)
    db_path.unlink(missing_ok=True)
    db = sqlite3.connect(db_path)
    db.executescript(
        "CREATE TABLE agent_conversations (id INTEGER PRIMARY KEY NOT NULL,"
        " conversation_id TEXT NOT NULL, conversation_data TEXT NOT NULL,"
        " last_modified_at TIMESTAMP NOT NULL, summary TEXT);"
        "CREATE TABLE ai_queries (id INTEGER PRIMARY KEY NOT NULL, exchange_id TEXT NOT NULL,"
        " conversation_id TEXT NOT NULL, start_ts TIMESTAMP NOT NULL, input TEXT NOT NULL,"
        " working_directory TEXT, output_status TEXT NOT NULL, model_id TEXT NOT NULL,"
        " planning_model_id TEXT NOT NULL DEFAULT '', coding_model_id TEXT NOT NULL DEFAULT '');"
    )
    exchanges = [  # conversation, exchange, start, status
        ("warp-conv-1", "ex-1", "2026-03-10 09:30:00.250", '"Completed"'),
        ("warp-conv-1", "ex-2", "2026-03-10 09:31:10.000", '"Failed"'),
        ("warp-conv-2", "ex-3", "2026-03-11 15:00:00.000", '"Completed"'),
    ]
    for conversation, exchange, start, status in exchanges:
        db.execute(
            "INSERT INTO ai_queries (exchange_id, conversation_id, start_ts, input,"
            " working_directory, output_status, model_id) VALUES (?,?,?,?,?,?,?)",
            (exchange, conversation, start,
             json.dumps([{"Query": {"text": "CANARY-PROMPT-warp"}}]),
             "/home/dev/warp-app", status, "claude-4-sonnet"),
        )  # fmt: skip
    db.execute(
        "INSERT INTO agent_conversations (conversation_id, conversation_data, last_modified_at)"
        " VALUES (?, ?, ?)",
        ("warp-conv-1", json.dumps({"summary": "CANARY-SUMMARY-warp"}), "2026-03-10 09:32:00"),
    )
    db.commit()
    db.close()
    write_json(
        out / "warp" / "expected.json",
        {
            "tokens": "absent",
            "sessions": sorted({e[0] for e in exchanges}),
            "turns": 0,
            "tools": 0,
            "requests": len(exchanges),
            "failed": sum(1 for e in exchanges if "Failed" in e[3]),
        },
        indent=2,
    )


WRITERS = {
    "cline": lambda out: cline_family(out, "cline", None),
    "roo_code": lambda out: cline_family(out, "roo_code", "openai"),
    "kilo_code": lambda out: cline_family(out, "kilo_code", "anthropic"),
    "zed": zed,
    "junie": junie,
    "crush": crush,
    "continue": continue_dev,
    "mistral_vibe": mistral_vibe,
    "cursor_cli": cursor_cli,
    "windsurf": windsurf,
    "cursor": cursor,
    "warp": warp,
}


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parents[1] / "fixtures"
    for name, writer in WRITERS.items():
        shutil.rmtree(out / name / "root", ignore_errors=True)
        writer(out)


if __name__ == "__main__":
    main()
