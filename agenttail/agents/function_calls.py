"""Tool calls in the OpenAI chat shape (``tool_calls[] {id, type: "function", function{name}}``),
which Continue's session history and Mistral Vibe's messages both keep, and the user turns
around them (their usage is a session total, so only turns and tool calls carry the run)."""

from __future__ import annotations

from typing import Any

from agenttail.agents.fields import as_dict
from agenttail.events import EventKind, MetricEvent, stable_id


def user_turn_event(
    agent: str, session_id: str, message_key: object, ts_ms: int, project: str | None = None
) -> MetricEvent:
    """A user message (``message_key``: its id, or its place in the history): a turn whose
    run the tool calls after it carry (``run_id`` of the returned event)."""
    return MetricEvent(
        event_id=stable_id(agent, session_id, "turn", message_key),
        kind=EventKind.TURN,
        agent=agent,
        session_id=session_id,
        ts_ms=ts_ms,
        run_id=stable_id(agent, "run", session_id, message_key),
        project=project,
    )


def function_call_events(
    agent: str,
    session_id: str,
    calls: object,
    ts_ms: int,
    project: str | None = None,
    run_id: str | None = None,
) -> list[MetricEvent]:
    """One tool-call event per call with an id and a name (the arguments are never read)."""
    events: list[MetricEvent] = []
    for call in calls if isinstance(calls, list) else []:
        entry: dict[str, Any] = as_dict(call)
        name = as_dict(entry.get("function")).get("name")
        call_id = entry.get("id")
        if isinstance(call_id, str) and isinstance(name, str) and name:
            events.append(
                MetricEvent(
                    event_id=stable_id(agent, session_id, "tool", call_id),
                    kind=EventKind.TOOL_CALL,
                    agent=agent,
                    session_id=session_id,
                    ts_ms=ts_ms,
                    run_id=run_id,
                    project=project,
                    tool_name=name,
                )
            )
    return events
