"""Copilot CLI's ``~/.copilot/session-store.db``: one row per model request in
``assistant_usage_events``.

Schema from the CLI's own runtime (``@github/copilot`` 1.0.102, its native module's
``CREATE TABLE IF NOT EXISTS assistant_usage_events``): ``id INTEGER PRIMARY KEY AUTOINCREMENT,
session_id, turn_index, agent_id, parent_tool_call_id, model, input_tokens, output_tokens,
cache_read_tokens, cache_write_tokens, reasoning_tokens, total_nano_aiu, duration_ms,
time_to_first_token_ms, ..., created_at``; ``sessions(id, cwd, ...)`` names the folder. Rows are
only ever inserted (no UPDATE of this table in the runtime), so the reader pages by ``id``.

The rows are the CLI's ``assistant.usage`` session events, stored by the runtime: the same
requests ``events.jsonl`` and the OTel export may also hold. They share the session's tokens
group (``copy_group``) at ``STORE_PRECEDENCE``, above all of those, so a session is counted
from one source only: the store when it holds the session (one row per request, with its turn,
sub-agent, duration and time to first token), else the OTel export, else ``assistant.usage``,
else the ``session.shutdown`` totals.
``input_tokens`` includes cache reads and writes, as ``inputTokens`` does (the CLI itself
derives its uncached input as input - cache read - cache write). ``total_nano_aiu`` is Copilot
AI units (premium-request credits), not dollars: it is not a recorded cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.copilot_events import copy_group, strip_model, turn_run_id
from agenttail.agents.fields import as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, parse_iso_ms, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery

# Above every other copy of a session's requests: the OTel export's chat spans, inference logs
# and turn logs (3, 2, 1), events.jsonl's assistant.usage (0) and session.shutdown totals (-1).
STORE_PRECEDENCE = 4
USAGE_ROWS = RowQuery(
    "assistant_usage_events",
    (
        "t.id AS id",
        "t.session_id AS session_id",
        "t.turn_index AS turn_index",
        "t.agent_id AS agent_id",
        "t.model AS model",
        "t.input_tokens AS input_tokens",
        "t.output_tokens AS output_tokens",
        "t.cache_read_tokens AS cache_read_tokens",
        "t.cache_write_tokens AS cache_write_tokens",
        "t.reasoning_tokens AS reasoning_tokens",
        "t.duration_ms AS duration_ms",
        "t.time_to_first_token_ms AS ttft_ms",
        "t.created_at AS created_at",
        "s.cwd AS cwd",
    ),
    order=("id", "id"),
    joins="LEFT JOIN sessions AS s ON s.id = t.session_id",
    overlap=0,  # AUTOINCREMENT ids only grow and rows are never updated
    key_types=("integer", "integer"),
    noun="usage rows",
    missing_note="no assistant_usage_events table (a CLI build without per-request usage)",
    cursor_check=True,
)


def _millis(value: object) -> float | None:
    number = as_int(value)
    return float(number) if isinstance(value, (int, float)) and number >= 0 else None


def usage_event(agent: str, row: dict[str, Any]) -> MetricEvent | None:
    """One request of one session, or None for a row without a session or a time."""
    session, ts = row.get("session_id"), parse_iso_ms(row.get("created_at"))
    if not isinstance(session, str) or not session or ts is None:
        return None
    tokens = TokenCounts.from_inclusive_input(
        as_int(row.get("input_tokens")),
        as_int(row.get("cache_read_tokens")),
        as_int(row.get("cache_write_tokens")),
        output=as_int(row.get("output_tokens")),
        reasoning=as_int(row.get("reasoning_tokens")),
    )
    model = strip_model(row.get("model"))
    turn = row.get("turn_index")
    cwd = row.get("cwd")
    return MetricEvent(
        event_id=stable_id(agent, "session_store", session, row.get("id"), row.get("created_at")),
        kind=EventKind.LLM_REQUEST,
        agent=agent,
        session_id=session,
        # turn_index is taken as the n-th user request from 0, the ordinal events.jsonl's
        # user.message runs use (the runtime keys its turns table by it; the numbering itself
        # is not confirmed against the runtime's code).
        run_id=turn_run_id(agent, session, turn) if isinstance(turn, int) else None,
        ts_ms=ts,
        project=cwd if isinstance(cwd, str) and cwd else None,
        model=model,
        **tokens.fields(),
        cost_nusd=cost_nusd(model, tokens),
        context_tokens=tokens.all_input,
        duration_ms=_millis(row.get("duration_ms")),
        ttft_ms=_millis(row.get("ttft_ms")),
        dedup_key=copy_group(agent, "tokens", session),
        precedence=STORE_PRECEDENCE,
        attrs={"source": "session-store"},
    )


def session_store_events(
    agent: str, records: Sequence[Record], context: AgentContext
) -> list[MetricEvent]:
    events = (usage_event(agent, record.data) for record in records)
    return [event for event in events if event is not None]
