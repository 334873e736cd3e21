"""Transcripts with no ids, timestamps, models or token usage: Cursor CLI and Windsurf.

Both are append-only JSONL, so a line's byte offset is its identity, and the only time there
is is when the line was observed (the file's modification time when it was read). What they
record is activity: user turns and tool calls. Token usage is not on disk for either agent.
A user line (a turn event) opens a run keyed by its offset; the tool calls after it belong to it.

- Cursor agent transcripts (``~/.cursor/projects/<p>/agent-transcripts/...jsonl``): lines
  ``{role, message: {content: [{type: "text" | "tool_use", name, input}]}}``; a user line is a
  turn, each ``tool_use`` block a tool call (agent-formats.md 8; git-ai sample).
- Windsurf Cascade hook transcripts (``~/.windsurf/transcripts/<trajectory>.jsonl``): lines
  ``{status, type, <type>: {...}}``; ``user_input`` is a turn, ``planner_response`` the model's
  text, every other step type a tool (``view_file``, ``code_action``, ``run_command``, ...)
  (agent-formats.md 14; git-ai sample).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agenttail.agents.base import AgentContext, Converter
from agenttail.agents.fields import as_dict
from agenttail.events import EventKind, MetricEvent, stable_id
from agenttail.readers.base import Record

WINDSURF_TEXT_STEPS = ("user_input", "planner_response")


def _event(
    agent: str, session_id: str, kind: EventKind, ts: int, *key: object, tool: str | None = None
) -> MetricEvent:
    return MetricEvent(
        event_id=stable_id(agent, session_id, *key),
        kind=kind,
        agent=agent,
        session_id=session_id,
        ts_ms=ts,
        tool_name=tool,
    )


def cursor_line_events(
    agent: str, session_id: str, line: dict[str, Any], position: int, ts: int
) -> list[MetricEvent]:
    role = line.get("role")
    if role == "user":
        return [_event(agent, session_id, EventKind.TURN, ts, position)]
    if role != "assistant":
        return []
    content = as_dict(line.get("message")).get("content")
    events: list[MetricEvent] = []
    for index, block in enumerate(content if isinstance(content, list) else []):
        block = as_dict(block)
        name = block.get("name")
        if block.get("type") == "tool_use" and isinstance(name, str) and name:
            events.append(
                _event(agent, session_id, EventKind.TOOL_CALL, ts, position, index, tool=name)
            )
    return events


def windsurf_line_events(
    agent: str, session_id: str, line: dict[str, Any], position: int, ts: int
) -> list[MetricEvent]:
    step = line.get("type")
    if step == "user_input":
        return [_event(agent, session_id, EventKind.TURN, ts, position)]
    if not isinstance(step, str) or not step or step in WINDSURF_TEXT_STEPS:
        return []
    event = _event(agent, session_id, EventKind.TOOL_CALL, ts, position, tool=step)
    status = line.get("status")
    if isinstance(status, str) and status:
        event.ok = status not in ("error", "failed", "cancelled")
    return [event]


LineConverter = Callable[[str, str, dict[str, Any], int, int], list[MetricEvent]]


def observed_events(convert: LineConverter) -> Converter:
    """A stream converter for ``convert``: lines stamped with the file's modification time at
    the read (the only time these transcripts have)."""

    def events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        try:
            ts = int(context.stream.path.stat().st_mtime * 1000)
        except OSError:
            return []
        agent, session = context.stream.agent, context.stream.session_id
        state = context.state.data
        out: list[MetricEvent] = []
        for record in records:
            events = convert(agent, session, record.data, record.position, ts)
            if any(event.kind == EventKind.TURN for event in events):
                state["turn_at"] = record.position
            run_id = stable_id(agent, "run", session, state.get("turn_at"))
            for event in events:
                event.run_id = run_id
            out += events
        return out

    return events
