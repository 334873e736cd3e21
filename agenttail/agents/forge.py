"""Forge (antinomyhq/forge): conversations in ``.forge.db`` under Forge's base folder.

Format from Forge's own source: the base folder is ``$FORGE_CONFIG``, else ``~/forge`` (legacy)
when it exists, else ``~/.forge`` (``forge_config`` ``base_path``); the database is
``<base>/.forge.db`` (``forge_domain`` ``database_path``), table ``conversations
(conversation_id, title, workspace_id, context, created_at, updated_at, metrics)`` (its Diesel
migrations). ``context`` is the whole conversation as JSON, rewritten on every save (which
stamps ``updated_at``, naive UTC): ``messages`` is a list of ``{"message": {"text": {role,
content, model, tool_calls: [{name, call_id, arguments}]}} | {"tool": {name, call_id, output:
{is_error, values}}}, "usage": {prompt_tokens, completion_tokens, total_tokens, cached_tokens,
cost}}``, each count ``{"actual": n}`` or ``{"approx": n}`` (``TokenCountRecord``).

``prompt_tokens`` holds every input token, cache reads and writes included (Forge's Anthropic
mapping: input + cache creation + cache read); ``cached_tokens`` is the cache reads. Cache
writes cannot be told apart, so they stay in input. A message whose counts are ``approx`` is an
estimate. ``cost`` (USD, from the provider where it reports one) is the recorded cost. Only the
metric fields are cut out of ``context`` inside SQLite: message text, tool arguments and output
never reach Python. Messages carry no time: a message's request takes the ``updated_at`` of the
save that first held it (a later save does not move it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_dict, as_int
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
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

AGENT = "forge"
_MESSAGE = "m.value"
_FIELDS = ", ".join(
    (
        f"json_extract({_MESSAGE}, '$.message.text.role')",
        f"json_extract({_MESSAGE}, '$.message.text.model')",
        f"json(json_extract({_MESSAGE}, '$.usage'))",
        "(SELECT json_group_array(json_array(json_extract(c.value, '$.name'),"
        " json_extract(c.value, '$.call_id')))"
        f" FROM json_each({_MESSAGE}, '$.message.text.tool_calls') AS c)",
        f"json_extract({_MESSAGE}, '$.message.tool.name')",
        f"json_extract({_MESSAGE}, '$.message.tool.call_id')",
        f"json_extract({_MESSAGE}, '$.message.tool.output.is_error')",
    )
)
CONVERSATIONS = RowQuery(
    "conversations",
    (
        "t.conversation_id AS conversation_id",
        "t.updated_at AS updated_at",
        f"(SELECT json_group_array(json_array({_FIELDS})) FROM json_each(t.context, '$.messages')"
        " AS m) AS messages",
    ),
    order=("updated_at", "conversation_id"),
    where="t.context IS NOT NULL AND json_valid(t.context)",  # a new one has no context yet
    overlap=0,  # text times: a saved conversation gets a later updated_at and is read again
    key_types=("text", "text"),
    noun="conversations",
)


def _count(value: object) -> tuple[int, bool]:
    """A ``TokenCountRecord`` (``{"actual": n}`` / ``{"approx": n}``): the count, and whether
    it is an estimate."""
    record = as_dict(value)
    for key, approx in (("actual", False), ("Actual", False), ("approx", True), ("Approx", True)):
        if key in record:
            return max(0, as_int(record[key])), approx
    return 0, False


def conversation_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    out: list[MetricEvent] = []
    for record in records:
        out += _conversation(record.data)
    return out


def _conversation(row: dict[str, Any]) -> list[MetricEvent]:
    session, ts = row.get("conversation_id"), parse_iso_ms(row.get("updated_at"))
    if not isinstance(session, str) or not session or ts is None:
        return []
    try:
        messages = json.loads(row.get("messages") or "[]")
    except ValueError:
        return []
    out: list[MetricEvent] = []
    turn, calls = 0, {}  # tool call id -> the run of the request that made it
    for index, fields in enumerate(messages):
        if not isinstance(fields, list) or len(fields) != 7:
            continue
        role, model, usage, tool_calls, tool, call_id, is_error = fields
        run = stable_id(AGENT, "run", session, turn)
        if role == "User":
            turn += 1
            continue
        for call in tool_calls if isinstance(tool_calls, list) else []:
            if isinstance(call, list) and len(call) == 2 and isinstance(call[1], str):
                calls[call[1]] = run
        if isinstance(usage, dict):
            out.append(_request(session, index, ts, run, model, usage))
        if isinstance(tool, str):
            key = call_id if isinstance(call_id, str) and call_id else f"#{index}"
            out.append(
                MetricEvent(
                    event_id=stable_id(AGENT, "tool_call", session, key),
                    kind=EventKind.TOOL_CALL,
                    agent=AGENT,
                    session_id=session,
                    run_id=calls.get(key, run),
                    ts_ms=ts,
                    tool_name=tool,
                    ok=None if is_error is None else not is_error,
                )
            )
    return out


def _request(
    session: str, index: int, ts: int, run: str, model: object, usage: dict[str, Any]
) -> MetricEvent:
    prompt, approx_in = _count(usage.get("prompt_tokens"))
    output, approx_out = _count(usage.get("completion_tokens"))
    cached, approx_cache = _count(usage.get("cached_tokens"))
    tokens = TokenCounts.from_inclusive_input(prompt, cached, output=output)
    name = model if isinstance(model, str) and model else None
    recorded = nusd_from_usd(usage.get("cost"))
    return MetricEvent(
        event_id=stable_id(AGENT, "llm_request", session, index),
        kind=EventKind.LLM_REQUEST,
        agent=AGENT,
        session_id=session,
        run_id=run,
        ts_ms=ts,
        model=name,
        **tokens.fields(),
        cost_nusd=cost_or_recorded(name, tokens, recorded),
        recorded_cost_nusd=recorded,
        context_tokens=tokens.all_input,
        estimated=approx_in or approx_out or approx_cache,
    )


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class ForgeAgent(Agent):
    name = AGENT
    display_name = "Forge"
    locations = Roots(default=("~/.forge", "~/forge"), overrides=("$FORGE_CONFIG",))
    recursive = False  # the database sits in the base folder itself
    streams = (
        StreamSpec(
            "conversations",
            SqliteRowReader(CONVERSATIONS),
            (".forge.db",),
            _shared,
            conversation_events,
            shared=True,
        ),
    )
