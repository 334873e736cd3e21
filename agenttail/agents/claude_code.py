"""Claude Code: ``~/.claude/projects/<escaped-cwd>/<session>.jsonl`` transcripts.

Claude Code writes one line per content block of an API response and repeats the whole usage
on each, so one request is keyed by ``message.id`` alone across every file (a resumed or
replayed copy carries the same id with a new ``requestId``, which is kept as an attribute only).
The store keeps one copy: a main-chain copy beats a sidechain replay, then the largest total
wins. A usage line without ``message.id`` is one event of its own. See agent-formats.md s.2.

A run starts at each user prompt, keyed by the prompt's ``uuid`` alone (a resumed copy of the
prompt is the same run). A subagent's work (its ``subagents/agent-<id>.jsonl`` file
and the ``agent_progress`` copies of it in the parent's file) is the one run its ``agentId``
names, so whichever copy the store keeps, the run is the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import orjson

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec, expand
from agenttail.agents.fields import as_dict
from agenttail.events import (
    EventKind,
    MetricEvent,
    classify_api_error,
    nusd_from_usd,
    parse_iso_ms,
    stable_id,
)
from agenttail.pricing import TokenCounts, cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "claude_code"
SYNTHETIC_MODEL = "<synthetic>"
MAX_PENDING_TOOLS = 2000
RECENT_MESSAGES = 64


def _session_of(path: Path) -> str:
    # <project>/<session>.jsonl, or <project>/<session>/subagents/agent-<id>.jsonl
    if path.parent.name == "subagents":
        return path.parent.parent.name
    return path.stem


def _int(value: object) -> int:
    return value if type(value) is int else 0  # a JSON integer (not a bool)


# ccusage drops a usage line where one of these is null, or an id is an empty string; these
# are synthetic or broken records. Matching its rules keeps the totals comparable.
_NULL_SENSITIVE = (
    "id",
    "cwd",
    "model",
    "speed",
    "costUSD",
    "version",
    "sessionId",
    "requestId",
    "isApiErrorMessage",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
)
_NON_EMPTY = (("sessionId", 0), ("requestId", 0), ("id", 1), ("model", 1))
_VERSION = re.compile(r"\d+\.\d+\.\d")
_SPEEDS = ("standard", "fast")
# Claude Code writes JavaScript's toISOString(); ccusage accepts only that shape (or no fraction).
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?(Z|[+-]\d{2}:\d{2})")


def _valid_counts(usage: dict[str, Any]) -> bool:
    for field in ("input_tokens", "output_tokens"):
        value = usage.get(field)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            return False
    return True


def _usable(
    envelope: dict[str, Any], message: dict[str, Any], usage: dict[str, Any], ts_parsed: bool
) -> bool:
    """Whether a line's usage counts: the validity rules ccusage applies."""
    for part in (envelope, message, usage):
        if None in part.values():  # rare: only then look for the fields that matter
            for field in _NULL_SENSITIVE:
                if field in part and part[field] is None:
                    return False
    for field, level in _NON_EMPTY:
        value = (envelope, message)[level].get(field)
        if value == "" or (
            field == "sessionId" and value is not None and not isinstance(value, str)
        ):
            return False
    version = envelope.get("version")
    if version is not None and not (isinstance(version, str) and _VERSION.match(version)):
        return False
    speed = usage.get("speed")
    if speed is not None and speed not in _SPEEDS:
        return False
    stamp = envelope.get("timestamp")
    return (
        ts_parsed
        and _valid_counts(usage)
        and isinstance(stamp, str)
        and _TIMESTAMP.fullmatch(stamp) is not None
    )


def _tokens(usage: dict[str, Any]) -> TokenCounts:
    """Cache writes come from the 5m/1h split when the split is present, else the flat count."""
    split = usage.get("cache_creation")
    if isinstance(split, dict):
        write_5m = _int(split.get("ephemeral_5m_input_tokens"))
        write_1h = _int(split.get("ephemeral_1h_input_tokens"))
    else:
        write_5m, write_1h = _int(usage.get("cache_creation_input_tokens")), 0
    return TokenCounts(
        input_tokens=_int(usage.get("input_tokens")),
        output_tokens=_int(usage.get("output_tokens")),
        cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=write_1h,
    )


