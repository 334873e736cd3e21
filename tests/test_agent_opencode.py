"""OpenCode/Kilo store rows -> events: reasoning by build, recorded cost, forks, legacy files."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import AgentContext, StreamRef, StreamSpec, StreamState
from agenttail.agents.opencode import OpenCodeAgent, OpenCodeStore, opencode_tokens
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader
from tests.agent_files import Tail, counted
from tests.conftest import SAMPLES

T0 = 1_775_512_800_000  # 2026-04-06T22:00:00Z


def assistant(created: int, **tokens: Any) -> dict[str, Any]:
    return {
        "role": "assistant",
        "time": {"created": created, "completed": created + 4000},
        "parentID": "msg_user",
        "modelID": "claude-sonnet-4-5",
        "providerID": "anthropic",
        "path": {"cwd": "/home/dev/api", "root": "/home/dev/api"},
        "cost": 0.0123,
        "tokens": {"input": 100, "output": 50, "reasoning": 0, "cache": {"read": 0, "write": 0}}
        | tokens,
    }


def row(message_id: str, session: str, data: dict[str, Any], **extra: Any) -> Record:
    created = data["time"]["created"]
    fields = {"id": message_id, "session_id": session, "time_created": created}
    fields |= {"time_updated": created + 4000, "data": json.dumps(data)}
    return Record(fields | extra, 0)


def convert(*records: Record, agent: str = "opencode") -> list[MetricEvent]:
    def converter(batch: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        return OpenCodeStore(agent, context).events(batch)

    spec = StreamSpec("messages", JsonlReader(), ("x",), lambda p: p.stem, converter)
    context = AgentContext(StreamRef(agent, spec, Path("opencode.db"), "x"), StreamState())
    return converter(list(records), context)


def test_current_builds_write_output_without_reasoning_and_a_total_with_it() -> None:
    tokens = {"input": 10, "output": 20, "reasoning": 5, "cache": {"read": 7, "write": 3}}
    counts = opencode_tokens({**tokens, "total": 10 + 20 + 5 + 7 + 3})
    assert (counts.output_tokens, counts.reasoning_tokens) == (25, 5)
    assert (counts.input_tokens, counts.cache_read_tokens, counts.cache_write_tokens) == (10, 7, 3)


def test_older_builds_kept_reasoning_inside_output() -> None:
    tokens = {"input": 10, "output": 20, "reasoning": 5, "cache": {"read": 7, "write": 3}}
    assert opencode_tokens({**tokens, "total": 40}).output_tokens == 20
    assert opencode_tokens(tokens).output_tokens == 20  # no total written: as ccusage counts it


def test_a_message_row_carries_model_project_run_and_recorded_cost() -> None:
    (event,) = convert(row("msg_1", "ses_1", assistant(T0), session_created=T0 - 60_000))
    assert event.kind == EventKind.LLM_REQUEST and event.session_id == "ses_1"
    assert event.model == "claude-sonnet-4-5" and event.project == "/home/dev/api"
    assert event.recorded_cost_nusd == 12_300_000  # $0.0123 exactly
    assert event.cost_nusd is not None and event.duration_ms == 4000
    assert event.run_id is not None


def test_a_streaming_row_and_its_final_update_are_one_request() -> None:
    streaming = assistant(T0, input=0, output=0)
    early = convert(row("msg_1", "ses_1", streaming, session_created=T0))
    final = convert(row("msg_1", "ses_1", assistant(T0), session_created=T0, time_updated=T0 + 9))
    assert early == []  # nothing counted yet: a row without tokens
    (event,) = counted(final)
    assert event.input_tokens == 100


def test_a_forked_session_is_not_counted_again() -> None:
    data = assistant(T0)
    original = row("msg_1", "ses_1", data, session_created=T0 - 1000)
    copy = row("msg_9", "ses_fork", data, session_created=T0 + 3_600_000)
    events = convert(original, copy)
    assert len(events) == 2  # both rows are stored ...
    (kept,) = counted(events)  # ... only the original counts
    assert kept.session_id == "ses_1"
    (alone,) = counted(convert(copy))  # a copy whose original is gone still counts
    assert alone.session_id == "ses_fork"


def test_a_legacy_file_of_a_database_message_merges_into_it() -> None:
    data = assistant(T0)
    legacy = Record({"id": "msg_1", "sessionID": "ses_1", **data}, -1)
    events = convert(legacy, row("msg_1", "ses_1", data, session_created=T0 - 1))
    assert len({e.event_id for e in events}) == 1 and len(counted(events)) == 1
    assert max(events, key=lambda e: e.rank()).precedence == 4  # the database copy wins


def test_tool_parts_become_tool_calls() -> None:
    state = {"status": "completed", "input": {"p": "CANARY"}, "output": "CANARY"}
    state |= {"time": {"start": T0 + 100, "end": T0 + 900}}
    part = {"type": "tool", "tool": "edit", "callID": "call_1", "state": state}
    fields = {"id": "prt_1", "message_id": "msg_1", "session_id": "ses_1"}
    fields |= {"time_created": T0, "time_updated": T0 + 900, "data": json.dumps(part)}
    (event,) = convert(Record(fields, 0))
    assert event.kind == EventKind.TOOL_CALL and event.tool_name == "edit"
    assert event.ok is True and event.duration_ms == 800


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples absent")
def test_public_legacy_message_sample() -> None:
    data = json.loads((SAMPLES / "opencode" / "msg_test001.json").read_text("utf-8"))
    (event,) = convert(Record(data, -1))
    assert (event.input_tokens, event.output_tokens) == (1000, 500)
    assert (event.cache_read_tokens, event.cache_write_tokens) == (200, 100)
    assert event.session_id == "ses_test001" and event.ts_ms == 1733011200000


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples absent")
def test_public_database_sample_through_the_agent_streams(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    path.write_bytes((SAMPLES / "git-ai" / "opencode.db").read_bytes())
    events: list[MetricEvent] = []
    for spec in OpenCodeAgent.streams:
        if spec.matches(path.name):
            events += Tail("opencode", path, spec.reader, spec.converter).read()
    (request,) = [e for e in counted(events) if e.kind == EventKind.LLM_REQUEST]
    assert (request.model, request.input_tokens, request.output_tokens) == ("gpt-5", 10, 20)
    assert request.session_id == "test-session-123" and request.project == "/Users/test/project"
    assert request.recorded_cost_nusd is None  # OpenCode wrote 0: no price known to it
    assert request.attrs["parent_session_id"] == "parent-session-456"
    (tool,) = [e for e in counted(events) if e.kind == EventKind.TOOL_CALL]
    assert (tool.tool_name, tool.ok, tool.duration_ms) == ("edit", True, 1000)


def test_a_failed_response_is_an_api_error_classified_by_name() -> None:
    data = assistant(T0, input=0, output=0) | {"error": {"name": "ProviderAuthError"}}
    (event,) = convert(row("msg_1", "ses_1", data, session_created=T0))
    assert event.kind == EventKind.API_ERROR and event.error_class == "ProviderAuthError"
    assert event.ok is False and event.model == "claude-sonnet-4-5"


def step(part_id: str, message: dict[str, Any], session: str, ts: int, **tokens: Any) -> Record:
    data = {"type": "step-finish", "reason": "tool-calls", "cost": 0.001}
    data["tokens"] = {"input": 0, "output": 0, "reasoning": 0, "cache": {"read": 0, "write": 0}}
    data["tokens"] |= tokens
    fields = {"id": part_id, "message_id": "msg_1", "session_id": session, "time_created": ts}
    fields |= {"time_updated": ts, "data": json.dumps(data), "message": json.dumps(message)}
    return Record(fields | {"session_created": T0 - 1000}, 0)


def test_a_message_over_several_steps_counts_every_step_not_only_the_last() -> None:
    """OpenCode overwrites a message's tokens at each step (anomalyco/opencode#42324)."""
    last = {"input": 30, "output": 5, "cache": {"read": 900, "write": 0}}
    message = assistant(T0, **last)
    events = convert(
        row("msg_1", "ses_1", message, session_created=T0 - 1000),
        step("prt_a", message, "ses_1", T0 + 1000, input=20, output=40, cache={"read": 800}),
        step("prt_b", message, "ses_1", T0 + 2000, **last),
    )
    kept = counted(events)
    assert len(kept) == 2 and {e.attrs["message_id"] for e in kept} == {"msg_1"}
    assert sum(e.input_tokens for e in kept) == 50 and sum(e.output_tokens for e in kept) == 45
    assert sum(e.cache_read_tokens for e in kept) == 1700
    assert {e.recorded_cost_nusd for e in kept} == {1_000_000}  # each step's own cost
