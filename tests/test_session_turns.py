"""A session's turns, as ``report session`` and ``report session ID`` give them, for agents
whose run ids come from their own notion of a turn (Cline's task and ``user_feedback`` rows,
Zed's user messages, Copilot's requests). Each test writes its own session in the agent's real
format and computes the expected turns, and the requests and tools of each, from what it wrote.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from agenttail.agents.registry import agent_classes
from tests.helpers import agenttail_cli

DAY_MS = 1_773_100_800_000  # 2026-03-10T00:00:00Z


def _home(name: str, tmp_path: Path) -> tuple[dict[str, str], Path]:
    """An environment with an empty HOME and state folder, and the agent's first root in it."""
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    env.update(HOME=str(tmp_path / "home"), AGENTTAIL_HOME=str(tmp_path / "state"))
    (cls,) = [c for c in agent_classes() if c.name == name]
    return env, cls().resolve_roots(env, sys.platform)[0]


def _reports(env: dict[str, str], session_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the session's row of ``report session``, the runs of ``report session ID``)."""
    agenttail_cli(env, "scan")
    listing = json.loads(agenttail_cli(env, "report", "session", "--json", "--timezone", "UTC"))
    (row,) = [s for s in listing["sessions"] if s["session_id"] == session_id]
    detail = json.loads(
        agenttail_cli(env, "report", "session", session_id, "--json", "--timezone", "UTC")
    )
    assert detail["session"]["turns"] == row["turns"]
    return row, detail["runs"]


def _shape(runs: list[dict[str, Any]]) -> list[tuple[int, int]]:
    """(requests, tools) of each run, in the order the runs started."""
    return [(len(run["requests"]), len(run["tools"])) for run in runs]


# -- Cline: a task's ui_messages.json ---------------------------------------------------------


def _cline_request(ts: int, tokens_in: int) -> dict[str, Any]:
    info = {"tokensIn": tokens_in, "tokensOut": 50, "cacheWrites": 0, "cacheReads": 0}
    return {
        "ts": ts,
        "type": "say",
        "say": "api_req_started",
        "text": json.dumps(info),
        "modelInfo": {"providerId": "anthropic", "modelId": "claude-sonnet-4-5-20250929"},
    }


def _cline_tool(ts: int) -> dict[str, Any]:
    text = json.dumps({"tool": "readFile", "path": "src/app.py"})
    return {"ts": ts, "type": "say", "say": "tool", "partial": False, "text": text}


def test_cline_turns_are_the_task_and_each_user_feedback(tmp_path: Path) -> None:
    env, root = _home("cline", tmp_path)
    task_id = str(DAY_MS)
    # What the user and the agent did, turn by turn: each "R" a request, each "T" a tool use.
    plan = ["RTRT", "RR", "RTTR"]
    rows: list[dict[str, Any]] = []
    ts = DAY_MS
    for turn, steps in enumerate(plan):
        say = "text" if turn == 0 else "user_feedback"  # the task itself, then replies
        rows.append({"ts": ts, "type": "say", "say": say, "text": f"prompt {turn}"})
        for step in steps:
            ts += 1000
            rows.append(_cline_request(ts, 100 + ts % 997) if step == "R" else _cline_tool(ts))
        ts += 60_000
        if turn < len(plan) - 1:  # the agent asks; the user's answer is the next turn
            rows.append({"ts": ts, "type": "ask", "ask": "followup", "text": "?"})
            ts += 1000
    task = root / "tasks" / task_id
    task.mkdir(parents=True)
    (task / "ui_messages.json").write_text(json.dumps(rows))

    row, runs = _reports(env, task_id)

    assert row["turns"] == len(plan)
    assert _shape(runs) == [(steps.count("R"), steps.count("T")) for steps in plan]


# -- Zed: a thread row of threads.db ----------------------------------------------------------

ZED_SCHEMA = """
CREATE TABLE threads (id TEXT PRIMARY KEY, summary TEXT NOT NULL, updated_at TEXT NOT NULL,
 data_type TEXT NOT NULL, data BLOB NOT NULL, parent_id TEXT, folder_paths TEXT,
 folder_paths_order TEXT, created_at TEXT);
"""


def _zed_agent_message(tool_ids: list[str]) -> dict[str, Any]:
    uses = [
        {"ToolUse": {"id": t, "name": "grep", "raw_input": "{}", "input": {}}} for t in tool_ids
    ]
    results = {t: {"tool_use_id": t, "tool_name": "grep", "is_error": False} for t in tool_ids}
    return {"Agent": {"content": [{"Text": "done"}, *uses], "tool_results": results}}


def test_zed_turns_are_its_user_messages(tmp_path: Path) -> None:
    import zstandard

    env, root = _home("zed", tmp_path)
    thread_id = "thread-turns"
    tools_per_turn = [2, 0, 1, 3]
    messages: list[dict[str, Any]] = []
    usage: dict[str, dict[str, int]] = {}
    for turn, tools in enumerate(tools_per_turn):
        user = f"user-{turn}"
        messages.append({"User": {"id": user, "content": [{"Text": "question"}]}})
        messages.append(_zed_agent_message([f"{user}-tool-{n}" for n in range(tools)]))
        usage[user] = {"input_tokens": 100 * (turn + 1), "output_tokens": 10}
    total = {
        "input_tokens": sum(u["input_tokens"] for u in usage.values()),
        "output_tokens": sum(u["output_tokens"] for u in usage.values()),
    }
    thread = {
        "version": "0.3.0",
        "title": "t",
        "messages": messages,
        "updated_at": "2026-03-10T09:00:00Z",
        "model": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
        "cumulative_token_usage": total,
        "request_token_usage": usage,
    }
    database = root / "threads" / "threads.db"
    database.parent.mkdir(parents=True)
    with sqlite3.connect(database) as conn:
        conn.executescript(ZED_SCHEMA)
        conn.execute(
            "INSERT INTO threads (id, summary, updated_at, data_type, data) VALUES (?,?,?,?,?)",
            (
                thread_id,
                "t",
                "2026-03-10T09:00:00+00:00",
                "zstd",
                zstandard.ZstdCompressor().compress(json.dumps(thread).encode()),
            ),
        )
    conn.close()

    row, runs = _reports(env, thread_id)

    assert row["turns"] == len(tools_per_turn)
    assert row["tool_calls"] == sum(tools_per_turn)
    # Zed keeps no times inside a thread: every event carries the row's, so compare as sets.
    assert sorted(_shape(runs)) == sorted((1, tools) for tools in tools_per_turn)


# -- Copilot (VS Code): a chat session file and the same session's transcript ------------------


def test_copilot_counts_each_request_once_from_its_chat_file_and_transcript(
    tmp_path: Path,
) -> None:
    """The chat file holds the requests (tokens), the transcript the tool calls: the n-th
    request and the n-th ``user.message`` are one turn, not two."""
    env, root = _home("copilot", tmp_path)
    session = "5fcddc54-3ba1-4fc4-88ac-86bd2ce74c19"
    tools_per_request = [1, 0, 3]
    requests = [
        {
            "requestId": f"request_{n}",
            "timestamp": DAY_MS + n * 60_000,
            "modelId": "copilot/gpt-4.1",
            "result": {"metadata": {"promptTokens": 1000 + n, "outputTokens": 40}},
        }
        for n in range(len(tools_per_request))
    ]
    workspace = root / "workspaceStorage" / "abc123"
    (workspace / "chatSessions").mkdir(parents=True)
    document = {"version": 3, "sessionId": session, "creationDate": DAY_MS, "requests": requests}
    (workspace / "chatSessions" / f"{session}.json").write_text(json.dumps(document))
    lines: list[dict[str, Any]] = [{"type": "session.start", "data": {"sessionId": session}}]
    for n, tools in enumerate(tools_per_request):
        lines.append({"type": "user.message", "data": {"content": "question"}})
        for t in range(tools):
            call = {"toolCallId": f"call-{n}-{t}", "toolName": "read_file"}
            lines.append({"type": "tool.execution_start", "data": call})
            lines.append({"type": "tool.execution_complete", "data": {**call, "success": True}})
    for index, line in enumerate(lines):
        line.update(id=f"event-{index}", timestamp=f"2026-03-10T00:{index:02d}:30.000Z")
    transcripts = workspace / "GitHub.copilot-chat" / "transcripts"
    transcripts.mkdir(parents=True)
    (transcripts / f"{session}.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))

    row, runs = _reports(env, session)

    assert row["turns"] == len(tools_per_request)
    assert row["requests"] == len(requests)
    assert row["tool_calls"] == sum(tools_per_request)
    by_run = sorted(_shape(runs))
    assert by_run == sorted((1, tools) for tools in tools_per_request)


# -- Continue: a session document (usage is one session total) -------------------------------


def test_continue_turns_are_its_user_messages_though_usage_is_a_session_total(
    tmp_path: Path,
) -> None:
    """Continue declares ``records_turns = False``: its usage total spans every turn and
    carries no run, but each user message is a turn and its tool calls sit in it."""
    env, root = _home("continue", tmp_path)
    session = "continue-turns"
    tools_per_turn = [2, 0, 1]
    history: list[dict[str, Any]] = []
    for turn, tools in enumerate(tools_per_turn):
        history.append({"message": {"role": "user", "content": "question"}, "contextItems": []})
        calls = [
            {"id": f"call-{turn}-{n}", "type": "function", "function": {"name": "read_file"}}
            for n in range(tools)
        ]
        history.append({"message": {"role": "assistant", "content": "ok", "toolCalls": calls}})
    document = {
        "sessionId": session,
        "workspaceDirectory": "/work/repo",
        "history": history,
        "usage": {"promptTokens": 900, "completionTokens": 90},
    }
    (root / "sessions").mkdir(parents=True)
    (root / "sessions" / f"{session}.json").write_text(json.dumps(document))

    row, runs = _reports(env, session)

    assert row["turns"] == len(tools_per_turn)
    assert row["requests"] == 1
    turns = [run for run in runs if run["run_id"] is not None]
    assert sorted(len(run["tools"]) for run in turns) == sorted(tools_per_turn)
    (total,) = [run for run in runs if run["run_id"] is None]  # the session total
    assert len(total["requests"]) == 1
