"""Cursor IDE: conversation bubbles in ``User/globalStorage/state.vscdb`` (table ``cursorDiskKV``).

Each message is a row ``bubbleId:<composerId>:<bubbleId>`` whose value is JSON: ``type`` (1 user,
2 assistant), ``createdAt``, ``requestId``, ``tokenCount {inputTokens, outputTokens}`` and, on a
tool step, ``toolFormerData {name, status}`` (agent-formats.md 8, -more 2.6; codeburn's reader).
Current builds leave ``tokenCount`` at zero: Cursor's usage lives in its web dashboard, so the
agent declares that tokens are not recorded locally. What is on disk is read: a user bubble is a
turn, an assistant ``requestId`` a request (its tokens only when the bubble has non-zero counts),
``toolFormerData`` a tool call. Only these fields are cut out of the JSON, inside SQLite: the
text, code blocks and tool output never reach Python. Rows are ``INSERT OR REPLACE``d, which
gives an updated row a new ``rowid``, so the keyset is (``rowid``, ``key``).

A run is a user bubble and the request that answers it. Only assistant bubbles carry the
``requestId``, so the user bubble last read in its conversation gives a request its run the
first time the request is seen; the request keeps that run when its bubbles are rewritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, parse_iso_ms, stable_id
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

AGENT = "cursor"
USER, ASSISTANT = 1, 2
FAILED = ("error", "failed", "cancelled")
MAX_REMEMBERED = 2000  # requests (and conversations) whose run is kept in the stream state


def _field(path: str) -> str:
    return f"json_extract(CAST(t.value AS TEXT), '$.{path}')"


BUBBLES = RowQuery(
    table="cursorDiskKV",
    columns=(
        "t.key AS key",
        f"{_field('type')} AS type",
        f"{_field('createdAt')} AS created_at",
        f"{_field('requestId')} AS request_id",
        f"{_field('tokenCount.inputTokens')} AS input_tokens",
        f"{_field('tokenCount.outputTokens')} AS output_tokens",
        f"{_field('modelInfo.modelName')} AS model",
        f"{_field('toolFormerData.name')} AS tool_name",
        f"{_field('toolFormerData.status')} AS tool_status",
    ),
    order=("rowid", "key"),
    where="t.key >= 'bubbleId:' AND t.key < 'bubbleId;'",
    overlap=0,
)


def bubble_ids(key: object) -> tuple[str, str] | None:
    """(composer id, bubble id) of a ``bubbleId:<composer>:<bubble>`` key."""
    if not isinstance(key, str):
        return None
    parts = key.split(":")
    if len(parts) != 3 or not parts[1] or not parts[2]:
        return None
    return parts[1], parts[2]


def created_ms(value: object) -> int | None:
    """``createdAt`` as epoch ms: an ISO string (current builds) or a number of ms."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value)
    return parse_iso_ms(value)


def _remember(mapping: dict[str, Any], key: str, value: object) -> None:
    mapping.pop(key, None)
    mapping[key] = value
    while len(mapping) > MAX_REMEMBERED:
        del mapping[next(iter(mapping))]


def bubble_run(row: dict[str, Any], composer: str, bubble: str, state: dict[str, Any]) -> str:
    """The run of a bubble (see the module doc); ``state`` keeps each conversation's latest
    user bubble and each request's run."""
    turns: dict[str, Any] = state.setdefault("turns", {})
    runs: dict[str, Any] = state.setdefault("runs", {})
    if as_int(row.get("type")) == USER:
        _remember(turns, composer, bubble)
    request = row.get("request_id")
    run = runs.get(request) if isinstance(request, str) else None
    if not isinstance(run, str):
        run = stable_id(AGENT, "run", composer, turns.get(composer))
        if isinstance(request, str) and request:
            _remember(runs, request, run)
    return run


def bubble_events(row: dict[str, Any], state: dict[str, Any] | None = None) -> list[MetricEvent]:
    ids = bubble_ids(row.get("key"))
    ts = created_ms(row.get("created_at"))
    if ids is None or ts is None:
        return []
    composer, bubble = ids
    run = bubble_run(row, composer, bubble, {} if state is None else state)
    common: dict[str, Any] = {"agent": AGENT, "session_id": composer, "ts_ms": ts, "run_id": run}
    model = row.get("model") if isinstance(row.get("model"), str) else None
    kind = as_int(row.get("type"))
    if kind == USER:
        return [
            MetricEvent(
                event_id=stable_id(AGENT, composer, "turn", bubble), kind=EventKind.TURN, **common
            )
        ]
    if kind != ASSISTANT:
        return []
    events: list[MetricEvent] = []
    request = row.get("request_id")
    if isinstance(request, str) and request:
        tokens = TokenCounts(
            input_tokens=as_int(row.get("input_tokens")),
            output_tokens=as_int(row.get("output_tokens")),
        )
        events.append(
            MetricEvent(
                event_id=stable_id(AGENT, composer, "request", request),
                kind=EventKind.LLM_REQUEST,
                model=model,
                tokens_known=not tokens.is_zero(),
                **common,
                **tokens.fields(),
            )
        )
    tool = row.get("tool_name")
    if isinstance(tool, str) and tool:
        status = row.get("tool_status")
        events.append(
            MetricEvent(
                event_id=stable_id(AGENT, composer, "tool", bubble),
                kind=EventKind.TOOL_CALL,
                tool_name=tool,
                ok=None if not isinstance(status, str) else status not in FAILED,
                **common,
            )
        )
    return events


def bubble_rows_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    state = context.state.data
    return [event for record in records for event in bubble_events(record.data, state)]


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class CursorAgent(Agent):
    name = AGENT
    display_name = "Cursor"
    tokens_recorded = False
    locations = Roots(
        linux=("$XDG_CONFIG_HOME/Cursor/User",),
        darwin=("~/Library/Application Support/Cursor/User",),
        win32=("%APPDATA%/Cursor/User",),
    )
    streams = (
        StreamSpec(
            "bubbles",
            SqliteRowReader(BUBBLES, max_batch=500),
            ("globalStorage/state.vscdb",),
            _shared,
            bubble_rows_events,
            shared=True,
        ),
    )