_COMMON_ATTRS = (
    ("gitBranch", "git_branch"),
    ("version", "agent_version"),
    ("agentId", "subagent_id"),
    ("entrypoint", "entrypoint"),
)


def transcript_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return _Transcript(context).events(records)


class ClaudeCodeAgent(Agent):
    name = AGENT
    display_name = "Claude Code"
    locations = Roots(
        default=("~/.claude/projects", "$XDG_CONFIG_HOME/claude/projects"),
        overrides=("$CLAUDE_CONFIG_DIR/projects",),
    )
    streams = (
        StreamSpec(
            kind="transcript",
            reader=JsonlReader(),
            patterns=("*/*.jsonl", "*/*/subagents/*.jsonl"),
            session_id=_session_of,
            converter=transcript_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """CLAUDE_CONFIG_DIR (a comma-separated list) replaces the defaults, as in ccusage."""
        configured = env.get("CLAUDE_CONFIG_DIR", "").strip()
        if not configured:
            return super().resolve_roots(env, platform)
        bases = (expand(p.strip(), env, platform) for p in configured.split(",") if p.strip())
        return [base / "projects" for base in bases if base is not None]


class _Transcript:
    """Walks records in file order, carrying turn and tool state in ``context.state``."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("history", 0)
        self.state.setdefault("tools", {})
        self.state.setdefault("recent", {})
        self.out: list[MetricEvent] = []
        self.requests: dict[str, MetricEvent] = {}  # best copy of each request in this batch
        self.best_copy: dict[str, tuple[int, int, int]] = {}  # message id -> its rank
        self.ts_parsed = False

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            if record.fragments is not None:
                data = salvage_assistant(*record.fragments) or data
            kind = data.get("type")
            if kind == "assistant":
                self._assistant(data)
            elif kind == "user":
                self._user(data)
            elif kind == "system":
                self._system(data)
            elif kind == "progress":
                embedded = as_dict(as_dict(data.get("data")).get("message"))
                if embedded.get("type") == "assistant":
                    self._assistant(embedded, outer=data)
        for event in self.requests.values():  # priced once per request, not per copy
            event.cost_nusd = cost_nusd(event.model, TokenCounts.of(event), "anthropic")
        return self.out + list(self.requests.values())

    # -- helpers ----------------------------------------------------------------------------

    def _base(self, data: dict[str, Any]) -> tuple[str, int, str | None]:
        session = data.get("sessionId")
        session_id = session if isinstance(session, str) and session else self.ref.session_id
        ts = parse_iso_ms(data.get("timestamp"))
        self.ts_parsed = ts is not None
        if ts is None:
            ts = int(self.state.get("last_ts", 0))
        else:
            self.state["last_ts"] = ts
        cwd = data.get("cwd")
        if isinstance(cwd, str) and cwd:
            self.state["project"] = cwd
        return session_id, ts, self.state.get("project")

    @staticmethod
    def _common_attrs(data: dict[str, Any]) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for source, target in _COMMON_ATTRS:
            value = data.get(source)
            if type(value) is str and value:
                attrs[target] = value
        return attrs

    def _emit(
        self,
        kind: EventKind,
        key: str,
        data: dict[str, Any],
        where: tuple[str, int, str | None],
        attrs: dict[str, Any],
        **fields: Any,
    ) -> MetricEvent:
        """Append a non-request event keyed by the agent's own id for it."""
        session_id, ts, project = where
        fields.setdefault("run_id", self.state.get("run_id"))
        event = MetricEvent(
            event_id=stable_id(AGENT, str(kind), key),
            kind=kind,
            agent=AGENT,
            session_id=session_id,
            ts_ms=ts,
            project=project,
            attrs={**attrs, **self._common_attrs(data)},
            **fields,
        )
        self.out.append(event)
        return event

    # -- record kinds -----------------------------------------------------------------------

    def _user(self, data: dict[str, Any]) -> None:
        where = self._base(data)
        session_id = where[0]
        message = as_dict(data.get("message"))
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        for block in results:
            self._tool_result(block, data, where)
        is_prompt = not results and not data.get("isMeta") and not data.get("isCompactSummary")
        if is_prompt and isinstance(data.get("uuid"), str):
            subagent = subagent_run(session_id, data.get("agentId"))
            self.state["run_id"] = subagent or stable_id(AGENT, "run", data["uuid"])
        if not data.get("isMeta"):
            self.state["history"] += 1

    def _tool_result(
        self, block: dict[str, Any], data: dict[str, Any], where: tuple[str, int, str | None]
    ) -> None:
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            return
        pending = self.state["tools"].pop(tool_use_id, None) or {}
        started = pending.get("ts")
        self._emit(
            EventKind.TOOL_CALL,
            tool_use_id,
            data,
            where,
            {"tool_use_id": tool_use_id},
            run_id=pending.get("run_id", self.state.get("run_id")),
            tool_name=pending.get("name"),
            ok=not bool(block.get("is_error")),
            duration_ms=float(where[1] - started) if isinstance(started, int) else None,
            is_sidechain=bool(data.get("isSidechain")),
        )

    def _system(self, data: dict[str, Any]) -> None:
        where = self._base(data)
        subtype = data.get("subtype")
        uuid = data.get("uuid")
        if subtype == "compact_boundary" and isinstance(uuid, str):
            meta = as_dict(data.get("compactMetadata"))
            attrs = {"trigger": meta.get("trigger"), "pre_tokens": meta.get("preTokens")}
            event = self._emit(EventKind.COMPACTION, uuid, data, where, attrs)
            self.state["compaction_id"] = event.event_id
            self.state["history"] = 0
        elif subtype == "turn_duration" and isinstance(uuid, str):
            duration = data.get("durationMs")
            self._emit(
                EventKind.TURN,
                uuid,
                data,
                where,
                {"message_count": data.get("messageCount")},
                duration_ms=float(duration) if isinstance(duration, int | float) else None,
            )

    def _assistant(self, data: dict[str, Any], outer: dict[str, Any] | None = None) -> None:
        # An agent_progress copy takes its timestamp, requestId and isSidechain from the
        # embedded record and its session from the line that carries it.
        envelope = data if outer is None else {**data, "sessionId": outer.get("sessionId")}
        where = self._base(envelope)
        session_id, ts, project = where
        agent_id = (
            data.get("agentId") if outer is None else as_dict(outer.get("data")).get("agentId")
        )
        run_id = subagent_run(session_id, agent_id) or self.state.get("run_id")
        message = as_dict(data.get("message"))
        if data.get("isApiErrorMessage"):
            self._api_error(envelope, where)
            return
        for block in message.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "tool_use":
                self._tool_use(block, ts, run_id)
        usage = message.get("usage")
        if not isinstance(usage, dict):
            return
        tokens = _tokens(usage)
        message_id = message.get("id")
        if isinstance(message_id, str):
            history: int | None = self._history_at(message_id)
            if not self._may_improve(message_id, envelope, tokens):
                return  # a streamed copy no larger than one already taken in this batch
            key = message_id
        else:  # never merged with anything: one event per line
            history = None
            key = f"line:{session_id}:{envelope.get('uuid')}:{ts}"
        if not _usable(envelope, message, usage, self.ts_parsed):
            return
        model = message.get("model")
        if model == SYNTHETIC_MODEL:
            return
        if isinstance(model, str):
            self.state["model"] = model  # an API error that follows is charged to it
        request_id = envelope.get("requestId")
        attrs = self._common_attrs(envelope)
        attrs["message_id"] = message_id
        if isinstance(request_id, str):
            attrs["request_id"] = request_id
        if isinstance(message.get("stop_reason"), str):
            attrs["stop_reason"] = message["stop_reason"]
        for field in ("service_tier", "speed"):
            if isinstance(usage.get(field), str):
                attrs[field] = usage[field]
        compaction = self.state.pop("compaction_id", None)
        if compaction:
            attrs["compaction_id"] = compaction
        sidechain = bool(envelope.get("isSidechain"))
        base = MetricEvent(
            event_id=stable_id(AGENT, "llm_request", key),
            kind=EventKind.LLM_REQUEST,
            agent=AGENT,
            session_id=session_id,
            ts_ms=ts,
            run_id=run_id,
            project=project,
            model=model if isinstance(model, str) else None,
            is_sidechain=sidechain,
            precedence=0 if sidechain else 1,
            recorded_cost_nusd=nusd_from_usd(envelope.get("costUSD")),
            history_len=history,
            attrs=attrs,
        )
        self._request(base, tokens)
        # Advisor sub-calls are billed under their own model (ccusage does the same).
        iterations = usage.get("iterations")
        for index, item in enumerate(iterations if isinstance(iterations, list) else ()):
            if (
                isinstance(item, dict)
                and item.get("type") == "advisor_message"
                and isinstance(item.get("model"), str)
                and _valid_counts(item)
            ):
                advisor = replace(
                    base,
                    event_id=stable_id(AGENT, "llm_request", key, "advisor", index),
                    model=item["model"],
                    recorded_cost_nusd=None,
                    attrs={**attrs, "advisor_of": message_id},
                )
                self._request(advisor, _tokens(item))

    def _request(self, event: MetricEvent, tokens: TokenCounts) -> None:
        event.input_tokens = tokens.input_tokens
        event.output_tokens = tokens.output_tokens
        event.cache_read_tokens = tokens.cache_read_tokens
        event.cache_write_5m_tokens = tokens.cache_write_5m_tokens
        event.cache_write_1h_tokens = tokens.cache_write_1h_tokens
        event.cache_write_tokens = tokens.cache_write_tokens
        event.reasoning_tokens = tokens.reasoning_tokens
        event.context_tokens = tokens.all_input
        known = self.requests.get(event.event_id)
        if known is None or event.outranks(known):
            self.requests[event.event_id] = event
            if "advisor_of" not in event.attrs and isinstance(event.attrs.get("message_id"), str):
                rank = (event.precedence, event.total_tokens, event.output_tokens)
                self.best_copy[event.attrs["message_id"]] = rank

    def _may_improve(self, message_id: str, envelope: dict[str, Any], tokens: TokenCounts) -> bool:
        """Cheap test before building a request: can this copy beat the batch's best copy?"""
        best = self.best_copy.get(message_id)
        rank = (
            0 if envelope.get("isSidechain") else 1,
            tokens.all_input + tokens.output_tokens,
            tokens.output_tokens,
        )
        if best is not None and rank <= best:
            return False
        self.best_copy[message_id] = rank
        return True

    def _history_at(self, message_id: str) -> int:
        """Messages in context when this request went out (same for every streamed copy)."""
        recent: dict[str, int] = self.state["recent"]
        if message_id in recent:
            return recent[message_id]
        history = int(self.state["history"])
        recent[message_id] = history
        if len(recent) > RECENT_MESSAGES:
            del recent[next(iter(recent))]
        self.state["history"] = history + 1
        return history

    def _tool_use(self, block: dict[str, Any], ts: int, run_id: str | None) -> None:
        tool_id = block.get("id")
        if not isinstance(tool_id, str):
            return
        tools: dict[str, Any] = self.state["tools"]
        if tool_id not in tools:
            tools[tool_id] = {
                "name": block.get("name"),
                "ts": ts,
                "run_id": run_id,
            }
            if len(tools) > MAX_PENDING_TOOLS:
                del tools[next(iter(tools))]

    def _api_error(self, data: dict[str, Any], where: tuple[str, int, str | None]) -> None:
        uuid = data.get("uuid")
        if not isinstance(uuid, str):
            return
        status = data.get("apiErrorStatus")
        error = data.get("error")
        content = as_dict(data.get("message")).get("content")
        first = content[0] if isinstance(content, list) and content else None
        text = first.get("text") if isinstance(first, dict) else None
        self._emit(
            EventKind.API_ERROR,
            uuid,
            data,
            where,
            {
                "status": status if isinstance(status, int) else None,
                "error": error if isinstance(error, str) else None,
            },
            ok=False,
            is_sidechain=bool(data.get("isSidechain")),
            model=self.state.get("model"),
            error_class=classify_api_error(
                status if isinstance(status, int) else None,
                error if isinstance(error, str) else None,
                text if isinstance(text, str) else None,
            ),
        )


def subagent_run(session_id: str, agent_id: object) -> str | None:
    """The run of a subagent's work (None for the main chain, which has no ``agentId``)."""
    if not isinstance(agent_id, str) or not agent_id:
        return None
    return stable_id(AGENT, "run", session_id, "subagent", agent_id)


_STRING = rb'\s*:\s*"((?:[^"\\]|\\.)*)"'
_USAGE_OPEN = re.compile(rb'"usage"\s*:\s*\{')
_MESSAGE_OPEN = re.compile(rb'"message"\s*:\s*\{')
_SIDECHAIN = re.compile(rb'"isSidechain"\s*:\s*true')


def _json_string(field: str, blob: bytes, *, last: bool = False) -> str | None:
    """The string value of ``"field": "..."`` in a JSON fragment (first or last one)."""
    pattern = b'"' + field.encode() + b'"' + _STRING
    matches = list(re.finditer(pattern, blob)) if last else []
    match = matches[-1] if matches else (None if last else re.search(pattern, blob))
    if match is None:
        return None
    try:
        value = orjson.loads(b'"' + match.group(1) + b'"')
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, str) else None


def _object_end(blob: bytes, start: int) -> int | None:
    """Index just past the JSON object opening at ``start`` (usage holds no string braces)."""
    depth = 0
    for index in range(start, len(blob)):
        char = blob[index]
        if char == 0x7B:  # {
            depth += 1
        elif char == 0x7D:  # }
            depth -= 1
            if depth == 0:
                return index + 1
    return None


def salvage_assistant(head: bytes, tail: bytes) -> dict[str, Any] | None:
    """The metric fields of an assistant line too long to parse, from its two ends.

    Claude Code writes the envelope and ``message.id``/``model`` before the (huge) content and
    ``usage``, ``requestId``, ``type`` and ``timestamp`` after it, so both ends suffice.
    """
    opened = list(_USAGE_OPEN.finditer(tail))
    if not opened:
        return None
    begin = opened[-1].end() - 1
    end = _object_end(tail, begin)
    if end is None:
        return None
    try:
        usage = orjson.loads(tail[begin:end])
    except orjson.JSONDecodeError:
        return None
    after = tail[end:]
    split = _MESSAGE_OPEN.search(head)
    envelope = head[: split.start()] if split else head
    message_part = head[split.end() :] if split else b""

    def top(field: str) -> str | None:
        return _json_string(field, after, last=True) or _json_string(field, envelope)

    if top("type") != "assistant" or not isinstance(usage, dict):
        return None
    message: dict[str, Any] = {"usage": usage}
    for field in ("id", "model"):
        value = _json_string(field, message_part)
        if value is not None:
            message[field] = value
    record: dict[str, Any] = {
        "type": "assistant",
        "isSidechain": _SIDECHAIN.search(envelope) is not None,
        "message": message,
    }
    for field in ("requestId", "timestamp", "uuid", "sessionId", "version", "cwd", "gitBranch"):
        value = top(field)
        if value is not None:
            record[field] = value
    return record
