"""Crush (charmbracelet): per-project ``<project>/.crush/crush.db``, listed in ``projects.json``.

Only the ``sessions`` table holds usage: ``cost`` (USD, REAL) is accumulated over the session's
requests, but ``prompt_tokens`` / ``completion_tokens`` are overwritten with the latest
request's usage (charmbracelet/crush ``updateSessionUsage``: ``session.PromptTokens =
usage.InputTokens + usage.CacheReadTokens``), so they are the context size of the last request,
not a total. Crush therefore records cost but not token totals: one event per session carries
the recorded cost, the last request's prompt size as context occupancy, and no tokens.
Sub-agent sessions (``parent_session_id``) add their cost into the parent's, so only root
sessions count. Timestamps are Unix seconds (``strftime('%s', 'now')``), not the milliseconds
the schema comment claims. agent-formats-more.md 2.13; codeburn ``docs/providers/crush.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_dict, as_int
from agenttail.discovery_trace import read_discovery_file
from agenttail.events import EventKind, MetricEvent, nusd_from_usd, stable_id
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

DATA_DIR = ".crush"
# Never ``title``.
SESSION_COLUMNS = (
    "id",
    "parent_session_id",
    "message_count",
    "prompt_tokens",
    "completion_tokens",
    "cost",
    "updated_at",
    "created_at",
)
# ``updated_at`` is in seconds: look a few seconds behind the cursor for same-second updates.
SESSIONS = RowQuery("sessions", SESSION_COLUMNS, order=("updated_at", "id"), overlap=5)
MS_THRESHOLD = 100_000_000_000  # larger values are already milliseconds


def project_databases(registry: bytes) -> list[tuple[str, Path]]:
    """(project folder, crush.db path) per project of ``projects.json`` (older files: a bare
    list, or an object keyed by project)."""
    try:
        parsed = orjson.loads(registry)
    except orjson.JSONDecodeError:
        return []
    if isinstance(parsed, dict) and isinstance(parsed.get("projects"), list):
        parsed = parsed["projects"]  # {"projects": [...]}: crush internal/projects
    values = list(parsed.values()) if isinstance(parsed, dict) else parsed
    found: list[tuple[str, Path]] = []
    for value in values if isinstance(values, list) else []:
        entry = as_dict(value)
        path = entry.get("path")
        if not isinstance(path, str) or not path:
            continue
        data_dir = entry.get("data_dir")
        folder = Path(path) / (data_dir if isinstance(data_dir, str) and data_dir else DATA_DIR)
        found.append((path, folder / "crush.db"))
    return found


def epoch_ms(value: object) -> int:
    seconds = as_int(value)
    return seconds if seconds >= MS_THRESHOLD else seconds * 1000


def session_event(agent: str, row: dict[str, Any], project: str | None) -> MetricEvent | None:
    """The cost of one root session row (None for sub-agent and empty sessions)."""
    session_id = row.get("id")
    if not isinstance(session_id, str) or not session_id or row.get("parent_session_id"):
        return None
    recorded = nusd_from_usd(row.get("cost")) or 0
    last_prompt = as_int(row.get("prompt_tokens"))
    if recorded <= 0 and last_prompt + as_int(row.get("completion_tokens")) == 0:
        return None
    ts = epoch_ms(row.get("updated_at")) or epoch_ms(row.get("created_at"))
    if ts <= 0:
        return None
    return MetricEvent(
        event_id=stable_id(agent, "session", session_id),
        kind=EventKind.LLM_REQUEST,
        agent=agent,
        session_id=session_id,
        ts_ms=ts,
        project=project,
        model=row.get("model") if isinstance(row.get("model"), str) else None,
        cost_nusd=max(0, recorded),
        recorded_cost_nusd=max(0, recorded),
        tokens_known=False,
        context_tokens=last_prompt or None,
        attrs={"session_total": True, "messages": as_int(row.get("message_count"))},
    )


def session_rows_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    project = str(context.stream.path.parent.parent)  # <project>/.crush/crush.db
    events = (session_event(context.stream.agent, r.data, project) for r in records)
    return [event for event in events if event is not None]


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


def with_projects(roots: Sequence[Path]) -> list[Path]:
    """``roots`` and the data folder of every project their ``projects.json`` lists (a relative
    project path is taken from the folder of the list)."""
    found = list(roots)
    for root in roots:
        try:
            registry = read_discovery_file(root / "projects.json")
        except OSError:
            continue
        for _, database in project_databases(registry):
            folder = root / database.parent  # an absolute path stays as it is
            if folder not in found:
                found.append(folder)
    return found


class CrushAgent(Agent):
    name = "crush"
    display_name = "Crush"
    tokens_recorded = False  # only the last request's prompt size; cost is recorded
    records_turns = False  # one cost total per session row; messages are not read
    locations = Roots(
        default=("$XDG_DATA_HOME/crush",),
        win32=("%LOCALAPPDATA%/crush",),
        overrides=("$CRUSH_GLOBAL_DATA",),
    )
    streams = (
        StreamSpec(
            "sessions",
            SqliteRowReader(SESSIONS),
            ("crush.db",),
            _shared,
            session_rows_events,
            shared=True,
        ),
    )

    def roots(self) -> Sequence[Path]:
        """The global data folder and every registered project's data folder: re-read on every
        sweep, so a project Crush registers later is found."""
        return with_projects(super().roots())
