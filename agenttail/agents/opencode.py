"""OpenCode: ``~/.local/share/opencode/opencode.db`` (SQLite, >= 1.2) and the legacy JSON store.

``OPENCODE_DATA_DIR`` (a comma-separated list, as in ccusage) replaces the data folder, else
``$XDG_DATA_HOME/opencode``, else ``~/.local/share/opencode`` on every OS (xdg-basedir).
A message row is updated in place while its response streams; re-reading it gives the same
event id with grown tokens. ``tokens.output`` excludes reasoning in current builds (the total
says so) and includes it in older ones. ``cost`` is OpenCode's own figure, kept as the recorded
cost. A message that called tools spans several API calls, one ``step-finish`` part each, and
keeps only the last one's tokens: its steps are counted instead. A fork clones messages (and
parts) under new ids into a session created after them: copies share a group keyed by (created,
provider, model) with the original and rank below it, so a fork is counted once. Kilo CLI
(``kilo.db``) is the same store. See notes/formats-agents-ccusage.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import orjson

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, nusd_from_usd, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

AGENT = "opencode"
# Precedence within the group of one message (keyed by its creation time, provider and model):
# its steps, then itself, then its legacy file, then the copies a fork made of them.
STEP, MESSAGE, LEGACY_FILE, FORK_STEP, FORK_MESSAGE = 5, 4, 3, 2, 1
TOOL_OK = {"completed": True, "error": False}


def opencode_tokens(tokens: dict[str, Any]) -> TokenCounts:
    """``tokens{input, output, reasoning, cache{read, write}, total?}`` in the house meaning.

    Input and cache classes are disjoint. Reasoning is added to output unless the recorded
    total shows it is already inside (builds before AI SDK v6), or no total was written.
    """
    cache = as_dict(tokens.get("cache"))
    fresh, output = as_int(tokens.get("input")), as_int(tokens.get("output"))
    reasoning = as_int(tokens.get("reasoning"))
    read, write = as_int(cache.get("read")), as_int(cache.get("write"))
    total = as_int(tokens.get("total"))
    separate = reasoning > 0 and total == fresh + output + reasoning + read + write
    return TokenCounts(
        input_tokens=fresh,
        output_tokens=output + reasoning if separate else output,
        cache_read_tokens=read,
        cache_write_5m_tokens=write,
        reasoning_tokens=reasoning,
    )


def _ms(value: object) -> int | None:
    """Epoch milliseconds (OpenCode writes ms, sometimes as a float; seconds are scaled)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    return int(value * 1000) if value < 1_000_000_000_000 else int(value)


def _json(value: object) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, str | bytes):
        try:
            parsed = orjson.loads(value)
        except orjson.JSONDecodeError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


