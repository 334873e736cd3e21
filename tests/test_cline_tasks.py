"""Cline-family rows -> events: token meaning per protocol, in-place updates, tools, real sample."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.cline_tasks import TaskEvents, latest_model, request_tokens
from agenttail.events import EventKind
from agenttail.readers.base import ReadLimits
from agenttail.readers.json_document import JsonDocumentReader
from tests.conftest import SAMPLES


def api_row(ts: int, **info: Any) -> dict[str, Any]:
    return {"ts": ts, "type": "say", "say": "api_req_started", "text": json.dumps(info)}


def test_anthropic_counts_are_taken_as_they_are() -> None:
    tokens = request_tokens(
        {"tokensIn": 10, "tokensOut": 369, "cacheWrites": 983, "cacheReads": 12}
    )
    assert (tokens.input_tokens, tokens.output_tokens) == (10, 369)
    assert (tokens.cache_read_tokens, tokens.cache_write_tokens) == (12, 983)


def test_openai_protocol_input_includes_cache_and_is_split() -> None:
    info = {"tokensIn": 5000, "tokensOut": 20, "cacheReads": 4000, "apiProtocol": "openai"}
    tokens = request_tokens(info)
    assert tokens.input_tokens == 1000
    assert tokens.cache_read_tokens == 4000
    assert tokens.all_input == 5000


def test_started_request_waits_for_its_in_place_update() -> None:
    task = TaskEvents("cline", "1700000000000", None, "claude-sonnet-4-5")
    started = api_row(1_700_000_000_500, request="SECRET-PROMPT-CANARY")
    assert task.event(started) is None
    finished = api_row(1_700_000_000_500, request="x", tokensIn=3, tokensOut=7, cost=0.25)
    event = task.event(finished)
    assert event is not None
    assert event.kind == EventKind.LLM_REQUEST
    assert (event.input_tokens, event.output_tokens) == (3, 7)
    assert event.recorded_cost_nusd == 250_000_000
    assert event.model == "claude-sonnet-4-5"
    # The same row re-read after another rewrite is the same event.
    again = TaskEvents("cline", "1700000000000", None, None).event(finished)
    assert again is not None and again.event_id == event.event_id
    assert "SECRET-PROMPT-CANARY" not in repr(event)


def test_cancelled_request_counts_and_is_marked() -> None:
    task = TaskEvents("roo_code", "t1", "/work/repo", "gpt-5")
    event = task.event(api_row(5, tokensIn=100, tokensOut=2, cancelReason="user_cancelled"))
    assert event is not None and event.ok is False
    assert event.error_class == "user_cancelled"
    assert event.project == "/work/repo"


def test_request_model_beats_row_model_info() -> None:
    row = api_row(9, tokensIn=1, tokensOut=1, modelId="claude-opus-4-5", providerId="anthropic")
    row["modelInfo"] = {"providerId": "openrouter", "modelId": "other"}
    event = TaskEvents("cline", "t", None, None).event(row)
    assert event is not None and event.model == "claude-opus-4-5"


def test_tools_finished_rows_only() -> None:
    task = TaskEvents("kilo_code", "t", None, None)
    partial = {"ts": 7, "type": "ask", "ask": "tool", "partial": True, "text": '{"tool":"read'}
    assert task.event(partial) is None
    done = {"ts": 7, "type": "ask", "ask": "tool", "text": '{"tool":"readFile","path":"a.py"}'}
    event = task.event(done)
    assert event is not None and event.kind == EventKind.TOOL_CALL
    assert event.tool_name == "readFile"
    command = {"ts": 8, "type": "say", "say": "command", "text": "rm -rf CANARY"}
    cmd = task.event(command)
    assert cmd is not None and cmd.tool_name == "execute_command"
    mcp = {
        "ts": 9,
        "type": "ask",
        "ask": "use_mcp_server",
        "text": '{"serverName":"gh","type":"use_mcp_tool","toolName":"search"}',
    }
    assert (e := task.event(mcp)) is not None and e.tool_name == "mcp:gh/search"


def test_latest_model_from_task_metadata() -> None:
    metadata = {
        "model_usage": [
            {"ts": 2, "model_id": "b"},
            {"ts": 1, "model_id": "a"},
        ]
    }
    assert latest_model(metadata) == "b"
    assert latest_model({}) is None


def test_real_cline_sample_totals() -> None:
    path = SAMPLES / "cline-roo" / "ui_messages.truncated.json"
    if not path.is_file():
        pytest.skip("shared samples absent")
    rows = json.loads(path.read_text())
    infos = [json.loads(r["text"]) for r in rows if r.get("say") == "api_req_started"]
    task = TaskEvents("cline", "1769056417313", None, None)
    events = [e for r in rows if (e := task.event(r)) is not None]
    requests = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    tools = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert len(requests) == len(infos) == 31
    recorded = sum(e.recorded_cost_nusd or 0 for e in requests)
    assert recorded / 1e9 == pytest.approx(sum(i["cost"] for i in infos))
    assert recorded / 1e9 == pytest.approx(1.8006, abs=5e-5)
    assert all(e.cost_nusd for e in requests)  # priced by genai-prices
    assert sum(e.input_tokens for e in requests) == sum(i["tokensIn"] for i in infos)
    assert sum(e.cache_read_tokens for e in requests) == sum(i["cacheReads"] for i in infos)
    assert {e.model for e in requests} == {"claude-opus-4-5-20251101"}
    assert len(tools) == sum(1 for r in rows if r.get("say") == "tool")
    assert len({e.event_id for e in events}) == len(events)


def test_document_that_is_a_list_is_read_item_by_item(tmp_path: Path) -> None:
    path = tmp_path / "ui_messages.json"
    rows = [api_row(1, tokensIn=1, tokensOut=2), api_row(2, tokensIn=3, tokensOut=4)]
    path.write_text(json.dumps(rows))
    result = JsonDocumentReader(None).read(path, None, ReadLimits(max_batch_records=1))
    assert [(r.position, r.data) for r in result.records] == [(-1, {}), (0, rows[0])]
    rest = JsonDocumentReader(None).read(path, result.watermark, ReadLimits())
    assert [r.data for r in rest.records] == [rows[1]] and rest.at_end
    # An object document without items: its header alone.
    path.write_text(json.dumps({"stats": {"a": 1}}))
    only = JsonDocumentReader(None).read(path, None, ReadLimits())
    assert [r.data for r in only.records] == [{"stats": {"a": 1}}]
