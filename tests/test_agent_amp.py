"""Amp thread documents -> events: per-message usage, rewrites, the legacy usage ledger, tools."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.amp import AmpThread
from agenttail.agents.base import AgentContext
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from tests.agent_files import Tail, latest
from tests.conftest import SAMPLES

THREAD = "T-019ca1f6-7f21-77b5-a308-65416ebbdf48"


def convert(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return AmpThread(context).events(records)


def usage(model: str, fresh: int, out: int, write: int, read: int, ts: str) -> dict[str, Any]:
    return {
        "model": model,
        "inputTokens": fresh,
        "outputTokens": out,
        "cacheCreationInputTokens": write,
        "cacheReadInputTokens": read,
        "totalInputTokens": fresh + write + read,
        "timestamp": ts,
    }


def thread(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    env = {"initial": {"trees": [{"displayName": "web", "uri": "file:///home/dev/my%20web"}]}}
    document = {"v": len(messages), "id": THREAD, "created": 1772243812131, "messages": messages}
    return document | {"env": env, "meta": {"traces": []}} | extra


def write(path: Path, document: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")


def events_of(tail: Tail) -> list[MetricEvent]:
    return list(latest(tail.read()).values())


USER = {"role": "user", "messageId": 0, "content": [{"type": "text", "text": "CANARY"}]}
TOOL_USE = {"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {}, "complete": True}
REPLY = {
    "role": "assistant",
    "messageId": 1,
    "content": [TOOL_USE],
    "usage": usage("claude-opus-4-6", 3, 70, 1601, 13248, "2026-02-28T01:56:54.783Z"),
}
RESULT = {
    "role": "user",
    "messageId": 2,
    "content": [{"type": "tool_result", "toolUseID": "toolu_1", "run": {"status": "done"}}],
}


def test_each_assistant_usage_is_one_request_with_disjoint_cache_classes(tmp_path: Path) -> None:
    path = tmp_path / "threads" / f"{THREAD}.json"
    write(path, thread([{**USER, "meta": {"sentAt": 1772243812139}}, REPLY, RESULT]))
    events = events_of(Tail("amp", path, JsonDocumentReader("messages"), convert))
    (request,) = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    assert (request.input_tokens, request.output_tokens) == (3, 70)
    assert (request.cache_write_tokens, request.cache_read_tokens) == (1601, 13248)
    assert request.session_id == THREAD and request.project == "/home/dev/my web"
    assert request.context_tokens == 14852  # the thread's own totalInputTokens
    (tool,) = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert tool.tool_name == "Read" and tool.ok is True and tool.run_id == request.run_id


def test_a_rewritten_thread_gives_the_same_events_plus_the_new_ones(tmp_path: Path) -> None:
    path = tmp_path / "threads" / f"{THREAD}.json"
    write(path, thread([USER, REPLY]))
    tail = Tail("amp", path, JsonDocumentReader("messages"), convert)
    first = tail.read()
    again = {
        **REPLY,
        "messageId": 3,
        "usage": usage("claude-opus-4-6", 1, 30, 0, 15000, "2026-02-28T01:57:00.163Z"),
    }
    write(path, thread([USER, REPLY, RESULT, again]))
    second = tail.read()
    assert {e.event_id for e in first} <= {e.event_id for e in second}
    kept = [e for e in latest(first + second).values() if e.kind == EventKind.LLM_REQUEST]
    assert sum(e.output_tokens for e in kept) == 100


def test_a_ledger_thread_takes_tokens_from_events_and_cache_from_their_messages(
    tmp_path: Path,
) -> None:
    path = tmp_path / "threads" / f"{THREAD}.json"
    event = {"id": "evt-1", "timestamp": "2026-02-28T01:56:54.783Z", "model": "claude-opus-4-6"}
    event |= {"credits": 1.5, "tokens": {"input": 3, "output": 70}, "toMessageId": 1}
    write(path, thread([USER, REPLY], usageLedger={"events": [event]}))
    (request,) = [
        e
        for e in events_of(Tail("amp", path, JsonDocumentReader("messages"), convert))
        if e.kind == EventKind.LLM_REQUEST
    ]
    assert (request.input_tokens, request.output_tokens) == (3, 70)
    assert (request.cache_write_tokens, request.cache_read_tokens) == (1601, 13248)
    assert request.attrs["credits"] == 1.5


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples absent")
def test_public_thread_totals(tmp_path: Path) -> None:
    path = tmp_path / "threads" / f"{THREAD}.json"
    write(path, json.loads((SAMPLES / "git-ai" / f"{THREAD}.json").read_text("utf-8")))
    events = events_of(Tail("amp", path, JsonDocumentReader("messages"), convert))
    requests = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    assert len(requests) == 3 and {e.model for e in requests} == {"claude-opus-4-6"}
    assert sum(e.input_tokens for e in requests) == 3 + 1 + 1
    assert sum(e.output_tokens for e in requests) == 70 + 170 + 30
    assert sum(e.cache_write_tokens for e in requests) == 1601 + 427 + 15683
    assert sum(e.cache_read_tokens for e in requests) == 13248 + 14849 + 0
    tools = sorted((e.tool_name, e.ok) for e in events if e.kind == EventKind.TOOL_CALL)
    assert tools == [("Read", True), ("edit_file", True)]
    assert {e.project for e in events} == {"/Users/svarlamov/projects/testing-git-amp"}
