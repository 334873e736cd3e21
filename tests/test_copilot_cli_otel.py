"""Copilot CLI's OpenTelemetry file export: spans and log records in the exporter's real shape.

Line shapes (agent-formats.md section 4): Copilot CLI spans are ``{"type": "span", traceId,
spanId, parentSpanId, name, kind, startTime: [s, ns], endTime, attributes: {...flat},
status: {code}, events, resource, instrumentationScope}``; log records are serialized SDK
``LogRecord`` objects ``{hrTime: [s, ns], spanContext: {traceId, spanId}, attributes, _body}``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agenttail.agents.base import discover
from agenttail.agents.copilot_cli import CopilotCliAgent
from agenttail.daemon.worker import StreamProcessor
from agenttail.readers.base import ReadLimits
from agenttail.store import Store
from tests.helpers import agenttail_cli

DAY = 1772366400  # 2026-03-01T12:00:00Z
RESOURCE = {"attributes": {"service.name": "github-copilot", "service.version": "1.0.84-4"}}
SCOPE = {"name": "github.copilot", "version": "1.0.84-4"}


def span(
    trace: str,
    span_id: str,
    operation: str,
    at: int,
    attrs: dict[str, Any],
    *,
    name: str | None = None,
    parent: str | None = "agent-span",
    code: int = 0,
) -> dict[str, Any]:
    return {
        "type": "span",
        "traceId": trace,
        "spanId": span_id,
        "parentSpanId": parent,
        "name": name or f"{operation} x",
        "kind": 2 if operation == "chat" else 0,
        "startTime": [DAY + at, 250_000_000],
        "endTime": [DAY + at + 2, 0],
        "attributes": {"gen_ai.operation.name": operation, **attrs},
        "status": {"code": code},
        "events": [],
        "resource": RESOURCE,
        "instrumentationScope": SCOPE,
    }


def log(trace: str | None, event: str, at: int, attrs: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {
        "hrTime": [DAY + at, 0],
        "hrTimeObserved": [DAY + at, 1000],
        "resource": RESOURCE,
        "instrumentationScope": SCOPE,
        "attributes": {"event.name": event, **attrs},
        "_body": "GenAI inference: gpt-5" if event.startswith("gen_ai") else event,
    }
    if trace:
        record["spanContext"] = {"traceId": trace, "spanId": "chat-span", "traceFlags": 1}
    return record


INFERENCE = "gen_ai.client.inference.operation.details"
TURN = "copilot_chat.agent.turn"


def usage(inp: int, out: int, read: int = 0, write: int = 0, **extra: Any) -> dict[str, Any]:
    attrs: dict[str, Any] = {
        "gen_ai.usage.input_tokens": inp,
        "gen_ai.usage.output_tokens": out,
        **extra,
    }
    if read:
        attrs["gen_ai.usage.cache_read.input_tokens"] = read
    if write:
        attrs["gen_ai.usage.cache_creation.input_tokens"] = write
    return attrs


A = {"gen_ai.conversation.id": "sess-a", "gen_ai.response.model": "gpt-5"}

# Trace t1 (sess-a): two chat calls; an inference-log twin of the first (not counted); an
# invoke_agent span repeating the children's tokens (a turn only); two tool spans.
T1 = [
    span("t1", "c1", "chat", 0, {**A, **usage(1000, 50, 600, 100), "gen_ai.response.id": "r1",
         "gen_ai.usage.reasoning.output_tokens": 20, "gen_ai.tool.definitions": "[SECRET]"}),
    log("t1", INFERENCE, 1, {**A, **usage(1000, 50, 600, 100), "gen_ai.response.id": "r1"}),
    span("t1", "tool1", "execute_tool", 3, {**A, "gen_ai.tool.name": "view",
         "gen_ai.tool.call.id": "call_1"}, name="execute_tool view"),
    span("t1", "tool2", "execute_tool", 4, {**A, "gen_ai.tool.name": "powershell",
         "gen_ai.tool.call.id": "call_2"}, name="execute_tool powershell", code=2),
    span("t1", "c2", "chat", 5, {**A, "gen_ai.usage.input_tokens": 500,
         "gen_ai.usage.output_tokens": 30, "gen_ai.usage.cache_write.input_tokens": 50}),
    span("t1", "agent-span", "invoke_agent", 0, {**A, **usage(1500, 80)},
         name="invoke_agent copilot", parent=None),
]  # fmt: skip
# Trace t2 (sess-b): no chat span; its inference log counts, its turn-log twin does not.
T2 = [
    log("t2", INFERENCE, 60, {"copilot_chat.session_id": "sess-b",
        "gen_ai.request.model": "gpt-5", **usage(200, 10, 50)}),
    log("t2", TURN, 61, {"copilot_chat.session_id": "sess-b", **usage(210, 11), "turn.index": 0}),
]  # fmt: skip
# Trace t3: only a turn log, no session id anywhere.
T3 = [log("t3", TURN, 120, {"gen_ai.request.model": "gpt-5", **usage(80, 20), "turn.index": 0})]

# Hand-computed counted totals. c1: input 1000-600-100=300, read 600, write 100, out 50.
# c2: 500-50=450, write 50, out 30. t2 log: 200-50=150, read 50, out 10. t3: 80 in, 20 out.
EXPECTED = {
    "input_tokens": 300 + 450 + 150 + 80,
    "output_tokens": 50 + 30 + 10 + 20,
    "cache_read_tokens": 600 + 50,
    "cache_write_tokens": 100 + 50,
    "requests": 4,
}


def write(path: Path, *records: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def process(agent: CopilotCliAgent, store: Store) -> None:
    processor = StreamProcessor(store, {agent.name: agent}, ReadLimits(max_batch_records=3))
    for ref in discover(agent):
        while not processor.process(ref).finished:
            pass


def counted(store: Store, kind: str = "llm_request") -> list[tuple[Any, ...]]:
    return store.db.execute(
        "SELECT session_id, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, "
        "reasoning_tokens, model, precedence FROM events WHERE kind = ? AND counted = 1 "
        "ORDER BY ts_ms",
        [kind],
    ).fetchall()


def test_spans_logs_and_precedence(tmp_path: Path) -> None:
    home = tmp_path / ".copilot"
    write(home / "otel" / "cli.jsonl", *T1, *T2, *T3)
    agent = CopilotCliAgent(roots=[home], exporter=None)
    store = Store(tmp_path / "at.db")
    process(agent, store)
    assert counted(store) == [
        ("sess-a", 300, 50, 600, 100, 20, "gpt-5", 3),
        ("sess-a", 450, 30, 0, 50, 0, "gpt-5", 3),
        ("sess-b", 150, 10, 50, 0, 0, "gpt-5", 2),
        ("unknown", 80, 20, 0, 0, 0, "gpt-5", 1),
    ]
    tools = store.db.execute(
        "SELECT tool_name, ok, duration_ms, session_id FROM events "
        "WHERE kind = 'tool_call' AND counted = 1 ORDER BY ts_ms"
    ).fetchall()
    assert tools == [("view", 1, 1750.0, "sess-a"), ("powershell", 0, 1750.0, "sess-a")]
    turns = store.db.execute(
        "SELECT session_id, input_tokens, output_tokens FROM events WHERE kind = 'turn'"
    ).fetchall()
    assert turns == [("sess-a", 0, 0)]  # invoke_agent never counts its children's tokens
    stored = json.dumps(store.db.execute("SELECT attrs FROM events").fetchall())
    stored += json.dumps(store.db.execute("SELECT state FROM sessions").fetchall())
    assert "SECRET" not in stored  # no content in events or stream state
    process(agent, store)  # a re-scan of unchanged files changes nothing
    assert len(counted(store)) == 4


def test_appends_are_read_incrementally_and_a_late_chat_span_wins(tmp_path: Path) -> None:
    home = tmp_path / ".copilot"
    path = home / "otel" / "cli.jsonl"
    agent = CopilotCliAgent(roots=[home], exporter=None)
    store = Store(tmp_path / "at.db")
    write(path, *T2)
    process(agent, store)
    assert [row[:3] for row in counted(store)] == [("sess-b", 150, 10)]
    size = path.stat().st_size
    # The exporter flushes spans later than logs: the trace's chat span now replaces its log.
    write(path, span("t2", "c9", "chat", 59, {"copilot_chat.session_id": "sess-b",
                     "gen_ai.request.model": "gpt-5", **usage(200, 12, 50)}))  # fmt: skip
    process(agent, store)
    assert [row[:3] for row in counted(store)] == [("sess-b", 150, 12)]
    (offset,) = store.db.execute(
        "SELECT watermark FROM sessions WHERE stream = 'otel_file'"
    ).fetchone()
    assert str(path.stat().st_size) in offset and path.stat().st_size > size


def test_exporter_path_elsewhere_and_report_totals(tmp_path: Path) -> None:
    home = tmp_path / "home"
    elsewhere = tmp_path / "exports" / "copilot-otel.jsonl"
    write(home / ".copilot" / "otel" / "a.jsonl", *T1)
    write(elsewhere, *T2, *T3)
    write(tmp_path / "exports" / "other.jsonl", *T3)  # same folder, not the exporter file
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "AGENTTAIL_HOME": str(tmp_path / "at"),
        "COPILOT_HOME": str(home / ".copilot"),
        "COPILOT_OTEL_FILE_EXPORTER_PATH": str(elsewhere),
    }
    env.pop("CLAUDE_CONFIG_DIR", None)

    def run(*args: str) -> str:
        return agenttail_cli(env, *args)

    run("scan")
    run("scan")
    report = json.loads(run("report", "daily", "--json", "--timezone", "UTC"))
    keys = tuple(EXPECTED)
    assert [d["date"] for d in report["daily"]] == ["2026-03-01"]
    assert {k: report["totals"][k] for k in keys} == EXPECTED
    status = json.loads(run("status", "--json"))
    paths = sorted(s["path"] for s in status["streams"] if s["stream"] == "otel_file")
    assert paths == sorted([str(home / ".copilot" / "otel" / "a.jsonl"), str(elsewhere)])
