"""JetBrains Junie: ``~/.junie/sessions/<session>/events.jsonl``.

Lines are ``{kind, timestampMs, event: {agentEvent: {kind, ...}}}``. Usage is in
``agentEvent.kind == "LlmResponseMetadataEvent"``: ``modelUsage[] {model, inputTokens,
outputTokens, cacheInputTokens, cacheCreateTokens, reasoningTokens, cost, time}``, written when
the response ends (``time`` is its latency). ``inputTokens`` excludes the cache (Junie's own
converters normalise OpenAI prompt counts to disjoint buckets). Resuming a session replays
earlier events byte for byte, so a row's id is derived from its content (timestamp, position in
the array, model, counts): a replay is the same event. ``UserPromptEvent`` starts a turn;
``CurrentDirectoryUpdatedEvent`` names the project. ``cost`` has no recorded unit (JetBrains AI
credits or USD by account), so it is kept as an attribute and the USD cost is priced.
agent-formats-more.md 2.18; tokscale ``sessions/junie.rs``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

USAGE = "LlmResponseMetadataEvent"
PROMPT = "UserPromptEvent"
DIRECTORY = "CurrentDirectoryUpdatedEvent"


def usage_tokens(usage: dict[str, Any]) -> TokenCounts:
    return TokenCounts(
        input_tokens=as_int(usage.get("inputTokens")),
        output_tokens=as_int(usage.get("outputTokens")),
        cache_read_tokens=as_int(usage.get("cacheInputTokens")),
        cache_write_5m_tokens=as_int(usage.get("cacheCreateTokens")),
        reasoning_tokens=as_int(usage.get("reasoningTokens")),
    )


def line_events(
    agent: str, session_id: str, line: dict[str, Any], state: dict[str, Any]
) -> list[MetricEvent]:
    """Events of one line; ``state`` carries the project, the open turn and the last time."""
    ts = as_int(line.get("timestampMs"))
    if ts > 0:
        state["last_ts"] = ts
    else:
        ts = as_int(state.get("last_ts"))
    agent_event = as_dict(as_dict(line.get("event")).get("agentEvent"))
    directory = agent_event.get("currentDirectory")
    if isinstance(directory, str) and directory:
        state["project"] = directory
    if line.get("kind") == PROMPT:
        state["run_id"] = stable_id(agent, session_id, "turn", ts)
        return []
    if agent_event.get("kind") != USAGE or ts <= 0:
        return []
    usages = agent_event.get("modelUsage")
    subagent = as_dict(agent_event.get("agent")).get("kind")
    events: list[MetricEvent] = []
    for index, item in enumerate(usages if isinstance(usages, list) else []):
        usage = as_dict(item)
        tokens = usage_tokens(usage)
        model = usage.get("model") if isinstance(usage.get("model"), str) else None
        if tokens.all_input + tokens.output_tokens == 0:
            continue
        identity = (ts, index, model, *tokens.fields().values())
        attrs: dict[str, Any] = {}
        recorded = usage.get("cost")
        if isinstance(recorded, int | float) and not isinstance(recorded, bool):
            attrs["recorded_cost"] = float(recorded)
        latency = as_int(usage.get("time"))
        events.append(
            MetricEvent(
                event_id=stable_id(agent, session_id, *identity),
                kind=EventKind.LLM_REQUEST,
                agent=agent,
                session_id=session_id,
                ts_ms=ts,
                run_id=state.get("run_id"),
                project=state.get("project"),
                model=model,
                cost_nusd=cost_nusd(model, tokens),
                context_tokens=tokens.all_input,
                duration_ms=float(latency) if latency > 0 else None,
                is_sidechain=isinstance(subagent, str) and subagent not in ("", "MainAgent"),
                attrs=attrs,
                **tokens.fields(),
            )
        )
    return events


def session_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    agent, session = context.stream.agent, context.stream.session_id
    state = context.state.data
    return [e for record in records for e in line_events(agent, session, record.data, state)]


def _session_dir(path: Path) -> str:
    return path.parent.name


class JunieAgent(Agent):
    name = "junie"
    display_name = "JetBrains Junie"
    locations = Roots(default=("~/.junie",))
    streams = (
        StreamSpec(
            "transcript",
            JsonlReader(),
            ("sessions/*/events.jsonl",),
            _session_dir,
            session_events,
        ),
    )
