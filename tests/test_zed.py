"""Zed threads: zstd payloads, per-message usage topped up to the cumulative total, tools."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agenttail.agents.zed import ThreadDataError, decode_thread, thread_events
from agenttail.events import EventKind

zstandard = pytest.importorskip("zstandard")


def usage(i: int, o: int, w: int = 0, r: int = 0) -> dict[str, int]:
    value = {"input_tokens": i, "output_tokens": o}
    if w:
        value["cache_creation_input_tokens"] = w
    if r:
        value["cache_read_input_tokens"] = r
    return value


def thread_json() -> dict[str, Any]:
    return {
        "version": "0.3.0",
        "title": "CANARY-TITLE",
        "updated_at": "2026-03-10T12:00:00Z",
        "model": {"provider": "anthropic", "model": "claude-sonnet-4-5"},
        "request_token_usage": {"u1": usage(100, 20, 50, 0), "u2": usage(10, 30, 0, 150)},
        "cumulative_token_usage": usage(400, 90, 80, 600),
        "messages": [
            {"User": {"id": "u1", "content": [{"Text": "CANARY-PROMPT"}]}},
            {
                "Agent": {
                    "content": [
                        {"Text": "CANARY-RESPONSE"},
                        {"ToolUse": {"id": "tu1", "name": "read_file", "input": {"p": "x"}}},
                        {"ToolUse": {"id": "tu2", "name": "terminal", "input": {}}},
                    ],
                    "tool_results": {
                        "tu1": {"tool_use_id": "tu1", "is_error": False, "content": "CANARY"},
                        "tu2": {"tool_use_id": "tu2", "is_error": True, "content": "no"},
                    },
                }
            },
            "Resume",
        ],
    }


def row(data: dict[str, Any], **extra: Any) -> dict[str, Any]:
    blob = zstandard.ZstdCompressor(level=3).compress(json.dumps(data).encode())
    return {
        "id": "thread-1",
        "updated_at": "2026-03-10T12:00:00+00:00",
        "data_type": "zstd",
        "data": blob,
        "folder_paths": "/home/dev/proj\n/home/dev/other",
        **extra,
    }


def test_zstd_and_json_payloads_decode() -> None:
    data = thread_json()
    assert decode_thread("zstd", row(data)["data"]) == data
    assert decode_thread("json", json.dumps(data).encode()) == data
    with pytest.raises(ThreadDataError):
        decode_thread("zstd", b"not zstd")
    with pytest.raises(ThreadDataError):
        decode_thread("brotli", b"{}")


def test_thread_totals_equal_the_cumulative_usage() -> None:
    r = row(thread_json())
    events = thread_events("zed", r, decode_thread(r["data_type"], r["data"]))
    requests = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    assert len(requests) == 3  # two user messages and the remainder
    assert sum(e.input_tokens for e in requests) == 400
    assert sum(e.output_tokens for e in requests) == 90
    assert sum(e.cache_write_tokens for e in requests) == 80
    assert sum(e.cache_read_tokens for e in requests) == 600
    rest = [e for e in requests if e.attrs.get("remainder")]
    assert len(rest) == 1
    assert (rest[0].input_tokens, rest[0].cache_read_tokens) == (400 - 110, 600 - 150)
    assert all(e.model == "claude-sonnet-4-5" and e.project == "/home/dev/proj" for e in events)
    assert all(e.cost_nusd is not None and e.cost_nusd > 0 for e in requests)
    assert "CANARY" not in repr(events)


def test_rereading_the_row_gives_the_same_ids() -> None:
    r = row(thread_json())
    first = thread_events("zed", r, decode_thread("zstd", r["data"]))
    second = thread_events("zed", r, decode_thread("zstd", r["data"]))
    assert [e.event_id for e in first] == [e.event_id for e in second]


def test_tool_calls_with_their_results() -> None:
    r = row(thread_json())
    tools = [e for e in thread_events("zed", r, thread_json()) if e.kind == EventKind.TOOL_CALL]
    assert {(e.tool_name, e.ok) for e in tools} == {("read_file", True), ("terminal", False)}


def test_no_remainder_when_messages_cover_the_total() -> None:
    data = thread_json()
    data["cumulative_token_usage"] = usage(110, 50, 50, 150)
    events = thread_events("zed", row(data), data)
    assert not [e for e in events if e.attrs.get("remainder")]


def test_subagent_thread_is_a_sidechain_of_its_parent() -> None:
    data = thread_json()
    events = thread_events("zed", row(data, parent_id="thread-0"), data)
    assert all(e.is_sidechain for e in events)
    assert events[0].attrs["parent_session_id"] == "thread-0"


def test_legacy_list_usage() -> None:
    data = thread_json()
    data["request_token_usage"] = [usage(1, 2), usage(3, 4)]
    data["cumulative_token_usage"] = usage(4, 6)
    requests = [e for e in thread_events("zed", row(data), data) if e.kind == "llm_request"]
    assert [(e.input_tokens, e.output_tokens) for e in requests] == [(1, 2), (3, 4)]