class OpenCodeStore:
    """Messages, steps and tool parts of an OpenCode-format store (rows or legacy files).

    A message row carries ``id, session_id, time_created, time_updated, data`` and, joined
    from ``session``, ``session_created``, ``session_parent``, ``session_directory``. A part row
    carries ``message_id`` and the ``message`` it belongs to (its metric fields) as well. A legacy
    message file is the message document itself (``id``, ``sessionID`` inside).

    One API call is one ``step-finish`` part: a message that called tools spans several steps,
    and its own ``tokens`` are the last step's only (``cost`` is their sum). Steps and their
    message share a group in which steps rank first, so a message counts by its steps when
    they are known and by itself otherwise (legacy files, builds without steps).
    """

    def __init__(self, agent: str, context: AgentContext) -> None:
        self.agent = agent
        self.context = context
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            row = record.data
            if "data" in row and "session_id" in row:
                data = _json(row.get("data"))
                if "message_id" not in row:
                    self._message(row, data, from_file=False)
                elif data.get("type") == "step-finish":
                    self._step(row, data)
                elif data.get("type") == "tool":
                    self._tool(row, data)
            elif row.get("role"):
                self._message(row, row, from_file=True)
        return self.out

    def _message(self, row: dict[str, Any], data: dict[str, Any], from_file: bool) -> None:
        if data.get("role") != "assistant":
            return
        message_id = row.get("id") or data.get("id")
        session = row.get("session_id") or data.get("sessionID")
        if not isinstance(message_id, str) or not isinstance(session, str):
            return
        created = _ms(as_dict(data.get("time")).get("created")) or _ms(row.get("time_created"))
        if created is None:
            return
        error = as_dict(data.get("error")).get("name")
        if isinstance(error, str) and error:
            run_id = self._run_id(session, data, message_id)
            self._error(message_id, session, created, error, data.get("modelID"), row, run_id)
        tokens = data.get("tokens")
        if not isinstance(tokens, dict):
            return
        copy = self._copied(row, created)
        precedence = LEGACY_FILE if from_file else (FORK_MESSAGE if copy else MESSAGE)
        completed = _ms(as_dict(data.get("time")).get("completed"))
        self._request(
            key=message_id,
            row=row,
            message=data,
            session=session,
            ts=created,
            counts=opencode_tokens(tokens),
            cost=data.get("cost"),
            precedence=precedence,
            duration_ms=float(completed - created) if completed else None,
        )

    def _step(self, row: dict[str, Any], data: dict[str, Any]) -> None:
        message = _json(row.get("message"))
        part_id, session = row.get("id"), row.get("session_id")
        tokens = data.get("tokens")
        created = _ms(as_dict(message.get("time")).get("created"))
        if not isinstance(part_id, str) or not isinstance(session, str):
            return
        if not isinstance(tokens, dict) or created is None:
            return
        self._request(
            key=part_id,
            row=row,
            message=message,
            session=session,
            ts=_ms(row.get("time_created")) or created,
            counts=opencode_tokens(tokens),
            cost=data.get("cost"),
            precedence=FORK_STEP if self._copied(row, created) else STEP,
            duration_ms=None,
        )

    @staticmethod
    def _copied(row: dict[str, Any], created: int) -> bool:
        """Older than its own session: a message cloned by a fork (or one of its steps)."""
        session_created = _ms(row.get("session_created"))
        return session_created is not None and created < session_created

    def _request(
        self,
        *,
        key: str,
        row: dict[str, Any],
        message: dict[str, Any],
        session: str,
        ts: int,
        counts: TokenCounts,
        cost: object,
        precedence: int,
        duration_ms: float | None,
    ) -> None:
        model = message.get("modelID")
        created = _ms(as_dict(message.get("time")).get("created"))
        if not isinstance(model, str) or not model or counts.is_zero():
            return
        provider = message.get("providerID")
        provider = provider if isinstance(provider, str) and provider else None
        path = as_dict(message.get("path"))
        project = path.get("root") or path.get("cwd") or row.get("session_directory")
        attrs: dict[str, Any] = {"message_id": row.get("message_id") or key}
        if provider:
            attrs["provider"] = provider
        if isinstance(message.get("mode"), str):
            attrs["agent_mode"] = message["mode"]
        if isinstance(row.get("session_parent"), str):
            attrs["parent_session_id"] = row["session_parent"]
        message_id = row.get("message_id") or key
        self.out.append(
            MetricEvent(
                event_id=stable_id(self.agent, "llm_request", key),
                kind=EventKind.LLM_REQUEST,
                agent=self.agent,
                session_id=session,
                ts_ms=ts,
                run_id=self._run_id(session, message, message_id),
                project=project if isinstance(project, str) and project else None,
                model=model,
                **counts.fields(),
                cost_nusd=cost_nusd(model, counts, provider),
                # OpenCode writes 0 for a model it has no price for: that is no figure at all
                recorded_cost_nusd=nusd_from_usd(cost) or None,
                context_tokens=counts.all_input,
                duration_ms=duration_ms,
                seq=as_int(row.get("time_updated")),
                dedup_key=stable_id(self.agent, "copy", created, provider, model),
                precedence=precedence,
                attrs=attrs,
            )
        )

    def _run_id(self, session: str, message: dict[str, Any], message_id: object) -> str:
        """The user turn an assistant message answers: its ``parentID`` (the user message);
        a message that names none (old legacy files) is a turn of its own."""
        parent = message.get("parentID")
        turn = parent if isinstance(parent, str) and parent else message_id
        return stable_id(self.agent, "run", session, turn)

    def _error(
        self,
        message_id: str,
        session: str,
        ts: int,
        error: str,
        model: object,
        row: dict[str, Any],
        run_id: str,
    ) -> None:
        """A failed response (``error.name``: APIError, ProviderAuthError, ...); never its text."""
        self.out.append(
            MetricEvent(
                event_id=stable_id(self.agent, "api_error", message_id),
                kind=EventKind.API_ERROR,
                agent=self.agent,
                session_id=session,
                ts_ms=ts,
                run_id=run_id,
                model=model if isinstance(model, str) else None,
                ok=False,
                error_class=error,
                seq=as_int(row.get("time_updated")),
                attrs={"message_id": message_id},
            )
        )

    def _tool(self, row: dict[str, Any], data: dict[str, Any]) -> None:
        call_id, session = data.get("callID"), row.get("session_id")
        if not isinstance(call_id, str) or not isinstance(session, str):
            return
        state = as_dict(data.get("state"))
        times = as_dict(state.get("time"))
        start, end = _ms(times.get("start")), _ms(times.get("end"))
        ts = start or _ms(row.get("time_created"))
        if ts is None:
            return
        status = state.get("status")
        self.out.append(
            MetricEvent(
                event_id=stable_id(self.agent, "tool_call", session, call_id),
                kind=EventKind.TOOL_CALL,
                agent=self.agent,
                session_id=session,
                ts_ms=ts,
                run_id=self._run_id(session, _json(row.get("message")), row.get("message_id")),
                tool_name=data.get("tool") if isinstance(data.get("tool"), str) else None,
                ok=TOOL_OK.get(status) if isinstance(status, str) else None,
                duration_ms=float(end - start) if start and end else None,
                seq=as_int(row.get("time_updated")),
                attrs={
                    "tool_call_id": call_id,
                    "message_id": row.get("message_id"),
                    "tool_status": status,
                },
            )
        )


