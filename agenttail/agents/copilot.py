"""GitHub Copilot in VS Code-family editors: chat sessions, event transcripts, OTel trace DB.

Streams (agent-formats.md section 3):
- ``transcript``: ``chatSessions/<id>.json`` (rewritten whole), ``chatSessions/<id>.jsonl``
  (mutation log), ``GitHub.copilot-chat/transcripts/<id>.jsonl`` (event stream);
- ``otel_traces``: ``globalStorage/github.copilot-chat/agent-traces.db``, one shared task per
  database for every session in it.

A session's tokens, tool calls and turns may be seen in several of them. Each kind has one
``dedup_key`` group per session; trace rows have precedence 1 and session-file rows 0, so the
store counts the trace rows whenever the session has any, else the file rows: never both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, StreamSpec, home_dir
from agenttail.agents.copilot_events import (
    FILE_PRECEDENCE,
    TRACE_PRECEDENCE,
    EventStream,
    copy_group,
    strip_model,
    trace_run_id,
    turn_run_id,
)
from agenttail.agents.fields import as_dict, as_int
from agenttail.agents.vscode_paths import PORTABLE_ENV, USER_ROOTS, user_dirs, workspace_project
from agenttail.events import EventKind, MetricEvent, stable_id
from agenttail.pricing import TokenCounts, cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import HEADER_POSITION, JsonDocumentReader
from agenttail.readers.jsonl import JsonlReader
from agenttail.readers.mutation_log import MutationLogReader, Projection, Shape
from agenttail.readers.sqlite_spans import SqliteSpanReader

AGENT = "copilot"
UNKNOWN_SESSION = "unknown"
STATUS_ERROR = 2  # OTel StatusCode.ERROR
CACHE_WRITE_ATTR = "gen_ai.usage.cache_creation.input_tokens"
MAX_RECENT_SPANS = 20_000
MAX_PROJECT_CACHE = 4096


def _ci(name: str) -> str:
    """A glob matching ``name`` in any letter case (the extension folder's case varies)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else c for c in name)


CHAT_EXT = _ci("github.copilot-chat")
SESSION_FOLDERS = (
    "workspaceStorage/*/chatSessions",
    "globalStorage/emptyWindowChatSessions",
    "profiles/*/globalStorage/emptyWindowChatSessions",
)

# What the mutation-log replay keeps of a chat session (never prompts or responses).
_REQUEST_SHAPE: Shape = {
    "requestId": True,
    "timestamp": True,
    "modelId": True,
    "modelState": True,
    "result": {
        "timings": True,
        "errorDetails": True,
        "promptTokens": True,
        "outputTokens": True,
        "usage": {"promptTokens": True, "completionTokens": True},
        "metadata": {
            "promptTokens": True,
            "outputTokens": True,
            "resolvedModel": True,
            "sessionId": True,
        },
    },
}
SESSION_SHAPE: Shape = {
    "sessionId": True,
    "creationDate": True,
    "inputState": {"selectedModel": {"identifier": True}},
    "requests": [_REQUEST_SHAPE],
}


def _stem(path: Path) -> str:
    return path.stem


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


def _workspace_dir(path: Path) -> Path | None:
    """``workspaceStorage/<hash>`` above a chat session or transcript file, if any."""
    for parent in path.parents:
        if parent.parent.name == "workspaceStorage":
            return parent
    return None


def _user_dir(path: Path) -> Path:
    for parent in path.parents:
        if parent.name == "User":
            return parent
    return path.parents[2]


_projects: dict[tuple[str, str], str | None] = {}


def project_of(db_path: Path, session_id: str) -> str | None:
    """The workspace folder of a trace session: where its chat session file lives."""
    user = _user_dir(db_path)
    key = (str(user), session_id)
    if key in _projects:
        return _projects[key]
    project = None
    if session_id != UNKNOWN_SESSION:
        storage = user / "workspaceStorage"
        patterns = (
            f"*/chatSessions/{session_id}.json",
            f"*/chatSessions/{session_id}.jsonl",
            f"*/{CHAT_EXT}/transcripts/{session_id}.jsonl",
        )
        for pattern in patterns:
            match = next(iter(storage.glob(pattern)), None) if storage.is_dir() else None
            if match is not None:
                workspace = _workspace_dir(match)
                project = workspace_project(workspace) if workspace else None
                break
    if len(_projects) >= MAX_PROJECT_CACHE:
        _projects.clear()
    _projects[key] = project
    return project


def _session_project(context: AgentContext) -> str | None:
    """The workspace of a session file, looked up once per stream."""
    state = context.state.data
    if "project" not in state:
        workspace = _workspace_dir(context.stream.path)
        state["project"] = workspace_project(workspace) if workspace else None
    project = state["project"]
    return project if isinstance(project, str) else None


def chat_document_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    _session_project(context)
    return _ChatDocument(context).events(records)


def chat_log_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    _session_project(context)
    return _ChatLog(context).events(records)


def transcript_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return EventStream(AGENT, context, _session_project(context)).events(records)


def span_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return _Spans(context).events(records)


class CopilotAgent(Agent):
    name = AGENT
    display_name = "GitHub Copilot (VS Code)"
    locations = USER_ROOTS
    service_env = (PORTABLE_ENV,)
    streams = (
        StreamSpec(
            "transcript",
            JsonDocumentReader("requests"),
            tuple(f"{folder}/*.json" for folder in SESSION_FOLDERS),
            _stem,
            chat_document_events,
        ),
        StreamSpec(
            "transcript",
            MutationLogReader(),
            tuple(f"{folder}/*.jsonl" for folder in SESSION_FOLDERS),
            _stem,
            chat_log_events,
        ),
        StreamSpec(
            "transcript",
            JsonlReader(),
            (f"workspaceStorage/*/{CHAT_EXT}/transcripts/*.jsonl",),
            _stem,
            transcript_events,
        ),
        StreamSpec(
            "otel_traces",
            SqliteSpanReader(),
            (
                f"globalStorage/{CHAT_EXT}/agent-traces.db",
                f"profiles/*/globalStorage/{CHAT_EXT}/agent-traces.db",
            ),
            _shared,
            span_events,
            shared=True,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """Every VS Code variant, remote server folder and portable install."""
        return user_dirs(env, home_dir(env, platform), platform)


# -- chat session files -----------------------------------------------------------------------


def request_events(
    session_id: str,
    request: dict[str, Any],
    document: dict[str, Any],
    project: str | None,
    index: int,
) -> list[MetricEvent]:
    """A completed chat request (the ``index``-th of its session): its turn, and its tokens
    (``tokens_known`` False when the file has none: it still counts as a request, never as
    silent zeros)."""
    request_id = request.get("requestId")
    result = request.get("result")
    if not isinstance(request_id, str) or not isinstance(result, dict):
        return []  # still streaming: derived again when the result is written
    # The request's own time, else when its response completed, else the session's start; a
    # request with none of them is skipped as invalid (no timestamp), never put on 1970-01-01.
    ts = (
        as_int(request.get("timestamp"))
        or as_int(as_dict(request.get("modelState")).get("completedAt"))
        or as_int(document.get("creationDate"))
    )
    selected = as_dict(as_dict(document.get("inputState")).get("selectedModel"))
    model = strip_model(request.get("modelId")) or strip_model(selected.get("identifier"))
    timings = as_dict(result.get("timings"))
    elapsed = timings.get("totalElapsed")
    first = timings.get("firstProgress")  # ms from the request to its first streamed part
    failed = bool(result.get("errorDetails"))
    attrs: dict[str, Any] = {"request_id": request_id, "source": "chat_session"}
    out = [
        MetricEvent(
            event_id=stable_id(AGENT, "turn", session_id, request_id),
            kind=EventKind.TURN,
            agent=AGENT,
            session_id=session_id,
            ts_ms=ts,
            run_id=turn_run_id(AGENT, session_id, index),
            project=project,
            model=model,
            ok=not failed,
            duration_ms=float(elapsed) if isinstance(elapsed, int | float) else None,
            dedup_key=copy_group(AGENT, "turns", session_id),
            precedence=FILE_PRECEDENCE,
            attrs=attrs,
        )
    ]
    found = recorded_tokens(result)
    tokens = found or TokenCounts()
    out.append(
        MetricEvent(
            event_id=stable_id(AGENT, "llm_request", session_id, request_id),
            kind=EventKind.LLM_REQUEST,
            agent=AGENT,
            session_id=session_id,
            ts_ms=ts,
            run_id=turn_run_id(AGENT, session_id, index),
            project=project,
            model=model,
            **tokens.fields(),
            cost_nusd=cost_nusd(model, tokens) if found else None,
            tokens_known=found is not None,
            ok=not failed,
            duration_ms=float(elapsed) if isinstance(elapsed, int | float) else None,
            ttft_ms=float(first) if isinstance(first, int | float) else None,
            context_tokens=tokens.all_input if found else None,
            dedup_key=copy_group(AGENT, "tokens", session_id),
            precedence=FILE_PRECEDENCE,
            attrs=attrs,
        )
    )
    return out


# Where each known Copilot Chat version writes a request's tokens in ``result`` (prompt,
# output): ``metadata`` (IResultMetadata, up to 0.36 and beside the others later), ``usage``
# (ChatResult.usage, 0.37; from 0.38 usage goes to a response-stream part that VS Code does not
# persist), and the top level (older exports). Prompt tokens include cached ones: no split.
_TOKEN_PLACES = (
    (("metadata", "promptTokens"), ("metadata", "outputTokens")),
    (("usage", "promptTokens"), ("usage", "completionTokens")),
    (("promptTokens",), ("outputTokens",)),
)


def recorded_tokens(result: dict[str, Any]) -> TokenCounts | None:
    """The request's tokens from the first place that has them, or None when none does."""
    for prompt_path, output_path in _TOKEN_PLACES:
        prompt, output = _at(result, prompt_path), _at(result, output_path)
        if prompt is not None or output is not None:
            return TokenCounts(input_tokens=as_int(prompt), output_tokens=as_int(output))
    return None


def _at(data: dict[str, Any], path: tuple[str, ...]) -> object:
    value: object = data
    for key in path:
        value = as_dict(value).get(key)
    return value


class _ChatDocument:
    """``chatSessions/<id>.json``: the header record, then the requests (re-derived on change)."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        out: list[MetricEvent] = []
        for record in records:
            if record.position == HEADER_POSITION:
                header = record.data
                self.state["header"] = {
                    "creationDate": header.get("creationDate"),
                    "inputState": as_dict(
                        {"selectedModel": as_dict(header.get("inputState")).get("selectedModel")}
                    ),
                }
                session = header.get("sessionId")
                if isinstance(session, str) and session:
                    self.state["session_id"] = session
                continue
            out += request_events(
                self.state.get("session_id") or self.ref.session_id,
                record.data,
                as_dict(self.state.get("header")),
                self.state.get("project"),
                record.position,
            )
        return out


class _ChatLog:
    """``chatSessions/<id>.jsonl``: replays entries onto the persisted projection."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        projection = Projection(SESSION_SHAPE, self.state.get("doc"))
        for record in records:
            projection.apply(record.data)
        document = projection.document if isinstance(projection.document, dict) else {}
        self.state["doc"] = projection.document
        requests = document.get("requests")
        requests = requests if isinstance(requests, list) else []
        indexes: Sequence[int]
        if projection.replaced or ("requests", None) in projection.touched:
            indexes = range(len(requests))
        else:
            indexes = sorted(
                {i for key, i in projection.touched if key == "requests" and i is not None}
            )
        session = document.get("sessionId")
        session_id = session if isinstance(session, str) and session else self.ref.session_id
        out: list[MetricEvent] = []
        for index in indexes:
            if 0 <= index < len(requests) and isinstance(requests[index], dict):
                out += request_events(
                    session_id, requests[index], document, self.state.get("project"), index
                )
        return out


# -- agent-traces.db --------------------------------------------------------------------------


class _Spans:
    """OTel spans -> events; spans re-read from the overlap window are emitted once."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data
        self.recent: dict[str, float] = self.state.setdefault("recent", {})

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        out: list[MetricEvent] = []
        newest = 0.0
        for record in records:
            span = record.data
            span_id = span.get("span_id")
            end = span.get("end_time_ms")
            if not isinstance(span_id, str) or not isinstance(end, int | float):
                continue
            newest = max(newest, float(end))
            if self.recent.get(span_id) == float(end):
                continue  # already emitted (overlap re-read)
            self.recent[span_id] = float(end)
            event = self._event(span)
            if event is not None:
                out.append(event)
        self._prune(newest)
        return out

    def _prune(self, newest: float) -> None:
        reader = self.ref.spec.reader
        window = getattr(reader, "overlap_ms", 0.0)
        floor = newest - window
        if newest:
            for span_id in [s for s, end in self.recent.items() if end < floor]:
                del self.recent[span_id]
        while len(self.recent) > MAX_RECENT_SPANS:
            del self.recent[next(iter(self.recent))]

    def _event(self, span: dict[str, Any]) -> MetricEvent | None:
        operation = span.get("operation_name")
        if operation not in ("chat", "execute_tool", "invoke_agent"):
            return None
        session = span.get("chat_session_id") or span.get("conversation_id") or UNKNOWN_SESSION
        attrs_in = as_dict(span.get("attributes"))
        start = span.get("start_time_ms")
        end = span.get("end_time_ms")
        start_ms = float(start) if isinstance(start, int | float) else float(end or 0)
        duration = float(end) - start_ms if isinstance(end, int | float) else None
        ok = as_int(span.get("status_code")) != STATUS_ERROR and attrs_in.get(
            "copilot_chat.canceled"
        ) not in ("true", "True", True)
        attrs: dict[str, Any] = {
            "span_id": span["span_id"],
            "trace_id": span.get("trace_id"),
            "parent_span_id": span.get("parent_span_id"),
            "source": "otel_traces",
        }
        for column in ("agent_name", "turn_index", "status_message", "conversation_id"):
            if span.get(column) is not None:
                attrs[column] = span[column]
        for key, value in attrs_in.items():
            if key != CACHE_WRITE_ATTR:
                attrs[key] = value
        common: dict[str, Any] = {
            "event_id": stable_id(AGENT, "span", span["span_id"]),
            "agent": AGENT,
            "session_id": session,
            "ts_ms": int(start_ms),
            "run_id": trace_run_id(AGENT, session, span.get("trace_id")),
            "project": project_of(self.ref.path, session),
            "ok": ok,
            "duration_ms": duration,
            "precedence": TRACE_PRECEDENCE,
            "attrs": attrs,
        }
        if operation == "execute_tool":
            attrs["tool_call_id"] = span.get("tool_call_id")
            attrs["tool_type"] = span.get("tool_type")
            return MetricEvent(
                kind=EventKind.TOOL_CALL,
                tool_name=span.get("tool_name"),
                dedup_key=copy_group(AGENT, "tools", session),
                **common,
            )
        model = span.get("response_model") or span.get("request_model")
        if operation == "invoke_agent":
            # Its token columns repeat its children's chat spans: informational only.
            attrs["reported_input_tokens"] = span.get("input_tokens")
            attrs["reported_output_tokens"] = span.get("output_tokens")
            return MetricEvent(
                kind=EventKind.TURN,
                model=model,
                dedup_key=copy_group(AGENT, "turns", session),
                **common,
            )
        cached = as_int(span.get("cached_tokens"))
        cache_write = as_int(attrs_in.get(CACHE_WRITE_ATTR))
        tokens = TokenCounts(
            input_tokens=max(0, as_int(span.get("input_tokens")) - cached - cache_write),
            output_tokens=as_int(span.get("output_tokens")),
            cache_read_tokens=cached,
            cache_write_5m_tokens=cache_write,
            reasoning_tokens=as_int(span.get("reasoning_tokens")),
        )
        ttft = span.get("ttft_ms")
        error = attrs_in.get("error.type")
        attrs["provider"] = span.get("provider_name")
        return MetricEvent(
            kind=EventKind.LLM_REQUEST,
            model=model,
            **tokens.fields(),
            cost_nusd=cost_nusd(model if isinstance(model, str) else None, tokens),
            ttft_ms=float(ttft) if isinstance(ttft, int | float) else None,
            context_tokens=tokens.all_input,
            error_class=error if isinstance(error, str) and error else None,
            dedup_key=copy_group(AGENT, "tokens", session),
            **common,
        )
