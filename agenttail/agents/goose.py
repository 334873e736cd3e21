"""Goose (Block): the ``sessions`` table of ``<data dir>/sessions/sessions.db``.

The data dir is ``$GOOSE_PATH_ROOT/data`` (Goose's own variable, an absolute path), else
etcetera's app strategy: XDG on Linux and macOS (``$XDG_DATA_HOME/goose``), ``%APPDATA%\\Block
\\goose\\data`` on Windows; ``~/.local/share/Block/goose`` and ``~/Library/Application
Support/goose`` are read too, as ccusage does (older builds). ``crates/goose/src/config/paths.rs``.

A session row carries running totals, ``accumulated_{input,output,total}_tokens``, updated in
place after every request (``created_at``/``updated_at`` are UTC ``YYYY-MM-DD HH:MM:SS``). Each
growth becomes one event holding the difference, dated when it was seen: the first sight of a
session at its ``created_at`` (as ccusage dates the whole session), later growth at its
``updated_at``. Goose counts cache reads and writes inside input and keeps no running split, so
input here includes cached input (``input_includes_cache``: priced as uncached input, an upper
bound). agent-formats-more.md 2.12.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, delta_from_total, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

AGENT = "goose"
MS_THRESHOLD = 100_000_000_000
# Metric columns only (never name, recipe or extension data); schema v6 and later.
SESSION_COLUMNS = (
    "t.id AS id",
    "t.working_dir AS working_dir",
    "t.session_type AS session_type",
    "t.created_at AS created_at",
    "t.updated_at AS updated_at",
    "t.provider_name AS provider_name",
    "json_extract(t.model_config_json, '$.model_name') AS model",
    "t.input_tokens AS input_tokens",
    "t.output_tokens AS output_tokens",
    "t.total_tokens AS total_tokens",
    "t.accumulated_input_tokens AS accumulated_input_tokens",
    "t.accumulated_output_tokens AS accumulated_output_tokens",
    "t.accumulated_total_tokens AS accumulated_total_tokens",
)
# ``updated_at`` is text (second precision): no numeric overlap window.
SESSIONS = RowQuery("sessions", SESSION_COLUMNS, order=("updated_at", "id"), overlap=0)
PROVIDERS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "google": "google",
    "openrouter": "openrouter",
    "xai": "x-ai",
    "groq": "groq",
}


def timestamp_ms(value: object) -> int | None:
    """``YYYY-MM-DD HH:MM:SS[.f][+00:00]`` (UTC when no offset), RFC 3339, or epoch s/ms."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return int(value) if value >= MS_THRESHOLD else int(value * 1000)
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def running_totals(row: Mapping[str, Any]) -> TokenCounts:
    """The session's totals (the last request's counts when an older build kept no totals)."""
    used = [as_int(row.get(f"accumulated_{k}_tokens")) for k in ("input", "output", "total")]
    if not any(used):
        used = [as_int(row.get(f"{k}_tokens")) for k in ("input", "output", "total")]
    input_tokens, output, total = used
    beside = max(0, total - input_tokens - output)  # a total above the parts: billed as output
    return TokenCounts(
        input_tokens=input_tokens, output_tokens=output + beside, reasoning_tokens=beside
    )


def session_rows_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    out: list[MetricEvent] = []
    state = context.state.data
    for record in records:
        row = record.data
        session_id = row.get("id")
        if not isinstance(session_id, str) or not session_id:
            continue
        total = running_totals(row)
        key = f"total:{session_id}"
        first = key not in state
        delta = delta_from_total(state, total, key)
        if delta is None:
            continue
        ts = timestamp_ms(row.get("created_at") if first else row.get("updated_at"))
        ts = ts or timestamp_ms(row.get("updated_at")) or timestamp_ms(row.get("created_at"))
        if ts is None:
            continue
        model = row.get("model") if isinstance(row.get("model"), str) else None
        provider = row.get("provider_name")
        provider = PROVIDERS.get(provider) if isinstance(provider, str) else None
        cwd = row.get("working_dir")
        out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "usage", session_id, *total.fields().values()),
                kind=EventKind.LLM_REQUEST,
                agent=AGENT,
                session_id=session_id,
                ts_ms=ts,
                project=cwd if isinstance(cwd, str) and cwd else None,
                model=model,
                cost_nusd=cost_nusd(model, delta, provider) or cost_nusd(model, delta),
                is_sidechain=row.get("session_type") == "sub_agent",
                attrs={"cumulative_delta": 1, "input_includes_cache": 1},
                **delta.fields(),
            )
        )
    return out


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class GooseAgent(Agent):
    name = AGENT
    display_name = "Goose"
    records_turns = False  # tokens are session running totals; messages are not read
    upload_attrs: ClassVar[Mapping[str, type]] = {
        "cumulative_delta": int,
        "input_includes_cache": int,
    }
    locations = Roots(
        linux=("$XDG_DATA_HOME/goose/sessions", "~/.local/share/Block/goose/sessions"),
        darwin=(
            "$XDG_DATA_HOME/goose/sessions",
            "~/Library/Application Support/goose/sessions",
            "~/Library/Application Support/Block/goose/sessions",
        ),
        win32=("%APPDATA%/Block/goose/data/sessions",),
        overrides=("$GOOSE_PATH_ROOT/data/sessions",),
    )
    streams = (
        StreamSpec(
            "sessions",
            SqliteRowReader(SESSIONS),
            ("sessions.db",),
            _shared,
            session_rows_events,
            shared=True,
        ),
    )
