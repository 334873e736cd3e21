"""Continue: CLI session documents (measured) and the IDE's ``devdata.sqlite`` (estimated).

- ``<CONTINUE_GLOBAL_DIR or ~/.continue>/sessions/<id>.json``, rewritten whole: ``sessionId``,
  ``workspaceDirectory``, ``history[].message.toolCalls[] {id, function{name}}`` and a session
  total ``usage {promptTokens, completionTokens, promptTokensDetails {cachedTokens,
  cacheWriteTokens}, totalCost}``. No timestamps and no model: one event per session carries
  the total (re-derived on every rewrite, same id), stamped with the file's modification time.
  Continue's adapters report OpenAI-style usage; for Anthropic models ``promptTokens`` excludes
  the cache (the real sample has more cached tokens than prompt tokens), for OpenAI-compatible
  ones it includes cache reads (and there are no cache writes). The split follows that.
- ``dev_data/devdata.sqlite`` table ``tokens_generated(id, model, provider, tokens_generated,
  tokens_prompt, timestamp)``: Continue's ``_logEnd`` stores counts from its local tokenizer
  (``countTokens``), not the provider's usage, so these are estimates, kept apart from measured
  totals. ``timestamp`` is SQLite ``CURRENT_TIMESTAMP`` (UTC, seconds).
agent-formats.md 13, -more 2.10; continuedev/continue ``core/data/devdataSqlite.ts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
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
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

DEVDATA_COLUMNS = ("id", "model", "provider", "tokens_generated", "tokens_prompt", "timestamp")
# Append-only rows with an autoincrement id.
DEVDATA = RowQuery("tokens_generated", DEVDATA_COLUMNS, order=("id", "id"), overlap=0)


def session_tokens(usage: dict[str, Any]) -> TokenCounts:
    """House token classes of a session ``usage`` (see the module doc for the split)."""
    prompt = as_int(usage.get("promptTokens"))
    details = as_dict(usage.get("promptTokensDetails"))
    cached = as_int(details.get("cachedTokens"))
    written = as_int(details.get("cacheWriteTokens"))
    output = as_int(usage.get("completionTokens"))
    if written == 0 and cached <= prompt:
        return TokenCounts.from_inclusive_input(prompt, cached, output=output)
    return TokenCounts(
        input_tokens=prompt,
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_5m_tokens=written,
    )


def session_events(
    agent: str, document: dict[str, Any], fallback_id: str, ts_ms: int
) -> list[MetricEvent]:
    """The session's usage total, its user turns and its tool calls (all stamped ``ts_ms``);
    the total spans every turn, so it carries no run."""
    session_id = document.get("sessionId")
    if not isinstance(session_id, str) or not session_id:
        session_id = fallback_id
    project = document.get("workspaceDirectory")
    common: dict[str, Any] = {"agent": agent, "session_id": session_id, "ts_ms": ts_ms}
    common["project"] = project if isinstance(project, str) and project else None
    events: list[MetricEvent] = []
    usage = as_dict(document.get("usage"))
    tokens = session_tokens(usage)
    recorded = nusd_from_usd(usage.get("totalCost"))
    if tokens.all_input + tokens.output_tokens > 0:
        events.append(
            MetricEvent(
                event_id=stable_id(agent, session_id, "usage"),
                kind=EventKind.LLM_REQUEST,
                cost_nusd=recorded,
                recorded_cost_nusd=recorded,
                attrs={"session_total": True},
                **common,
                **tokens.fields(),
            )
        )
    history = document.get("history")
    run: str | None = None
    for index, item in enumerate(history if isinstance(history, list) else []):
        message = as_dict(as_dict(item).get("message"))
        if message.get("role") == "user":  # no id: its place in the history names it
            turn = user_turn_event(agent, session_id, index, ts_ms, common["project"])
            run = turn.run_id
            events.append(turn)
        calls = message.get("toolCalls")
        events += function_call_events(agent, session_id, calls, ts_ms, common["project"], run)
    return events


def devdata_event(agent: str, row: dict[str, Any], session_id: str) -> MetricEvent | None:
    """One ``tokens_generated`` row: an estimated request (local tokenizer counts)."""
    row_id = row.get("id")
    ts = parse_iso_ms(row.get("timestamp"))
    if not isinstance(row_id, int) or ts is None:
        return None
    tokens = TokenCounts(
        input_tokens=as_int(row.get("tokens_prompt")),
        output_tokens=as_int(row.get("tokens_generated")),
    )
    model = row.get("model") if isinstance(row.get("model"), str) else None
    provider = row.get("provider") if isinstance(row.get("provider"), str) else None
    return MetricEvent(
        event_id=stable_id(agent, "devdata", row_id, ts),
        kind=EventKind.LLM_REQUEST,
        agent=agent,
        session_id=session_id,
        ts_ms=ts,
        model=model,
        cost_nusd=cost_nusd(model, tokens, provider),
        estimated=True,
        **tokens.fields(),
    )


DEVDATA_SESSION = "devdata"  # the IDE's estimates carry no session


def session_file_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    """A rewritten session document: stamped with the file's modification time (it has no
    timestamps of its own)."""
    try:
        ts = int(context.stream.path.stat().st_mtime * 1000)
    except OSError:
        return []
    agent, fallback = context.stream.agent, context.stream.session_id
    return [e for r in records for e in session_events(agent, r.data, fallback, ts)]


def devdata_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    events = (devdata_event(context.stream.agent, r.data, DEVDATA_SESSION) for r in records)
    return [event for event in events if event is not None]


def _stem(path: Path) -> str:
    return path.stem


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class ContinueAgent(Agent):
    name = "continue"
    display_name = "Continue"
    records_turns = False  # one usage total per session file; IDE estimates have no session
    locations = Roots(default=("~/.continue",), overrides=("$CONTINUE_GLOBAL_DIR",))
    streams = (
        StreamSpec(
            "transcript", JsonDocumentReader(None), ("sessions/*.json",), _stem, session_file_events
        ),
        StreamSpec(
            "devdata",
            SqliteRowReader(DEVDATA),
            ("dev_data/devdata.sqlite",),
            _shared,
            devdata_events,
            shared=True,
        ),
    )
