"""Zed agent threads: rows of ``threads.db`` whose ``data`` is zstd-compressed JSON.

Table ``threads(id, parent_id, folder_paths, summary, updated_at, data_type, data, created_at)``;
a thread is one row, upserted on every save (zed-industries/zed ``crates/agent/src/db.rs``).
The JSON (``DbThread``, version 0.3.0) carries ``model {provider, model}``,
``cumulative_token_usage`` (the thread's total) and ``request_token_usage`` (per user message)
as ``{input_tokens, output_tokens, cache_creation_input_tokens, cache_read_input_tokens}``
(Anthropic meaning; zero fields omitted). The per-message map does not cover every request, so
one remainder event per thread brings the thread to its cumulative total exactly
(agent-formats-more.md 2.17; codeburn's reading of a real store). Neither has a timestamp:
events carry the row's ``updated_at``, so day attribution inside a long thread is approximate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import fields
from pathlib import Path
from typing import Any

import orjson

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, parse_iso_ms, stable_id
from agenttail.lazy_log import LazyLogger
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.sqlite_rows import RowQuery, SqliteRowReader

MAX_THREAD_BYTES = 256 * 1024 * 1024
REMAINDER = "remainder"
# Never ``summary`` (the thread's title).
THREAD_COLUMNS = ("id", "parent_id", "folder_paths", "updated_at", "data_type", "data")
# Rows are upserted on every save with a new RFC 3339 ``updated_at`` (text: no numeric overlap).
THREADS = RowQuery("threads", THREAD_COLUMNS, order=("updated_at", "id"), overlap=0)
log = LazyLogger(__name__)


class ThreadDataError(ValueError):
    """A thread row whose payload cannot be read (unknown type, bad zstd, not JSON)."""


def decode_thread(data_type: object, data: object) -> dict[str, Any]:
    """The thread JSON of a row: ``zstd`` frames are decompressed, ``json`` taken as is."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not isinstance(data, bytes):
        raise ThreadDataError("thread data is not a blob")
    if data_type == "zstd":
        import zstandard  # imported on first use: only Zed needs it

        try:
            reader = zstandard.ZstdDecompressor().decompressobj()
            data = reader.decompress(data)
        except zstandard.ZstdError as exc:
            raise ThreadDataError(f"bad zstd frame: {exc}") from exc
        if len(data) > MAX_THREAD_BYTES:
            raise ThreadDataError("thread larger than the cap")
    elif data_type != "json":
        raise ThreadDataError(f"unknown data_type {data_type!r}")
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ThreadDataError("thread is not JSON") from exc
    if not isinstance(value, dict):
        raise ThreadDataError("thread is not a JSON object")
    return value


def usage_tokens(value: object) -> TokenCounts:
    usage = as_dict(value)
    return TokenCounts(
        input_tokens=as_int(usage.get("input_tokens")),
        output_tokens=as_int(usage.get("output_tokens")),
        cache_read_tokens=as_int(usage.get("cache_read_input_tokens")),
        cache_write_5m_tokens=as_int(usage.get("cache_creation_input_tokens")),
    )


def _per_request(thread: dict[str, Any]) -> Iterator[tuple[str, TokenCounts]]:
    """(key, tokens) per entry: a map by user message id (0.3.0) or a list (legacy threads)."""
    usage = thread.get("request_token_usage")
    if isinstance(usage, dict):
        for key, value in usage.items():
            yield str(key), usage_tokens(value)
    elif isinstance(usage, list):
        for index, value in enumerate(usage):
            yield f"#{index}", usage_tokens(value)


def _floored_rest(total: TokenCounts, parts: list[TokenCounts]) -> TokenCounts:
    """What ``total`` has beyond the sum of ``parts``, field by field, never below zero."""
    names = [f.name for f in fields(TokenCounts)]
    seen = TokenCounts(*(sum(getattr(p, name) for p in parts) for name in names))
    rest = total.minus(seen)
    return TokenCounts(*(max(0, getattr(rest, name)) for name in names))


def first_folder(folder_paths: object) -> str | None:
    """The first workspace folder of a thread (``folder_paths`` holds one per line)."""
    if not isinstance(folder_paths, str) or not folder_paths.strip():
        return None
    return folder_paths.strip().splitlines()[0] or None


