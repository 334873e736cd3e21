"""Junie events.jsonl: usage rows, replays on resume, turns and project."""

from __future__ import annotations

from typing import Any

from agenttail.agents.junie import line_events


def usage_line(ts: int, *rows: dict[str, Any], agent: str = "MainAgent") -> dict[str, Any]:
    return {
        "kind": "SessionA2uxEvent",
        "timestampMs": ts,
        "event": {
            "state": "IN_PROGRESS",
            "agentEvent": {
                "kind": "LlmResponseMetadataEvent",
                "agent": {"kind": agent, "id": "main", "name": "main"},
                "modelUsage": list(rows),
            },
        },
    }


ROW = {
    "model": "claude-sonnet-4-5-20250929",
    "cost": 0.0123,
    "inputTokens": 1200,
    "cacheInputTokens": 8000,
    "cacheCreateTokens": 300,
    "outputTokens": 150,
    "time": 2100,
}


def run(lines: list[dict[str, Any]]) -> list[Any]:
    state: dict[str, Any] = {}
    return [e for line in lines for e in line_events("junie", "session-260101-101010", line, state)]


def test_usage_row_in_house_meaning() -> None:
    lines = [
        {
            "kind": "SessionA2uxEvent",
            "timestampMs": 1_767_000_000_000,
            "event": {
                "agentEvent": {
                    "kind": "CurrentDirectoryUpdatedEvent",
                    "currentDirectory": "/home/dev/app",
                }
            },
        },
        {"kind": "UserPromptEvent", "prompt": "CANARY-PROMPT", "timestampMs": 1_767_000_000_500},
        usage_line(1_767_000_003_000, ROW),
    ]
    (event,) = run(lines)
    assert (event.input_tokens, event.cache_read_tokens, event.cache_write_tokens) == (
        1200,
        8000,
        300,
    )
    assert event.output_tokens == 150
    assert event.duration_ms == 2100
    assert event.project == "/home/dev/app"
    assert event.run_id is not None
    assert event.attrs["recorded_cost"] == 0.0123
    assert event.cost_nusd is not None and event.cost_nusd > 0
    assert "CANARY" not in repr(event)


def test_replayed_event_on_resume_is_the_same_event() -> None:
    events = run([usage_line(1_000, ROW), usage_line(1_000, ROW), usage_line(2_000, ROW)])
    assert len({e.event_id for e in events}) == 2


def test_two_identical_rows_in_one_event_are_two_requests() -> None:
    events = run([usage_line(1_000, ROW, ROW)])
    assert len({e.event_id for e in events}) == 2


def test_subagent_rows_are_sidechain() -> None:
    (event,) = run([usage_line(5, ROW, agent="SubAgent")])
    assert event.is_sidechain


def test_empty_rows_are_skipped() -> None:
    assert run([usage_line(5, {"model": "x", "inputTokens": 0, "outputTokens": 0})]) == []
