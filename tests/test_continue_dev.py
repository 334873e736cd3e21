"""Continue: session totals (cache split by protocol), tool calls, devdata estimates."""

from __future__ import annotations

import json

import pytest

from agenttail.agents.continue_dev import devdata_event, session_events, session_tokens
from agenttail.events import EventKind
from tests.conftest import SAMPLES


def test_anthropic_style_usage_is_disjoint() -> None:
    usage = {
        "promptTokens": 1813,
        "completionTokens": 305,
        "promptTokensDetails": {"cachedTokens": 4366, "cacheWriteTokens": 2183},
    }
    tokens = session_tokens(usage)
    assert (tokens.input_tokens, tokens.cache_read_tokens, tokens.cache_write_tokens) == (
        1813,
        4366,
        2183,
    )


def test_openai_style_usage_includes_cache_reads() -> None:
    usage = {
        "promptTokens": 9000,
        "completionTokens": 10,
        "promptTokensDetails": {"cachedTokens": 8000},
    }
    tokens = session_tokens(usage)
    assert (tokens.input_tokens, tokens.cache_read_tokens) == (1000, 8000)


def test_session_document_total_and_tools() -> None:
    document = {
        "sessionId": "c0ffee",
        "title": "CANARY-TITLE",
        "workspaceDirectory": "/home/dev/site",
        "history": [
            {"message": {"role": "user", "content": "CANARY-PROMPT"}, "contextItems": []},
            {
                "message": {
                    "role": "assistant",
                    "content": "CANARY-RESPONSE",
                    "toolCalls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "read_file", "arguments": "{}"},
                        }
                    ],
                }
            },
        ],
        "usage": {"totalCost": 0.01, "promptTokens": 100, "completionTokens": 20},
    }
    events = session_events("continue", document, "stem", 1_767_000_000_000)
    (usage,) = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    (tool,) = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert (usage.input_tokens, usage.output_tokens, usage.cost_nusd) == (100, 20, 10_000_000)
    assert usage.project == "/home/dev/site" and usage.session_id == "c0ffee"
    assert tool.tool_name == "read_file"
    assert "CANARY" not in repr(events)
    again = session_events("continue", document, "stem", 1_767_000_009_000)
    assert [e.event_id for e in again] == [e.event_id for e in events]


def test_real_continue_sample() -> None:
    path = SAMPLES / "git-ai" / "continue-cli-session-simple.json"
    if not path.is_file():
        pytest.skip("shared samples absent")
    document = json.loads(path.read_text())
    usage = document["usage"]
    (event,) = [e for e in session_events("continue", document, "x", 1) if e.kind == "llm_request"]
    assert event.total_tokens == (
        usage["promptTokens"]
        + usage["completionTokens"]
        + usage["promptTokensDetails"]["cachedTokens"]
        + usage["promptTokensDetails"]["cacheWriteTokens"]
    )
    assert event.recorded_cost_nusd == round(usage["totalCost"] * 1e9)


def test_devdata_rows_are_estimates() -> None:
    row = {
        "id": 7,
        "model": "gpt-4o",
        "provider": "openai",
        "tokens_generated": 50,
        "tokens_prompt": 1200,
        "timestamp": "2026-03-10 09:15:00",
    }
    event = devdata_event("continue", row, "devdata")
    assert event is not None
    assert event.estimated is True
    assert (event.input_tokens, event.output_tokens) == (1200, 50)
    assert event.ts_ms == 1_773_134_100_000
    assert devdata_event("continue", {**row, "timestamp": None}, "devdata") is None