def _json_field(path: str, table: str = "t") -> str:
    return f"json_extract({table}.data, '$.{path}')"


def _valid_and(path: str, value: str) -> str:
    """A filter that never lets a malformed ``data`` value fail the whole query."""
    return f"CASE WHEN json_valid(t.data) THEN {_json_field(path)} END = '{value}'"


# Only the metric fields of ``data`` leave SQLite: text lives in parts, and parts' text never
# is selected at all.
_MESSAGE_FIELDS = ("role", "modelID", "providerID", "time", "tokens", "cost", "path", "parentID")
_SESSION = (
    "s.time_created AS session_created",
    "s.parent_id AS session_parent",
    "s.directory AS session_directory",
)


def _metric_fields(table: str, fields: tuple[str, ...]) -> str:
    return ", ".join(f"'{f}', {_json_field(f, table)}" for f in fields)


MESSAGES = RowQuery(
    table="message",
    columns=(
        "t.id AS id",
        "t.session_id AS session_id",
        "t.time_created AS time_created",
        "t.time_updated AS time_updated",
        f"json_object({_metric_fields('t', (*_MESSAGE_FIELDS, 'mode'))}, "
        f"'error', json_object('name', {_json_field('error.name')})) AS data",
        *_SESSION,
    ),
    joins="LEFT JOIN session AS s ON s.id = t.session_id",
    where=_valid_and("role", "assistant"),
    key_types=("number", "text"),
)
PARTS = RowQuery(
    table="part",
    columns=(
        "t.id AS id",
        "t.message_id AS message_id",
        "t.session_id AS session_id",
        "t.time_created AS time_created",
        "t.time_updated AS time_updated",
        f"json_object({_metric_fields('t', ('type', 'tool', 'callID', 'tokens', 'cost'))}, "
        f"'state', json_object('status', {_json_field('state.status')}, "
        f"'time', {_json_field('state.time')})) AS data",
        f"CASE WHEN json_valid(m.data) THEN json_object("
        f"{_metric_fields('m', ('modelID', 'providerID', 'time', 'path', 'parentID', 'mode'))})"
        f" END AS message",
        *_SESSION,
    ),
    joins="LEFT JOIN message AS m ON m.id = t.message_id "
    "LEFT JOIN session AS s ON s.id = t.session_id",
    where=f"{_valid_and('type', 'tool')} OR {_valid_and('type', 'step-finish')}",
    key_types=("number", "text"),
)


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


def _session_folder(path: Path) -> str:
    return path.parent.name  # storage/message/<sessionID>/<messageID>.json


def store_streams(agent: str, databases: tuple[str, ...], legacy: bool) -> tuple[StreamSpec, ...]:
    """The streams of an OpenCode-format store: messages, step and tool parts, legacy files."""

    def convert(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        return OpenCodeStore(agent, context).events(records)

    streams: tuple[StreamSpec, ...] = (
        StreamSpec("messages", SqliteRowReader(MESSAGES), databases, _shared, convert, True),
        StreamSpec("parts", SqliteRowReader(PARTS), databases, _shared, convert, True),
    )
    if legacy:
        files = ("storage/message/*/*.json",)
        spec = StreamSpec(
            "legacy_message", JsonDocumentReader(None), files, _session_folder, convert
        )
        streams += (spec,)
    return streams


class OpenCodeAgent(Agent):
    name = AGENT
    display_name = "OpenCode"
    locations = Roots(default=("$XDG_DATA_HOME/opencode",), overrides=("$OPENCODE_DATA_DIR",))
    # The data folder also holds git snapshots that change with every step: the database is
    # watched in the root itself, the legacy files (no longer written) are found by sweeps.
    recursive = False
    upload_attrs: ClassVar[Mapping[str, type]] = {
        "tool_call_id": str,
        "tool_status": str,
        "parent_session_id": str,
        "provider": str,
        "agent_mode": str,
    }
    streams = store_streams(AGENT, ("opencode.db", "opencode-*.db"), legacy=True)

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """ccusage's ``OPENCODE_DATA_DIR`` is a comma-separated list."""
        return listed_dirs(env, platform, "OPENCODE_DATA_DIR") or super().resolve_roots(
            env, platform
        )
