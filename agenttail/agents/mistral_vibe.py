"""Mistral Vibe: ``~/.vibe/logs/session/<prefix>_<YYYYmmdd_HHMMSS>_<id8>/`` (``$VIBE_HOME`` moves
``~/.vibe``), written by mistralai/mistral-vibe ``vibe/core/session/session_logger.py``.

- ``meta.json``, replaced atomically after each turn: ``session_id``, ``parent_session_id``,
  ``start_time``, ``end_time``, ``environment.working_directory``, ``config`` (``active_model``
  and ``models[] {name, alias}``) and ``stats`` (``AgentStats``: the session's running
  ``session_prompt_tokens`` and ``session_completion_tokens``; ``session_cost`` is Vibe's own
  worst-case figure from configured prices, ignoring caching). No cache split is recorded.
  One event per session carries the running total (same id on every rewrite, so it grows in
  place), stamped with ``end_time``.
- ``messages.jsonl``, appended: ``LLMMessage {role, tool_calls[{id, function{name}}]}``; each
  tool call is an event. Sub-agent sessions live in ``<session>/agents/<sub>/`` with the same
  files. agent-formats-more.md 2.18b.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_dict, as_int
from agenttail.agents.function_calls import function_call_events, user_turn_event
from agenttail.events import (
    EventKind,
    MetricEvent,
    TokenCounts,
    nusd_from_usd,
    parse_iso_ms,
    stable_id,
)
from agenttail.pricing import cost_or_recorded
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.jsonl import JsonlReader

AGENT = "mistral_vibe"
SESSION_FOLDERS = ("*", "*/agents/*")


def active_model(meta: dict[str, Any]) -> str | None:
    """The API name of the configured active model (``active_model`` may be an alias)."""
    config = as_dict(meta.get("config"))
    active = config.get("active_model")
    if not isinstance(active, str) or not active:
        return None
    models = config.get("models")
    for entry in models if isinstance(models, list) else []:
        entry = as_dict(entry)
        if active in (entry.get("alias"), entry.get("name")) and isinstance(entry.get("name"), str):
            return str(entry["name"])
    return active


def session_event(meta: dict[str, Any], session_id: str) -> MetricEvent | None:
    """The session's running usage total from ``meta.json`` (``session_id``: its folder's name,
    which embeds the id's first 8 characters, as discovery sees it)."""
    stats = as_dict(meta.get("stats"))
    tokens = TokenCounts(
        input_tokens=as_int(stats.get("session_prompt_tokens")),
        output_tokens=as_int(stats.get("session_completion_tokens")),
    )
    ts = parse_iso_ms(meta.get("end_time")) or parse_iso_ms(meta.get("start_time"))
    if tokens.is_zero() or ts is None:
        return None
    parent = meta.get("parent_session_id")
    model = active_model(meta)
    recorded = nusd_from_usd(stats.get("session_cost"))
    project = as_dict(meta.get("environment")).get("working_directory")
    return MetricEvent(
        event_id=stable_id(AGENT, session_id, "usage"),
        kind=EventKind.LLM_REQUEST,
        agent=AGENT,
        session_id=session_id,
        ts_ms=ts,
        project=project if isinstance(project, str) and project else None,
        model=model,
        cost_nusd=cost_or_recorded(model, tokens, recorded),
        recorded_cost_nusd=recorded,
        context_tokens=as_int(stats.get("context_tokens")) or None,
        is_sidechain=isinstance(parent, str) and bool(parent),
        attrs={"session_total": True},
        **tokens.fields(),
    )


def meta_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    events = (session_event(r.data, context.stream.session_id) for r in records)
    return [event for event in events if event is not None]


def message_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    """User turns and tool calls of appended messages, stamped with the file's modification
    time; a tool call carries the turn of the user message before it."""
    try:
        ts = int(context.stream.path.stat().st_mtime * 1000)
    except OSError:
        return []
    session_id = context.stream.session_id
    state = context.state.data
    events: list[MetricEvent] = []
    for record in records:
        message = record.data
        key = message.get("message_id")
        if message.get("role") == "user" and isinstance(key, str) and key:
            turn = user_turn_event(AGENT, session_id, key, ts)
            state["run_id"] = turn.run_id
            events.append(turn)
        run = state.get("run_id")
        events += function_call_events(AGENT, session_id, message.get("tool_calls"), ts, None, run)
    return events


def _folder(path: Path) -> str:
    return path.parent.name


class MistralVibeAgent(Agent):
    name = AGENT
    display_name = "Mistral Vibe"
    records_turns = False  # one running token total per session (meta.json stats)
    locations = Roots(default=("~/.vibe/logs/session",), overrides=("$VIBE_HOME/logs/session",))
    streams = (
        StreamSpec(
            "session_meta",
            JsonDocumentReader(None),
            tuple(f"{folder}/meta.json" for folder in SESSION_FOLDERS),
            _folder,
            meta_events,
        ),
        StreamSpec(
            "transcript",
            JsonlReader(),
            tuple(f"{folder}/messages.jsonl" for folder in SESSION_FOLDERS),
            _folder,
            message_events,
        ),
    )