def thread_events(agent: str, row: dict[str, Any], thread: dict[str, Any]) -> list[MetricEvent]:
    """Requests (one per user message, plus the remainder) and tool calls of one thread row."""
    thread_id = str(row.get("id") or "")
    ts = parse_iso_ms(row.get("updated_at")) or parse_iso_ms(thread.get("updated_at"))
    if not thread_id or ts is None:
        return []
    model_info = as_dict(thread.get("model"))
    model = model_info.get("model") if isinstance(model_info.get("model"), str) else None
    project = first_folder(row.get("folder_paths"))
    parent = row.get("parent_id") if isinstance(row.get("parent_id"), str) else None
    common: dict[str, Any] = {"agent": agent, "session_id": thread_id, "ts_ms": ts}
    common.update(project=project, model=model, is_sidechain=parent is not None)
    attrs = {"parent_session_id": parent} if parent else {}
    events: list[MetricEvent] = []
    turns: list[TokenCounts] = []
    for key, tokens in _per_request(thread):
        turns.append(tokens)
        run = _run_id(agent, thread_id, key)
        events.append(_request(stable_id(agent, thread_id, key), run, tokens, common, attrs))
    rest = _floored_rest(usage_tokens(thread.get("cumulative_token_usage")), turns)
    users = _user_message_ids(thread)
    if rest.all_input + rest.output_tokens > 0:
        # requests no user message accounts for: the thread's latest turn
        run = _run_id(agent, thread_id, users[-1] if users else None)
        rest_attrs = {**attrs, "remainder": True}
        event_id = stable_id(agent, thread_id, REMAINDER)
        events.append(_request(event_id, run, rest, common, rest_attrs))
    events.extend(_tools(agent, thread, common))
    return events


def _run_id(agent: str, thread_id: str, user_message: str | None) -> str:
    """A turn: the user message that ``request_token_usage`` keys and the tools answer to
    (the thread's start before any user message)."""
    return stable_id(agent, "run", thread_id, user_message)


def _user_message_ids(thread: dict[str, Any]) -> list[str]:
    messages = thread.get("messages")
    ids = (as_dict(as_dict(m).get("User")).get("id") for m in _list(messages))
    return [i for i in ids if isinstance(i, str) and i]


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _request(
    event_id: str,
    run_id: str,
    tokens: TokenCounts,
    common: dict[str, Any],
    attrs: dict[str, Any],
) -> MetricEvent:
    return MetricEvent(
        event_id=event_id,
        kind=EventKind.LLM_REQUEST,
        run_id=run_id,
        cost_nusd=cost_nusd(common["model"], tokens),
        attrs=dict(attrs),
        **common,
        **tokens.fields(),
    )


def _tools(agent: str, thread: dict[str, Any], common: dict[str, Any]) -> Iterator[MetricEvent]:
    """Tool uses of agent messages (``{"Agent": {content: [{"ToolUse": ...}], tool_results}}``),
    each in the turn of the user message before it."""
    user: str | None = None
    for message in _list(thread.get("messages")):
        user_id = as_dict(as_dict(message).get("User")).get("id")
        if isinstance(user_id, str) and user_id:
            user = user_id
        body = as_dict(as_dict(message).get("Agent"))
        results = as_dict(body.get("tool_results"))
        content = body.get("content")
        for part in content if isinstance(content, list) else []:
            use = as_dict(as_dict(part).get("ToolUse"))
            tool_id, name = use.get("id"), use.get("name")
            if not isinstance(tool_id, str) or not isinstance(name, str):
                continue
            result = results.get(tool_id)
            ok = None if not isinstance(result, dict) else result.get("is_error") is not True
            yield MetricEvent(
                event_id=stable_id(agent, common["session_id"], "tool", tool_id),
                kind=EventKind.TOOL_CALL,
                run_id=_run_id(agent, common["session_id"], user),
                tool_name=name,
                ok=ok,
                **common,
            )


def thread_rows_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    """Rows of ``threads`` (each the whole thread again after every save)."""
    events: list[MetricEvent] = []
    for record in records:
        row = record.data
        try:
            thread = decode_thread(row.get("data_type"), row.get("data"))
        except ThreadDataError as exc:
            log.warning("zed_thread_unreadable", thread=row.get("id"), error=str(exc))
            continue
        events.extend(thread_events(context.stream.agent, row, thread))
    return events


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


class ZedAgent(Agent):
    name = "zed"
    display_name = "Zed agent"
    locations = Roots(
        linux=("$XDG_DATA_HOME/zed",),
        darwin=("~/Library/Application Support/Zed",),
        win32=("%LOCALAPPDATA%/Zed",),
    )
    streams = (
        StreamSpec(
            "threads",
            SqliteRowReader(THREADS, max_batch=100),
            ("threads/threads.db",),
            _shared,
            thread_rows_events,
            shared=True,
        ),
    )
