"""Cursor CLI and Windsurf transcripts: turns and tool calls, ids from line offsets."""

from __future__ import annotations

import json

import pytest

from agenttail.agents.bare_transcripts import cursor_line_events, windsurf_line_events
from agenttail.events import EventKind
from tests.conftest import SAMPLES


def test_cursor_lines() -> None:
    user = {"role": "user", "message": {"content": [{"type": "text", "text": "CANARY"}]}}
    assistant = {
        "role": "assistant",
        "message": {
            "content": [
                {"type": "text", "text": "CANARY-RESPONSE"},
                {"type": "tool_use", "name": "Read", "input": {"path": "/CANARY"}},
                {"type": "tool_use", "name": "Write", "input": {}},
            ]
        },
    }
    turn = cursor_line_events("cursor", "s", user, 0, 5)
    tools = cursor_line_events("cursor", "s", assistant, 120, 5)
    assert [e.kind for e in turn] == [EventKind.TURN]
    assert [e.tool_name for e in tools] == ["Read", "Write"]
    assert len({e.event_id for e in turn + tools}) == 3
    assert "CANARY" not in repr(turn + tools)


def test_windsurf_steps() -> None:
    lines = [
        {"status": "done", "type": "user_input", "user_input": {"user_response": "CANARY"}},
        {"status": "done", "type": "planner_response", "planner_response": {"response": "x"}},
        {"status": "done", "type": "view_file", "view_file": {"content": "CANARY", "path": "p"}},
        {"status": "error", "type": "run_command", "run_command": {}},
    ]
    events = [
        e for i, line in enumerate(lines) for e in windsurf_line_events("windsurf", "t", line, i, 1)
    ]
    assert [(e.kind, e.tool_name, e.ok) for e in events] == [
        (EventKind.TURN, None, None),
        (EventKind.TOOL_CALL, "view_file", True),
        (EventKind.TOOL_CALL, "run_command", False),
    ]


@pytest.mark.parametrize(
    ("name", "convert"),
    [
        ("cursor-session-simple.jsonl", cursor_line_events),
        ("windsurf-session-simple.jsonl", windsurf_line_events),
    ],
)
def test_real_samples(name: str, convert: object) -> None:
    path = SAMPLES / "git-ai" / name
    if not path.is_file():
        pytest.skip("shared samples absent")
    offset, events = 0, []
    for raw in path.read_bytes().splitlines(keepends=True):
        events += convert("a", "s", json.loads(raw), offset, 1)  # type: ignore[operator]
        offset += len(raw)
    lines = [json.loads(raw) for raw in path.read_bytes().splitlines()]
    if name.startswith("cursor"):
        want_tools = sum(
            1 for line in lines for b in line["message"]["content"] if b.get("type") == "tool_use"
        )
        want_turns = sum(1 for line in lines if line["role"] == "user")
    else:
        want_turns = sum(1 for line in lines if line["type"] == "user_input")
        want_tools = sum(
            1 for line in lines if line["type"] not in ("user_input", "planner_response")
        )
    assert sum(e.kind == EventKind.TOOL_CALL for e in events) == want_tools > 0
    assert sum(e.kind == EventKind.TURN for e in events) == want_turns > 0
