"""Warp (the terminal's agent): exchanges in ``warp.sqlite``, table ``ai_queries``.

Schema from warpdotdev/warp ``crates/persistence/src/schema.rs``: ``ai_queries(id, exchange_id,
conversation_id, start_ts, input, working_directory, output_status, model_id, planning_model_id,
coding_model_id)``. The database is in Warp's state folder: ``~/.local/state/warp-terminal``
on Linux, the ``2BBY89MBSN.dev.warp`` group container on macOS, ``%LOCALAPPDATA%\\warp\\Warp\\data``
on Windows (agent-formats-more 2.18b; peers' readers agree). Warp keeps no per-exchange token
counts (its ``conversation_usage_metadata`` holds Warp credits, not model tokens), so each
exchange is a request whose tokens are not recorded, with its model, folder and outcome. Only
those columns are read, never ``input`` (the prompt). ``start_ts`` is Diesel's naive
``YYYY-MM-DD HH:MM:SS.fff`` text, taken as UTC. Rows are appended with a growing ``id``; the
last rows are read again each time, because ``output_status`` is written when an exchange ends.
An exchange is one query the user typed and the agent's answer to it: a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.events import EventKind, MetricEvent, parse_iso_ms, stable_id
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

AGENT = "warp"
EXCHANGES = RowQuery(
    "ai_queries",
    (
        "t.id AS id",
        "t.exchange_id AS exchange_id",
        "t.conversation_id AS conversation_id",
        "t.start_ts AS start_ts",
        "t.working_directory AS working_directory",
        "t.output_status AS output_status",
        "t.model_id AS model_id",
    ),
    order=("id", "id"),
    overlap=200,  # exchanges still running get their output_status later
)
OK_STATUSES = ("completed", "success", "succeeded")
FAILED_STATUSES = ("failed", "error", "cancelled", "canceled", "aborted")
GROUP_CONTAINER = "~/Library/Group Containers/2BBY89MBSN.dev.warp/Library/Application Support"


def outcome(status: object) -> bool | None:
    """True or False for a finished exchange (the column may hold a JSON-quoted string)."""
    if not isinstance(status, str):
        return None
    word = status.strip().strip('"').lower()
    if word in OK_STATUSES:
        return True
    if word in FAILED_STATUSES:
        return False
    return None


def exchange_event(row: dict[str, Any]) -> MetricEvent | None:
    conversation, exchange = row.get("conversation_id"), row.get("exchange_id")
    ts = parse_iso_ms(row.get("start_ts"))
    if not isinstance(conversation, str) or not conversation or ts is None:
        return None
    if not isinstance(exchange, str) or not exchange:
        return None
    model = row.get("model_id")
    folder = row.get("working_directory")
    ok = outcome(row.get("output_status"))
    return MetricEvent(
        event_id=stable_id(AGENT, conversation, exchange),
        kind=EventKind.LLM_REQUEST,
        agent=AGENT,
        session_id=conversation,
        ts_ms=ts,
        run_id=stable_id(AGENT, "run", conversation, exchange),  # one user query and its answer
        project=folder if isinstance(folder, str) and folder else None,
        model=model if isinstance(model, str) and model else None,
        tokens_known=False,
        ok=ok,
        seq=0 if ok is None else 1,  # a finished copy replaces the running one
    )


def exchange_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    events = (exchange_event(record.data) for record in records)
    return [event for event in events if event is not None]


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class WarpAgent(Agent):
    name = AGENT
    display_name = "Warp"
    tokens_recorded = False
    locations = Roots(
        linux=("$XDG_STATE_HOME/warp-terminal", "$XDG_STATE_HOME/warp-terminal-preview"),
        darwin=(
            f"{GROUP_CONTAINER}/dev.warp.Warp-Stable",
            f"{GROUP_CONTAINER}/dev.warp.Warp-Preview",
        ),
        win32=("%LOCALAPPDATA%/warp/Warp/data",),
    )
    recursive = False  # the database sits in the root itself
    streams = (
        StreamSpec(
            "exchanges",
            SqliteRowReader(EXCHANGES),
            ("warp.sqlite",),
            _shared,
            exchange_events,
            shared=True,
        ),
    )
