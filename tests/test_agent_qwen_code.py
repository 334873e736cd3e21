"""Qwen Code chat records -> events: cached inside the prompt, thoughts per provider path, forks."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.qwen_code import QwenSession, qwen_tokens
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader
from tests.agent_files import Tail, latest, write_jsonl

SESSION = "d88f478f-445b-420c-916f-ddc8cd17b7b1"
OPENAI_USAGE = {
    "promptTokenCount": 12000,
    "candidatesTokenCount": 800,
    "thoughtsTokenCount": 300,  # reasoning_tokens: a part of completion_tokens
    "totalTokenCount": 12800,
    "cachedContentTokenCount": 9000,
}


def convert(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return QwenSession(context).events(records)


def record(kind: str, uuid: str, ts: str, **extra: Any) -> dict[str, Any]:
    base = {"uuid": uuid, "parentUuid": None, "sessionId": SESSION, "timestamp": ts, "type": kind}
    return {**base, "cwd": "/home/dev/app", "version": "0.9.1", **extra}


def chat(tmp_path: Path, session: str = SESSION) -> Path:
    return tmp_path / ".qwen" / "projects" / "-home-dev-app" / "chats" / f"{session}.jsonl"


def test_openai_path_keeps_reasoning_inside_output_and_cached_out_of_input() -> None:
    counts = qwen_tokens(OPENAI_USAGE)
    assert counts.input_tokens == 12000 - 9000 and counts.cache_read_tokens == 9000
    assert counts.output_tokens == 800 and counts.reasoning_tokens == 300
    assert counts.all_input + counts.output_tokens == OPENAI_USAGE["totalTokenCount"]


def test_gemini_path_adds_thoughts_that_sit_outside_the_candidates() -> None:
    usage = {"promptTokenCount": 5000, "candidatesTokenCount": 100, "thoughtsTokenCount": 40}
    usage |= {"totalTokenCount": 5140, "cachedContentTokenCount": 1000}
    counts = qwen_tokens(usage)
    assert (counts.input_tokens, counts.output_tokens, counts.reasoning_tokens) == (4000, 140, 40)


def test_assistant_turns_tool_calls_and_runs(tmp_path: Path) -> None:
    path = chat(tmp_path)
    call = {"functionCall": {"id": "call_1", "name": "read_file", "args": {"p": "CANARY"}}}
    response = {"functionResponse": {"id": "call_1", "name": "read_file", "response": {}}}
    write_jsonl(
        path,
        record("system", "s0", "2026-04-06T21:59:00.000Z", subtype="ui_telemetry"),
        record("user", "u1", "2026-04-06T21:59:10.000Z", message={"parts": [{"text": "x"}]}),
        record(
            "assistant",
            "a1",
            "2026-04-06T21:59:20.000Z",
            model="qwen3-coder-plus",
            usageMetadata=OPENAI_USAGE,
            message={"role": "model", "parts": [{"text": "CANARY"}, call]},
        ),
        record(
            "tool_result",
            "t1",
            "2026-04-06T21:59:22.500Z",
            message={"parts": [response]},
            toolCallResult={"callId": "call_1", "status": "error"},
        ),
    )
    events = list(latest(Tail("qwen_code", path, JsonlReader(), convert).read()).values())
    (request,) = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    (tool,) = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert request.session_id == SESSION and request.project == "/home/dev/app"
    assert (request.input_tokens, request.output_tokens) == (3000, 800)
    assert tool.tool_name == "read_file" and tool.ok is False and tool.duration_ms == 2500
    assert tool.run_id == request.run_id is not None


def test_a_branch_copy_in_another_session_is_the_same_request(tmp_path: Path) -> None:
    original = record("assistant", "a1", "2026-04-06T21:59:20.000Z", model="qwen3-coder-plus") | {
        "usageMetadata": OPENAI_USAGE
    }
    fork = "7de7547d-c095-42fb-82d4-7ee061f33053"
    copy = original | {"sessionId": fork, "forkedFrom": {"sessionId": SESSION, "messageUuid": "a1"}}
    write_jsonl(chat(tmp_path), original)
    write_jsonl(chat(tmp_path, fork), copy)
    events = Tail("qwen_code", chat(tmp_path), JsonlReader(), convert).read()
    events += Tail("qwen_code", chat(tmp_path, fork), JsonlReader(), convert).read()
    kept = latest(events)
    assert len(kept) == 1 and sum(e.input_tokens for e in kept.values()) == 3000


def test_a_turn_that_ended_in_an_error_is_counted_by_its_code(tmp_path: Path) -> None:
    payload = {"promptId": "p1", "state": "error", "endedAt": 1, "error": {"message": "CANARY"}}
    write_jsonl(
        chat(tmp_path),
        record("system", "e1", "2026-04-06T21:59:30.000Z", subtype="turn_result")
        | {"systemPayload": payload | {"error": {"message": "CANARY", "code": "429"}}},
        record("system", "e2", "2026-04-06T21:59:31.000Z", subtype="turn_result")
        | {"systemPayload": payload | {"state": "completed", "error": None}},
    )
    (event,) = Tail("qwen_code", chat(tmp_path), JsonlReader(), convert).read()
    assert event.kind == EventKind.API_ERROR and event.error_class == "429" and event.ok is False
    assert "CANARY" not in repr(event)
