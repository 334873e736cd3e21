"""Cursor IDE bubbles: turns, requests by requestId, tool calls, zero counts are not tokens."""

from __future__ import annotations

from typing import Any

from agenttail.agents.cursor import bubble_events, bubble_ids, created_ms
from agenttail.events import EventKind

KEY = "bubbleId:comp-1:b-9"


def row(kind: int, **extra: Any) -> dict[str, Any]:
    return {"key": KEY, "type": kind, "created_at": "2026-03-10T12:00:00Z", **extra}


def test_keys_and_times() -> None:
    assert bubble_ids(KEY) == ("comp-1", "b-9")
    assert bubble_ids("composerData:comp-1") is None
    assert created_ms("2026-03-10T12:00:00Z") == 1_773_144_000_000
    assert created_ms(1_773_144_000_000) == 1_773_144_000_000
    assert created_ms(None) is None


def test_user_bubble_is_a_turn() -> None:
    (turn,) = bubble_events(row(1))
    assert turn.kind == EventKind.TURN and turn.session_id == "comp-1"


def test_zero_counts_are_unknown_tokens_not_zero_usage() -> None:
    (request,) = bubble_events(row(2, request_id="r1", input_tokens=0, output_tokens=0))
    assert request.kind == EventKind.LLM_REQUEST and request.tokens_known is False
    (old,) = bubble_events(row(2, request_id="r2", input_tokens=900, output_tokens=12))
    assert old.tokens_known is True and (old.input_tokens, old.output_tokens) == (900, 12)


def test_bubbles_of_one_request_are_one_request_and_tools_count() -> None:
    first = bubble_events(row(2, request_id="r1"))
    second = bubble_events(
        {
            **row(2, request_id="r1", tool_name="run_terminal_cmd", tool_status="error"),
            "key": "bubbleId:comp-1:b-10",
        }
    )
    requests = [e for e in first + second if e.kind == EventKind.LLM_REQUEST]
    assert len({e.event_id for e in requests}) == 1
    (tool,) = [e for e in second if e.kind == EventKind.TOOL_CALL]
    assert (tool.tool_name, tool.ok) == ("run_terminal_cmd", False)


def test_rows_without_time_or_key_are_skipped() -> None:
    assert bubble_events({"key": KEY, "type": 1}) == []
    assert bubble_events({"key": "bad", "type": 1, "created_at": "2026-03-10T12:00:00Z"}) == []
