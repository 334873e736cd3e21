"""Tool calls in the OpenAI chat shape (``tool_calls[] {id, type: "function", function{name}}``),
which Continue's session history and Mistral Vibe's messages both keep."""

from __future__ import annotations

from typing import Any

from agenttail.agents.fields import as_dict
from agenttail.events import EventKind, MetricEvent, stable_id


def function_call_events(
    agent: str, session_id: str, calls: object, ts_ms: int, project: str | None = None
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
                    project=project,
                    tool_name=name,
                )
            )
    return events
