"""Pi's session JSONL (pi-coding-agent, and OpenClaw which embeds it) -> metric events.

A session file starts with ``{type:"session", id, cwd, parentSession?}``; every later line is
an entry ``{type, id, parentId, timestamp}``. Assistant ``message`` entries carry per-request
``usage{input, output, cacheRead, cacheWrite, totalTokens, cost{total}}`` where ``input``
already excludes cache traffic (pi-ai subtracts OpenAI's cached tokens itself).

Forks (``/fork``, ``createBranchedSession``, ``forkFrom``) copy entries verbatim into a new
file, and migrating a version-1 file rewrites it with fresh entry ids, so a request is keyed by
what it is (its timestamps, model and counts), never by the file or the entry id: every copy
lands on one event. Abandoned ``/tree`` branches stay in the file and were billed, so every
assistant entry counts. agent-formats.md section 15, agent-formats-more.md section 2.15.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.fields import as_dict, as_int, with_total_fallback
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

MAX_PENDING_TOOLS = 2000


def session_of_file(path: Path) -> str:
    """``<timestamp>_<uuid>.jsonl`` -> ``<uuid>``, the header id (ccusage reads it alike)."""
    stem = path.name.split(".jsonl", 1)[0]
    return stem.split("_", 1)[1] if "_" in stem else stem


def usage_tokens(usage: dict[str, Any]) -> TokenCounts:
    """Pi usage in the house meaning (a total without its parts is output)."""
    tokens = TokenCounts(
        input_tokens=as_int(usage.get("input")),
        output_tokens=as_int(usage.get("output")),
        cache_read_tokens=as_int(usage.get("cacheRead")),
        cache_write_5m_tokens=as_int(usage.get("cacheWrite")),
    )
    return with_total_fallback(tokens, usage.get("totalTokens"))


def price(model: str | None, tokens: TokenCounts, provider: str | None) -> int | None:
    """genai-prices cost; pi's provider ids (``amazon-bedrock``, ``google-vertex``, custom
    ones) are not always genai-prices ids, so an unknown provider falls back to the model."""
    cost = cost_nusd(model, tokens, provider)
    return cost if cost is not None or provider is None else cost_nusd(model, tokens)


class PiSession:
    """Walks one session file's entries, carrying the header, the current model and pending
    tool calls in ``context.state`` across batches."""

    def __init__(self, agent: str, context: AgentContext) -> None:
        self.agent = agent
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("tools", {})
        self.out: list[MetricEvent] = []

    @property
    def session_id(self) -> str:
        return str(self.state.get("session") or self.ref.session_id)

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            kind = data.get("type")
            if kind == "session":
                self._header(data)
            elif kind == "message":
                self._message(data)
            elif kind == "model_change":
                self._model(data)
            elif kind == "custom" and data.get("customType") == "model-snapshot":
                self._model(as_dict(data.get("data")))
        return self.out

    # -- entries ----------------------------------------------------------------------------

    def _header(self, data: dict[str, Any]) -> None:
        for source, target in (("id", "session"), ("cwd", "project")):
            value = data.get(source)
            if isinstance(value, str) and value:
                self.state[target] = value
        parent = data.get("parentSession")
        if isinstance(parent, str) and parent:
            self.state["parent_session"] = session_of_file(Path(parent))

    def _model(self, data: dict[str, Any]) -> None:
        model = data.get("modelId") or data.get("model")
        if isinstance(model, str) and model:
            self.state["model"] = model
        provider = data.get("provider")
        if isinstance(provider, str) and provider:
            self.state["provider"] = provider

    def _ts(self, data: dict[str, Any], message: dict[str, Any]) -> int:
        ts = parse_iso_ms(data.get("timestamp"))
        if ts is None:
            raw = message.get("timestamp")
            ts = raw if isinstance(raw, int) and not isinstance(raw, bool) and raw > 0 else None
        if ts is None:
            return int(self.state.get("last_ts", 0))
        self.state["last_ts"] = ts
        return ts

    def _message(self, data: dict[str, Any]) -> None:
        message = as_dict(data.get("message"))
        role = message.get("role")
        ts = self._ts(data, message)
        if role == "user":
            turn = data.get("id") if isinstance(data.get("id"), str) else ts
            self.state["run_id"] = stable_id(
                self.agent, "run", turn, ts
            )  # a fork copy: the same run
        elif role == "assistant":
            self._assistant(data, message, ts)
        elif role == "toolResult":
            self._tool_result(message, ts)

    def _assistant(self, data: dict[str, Any], message: dict[str, Any], ts: int) -> None:
        for block in message.get("content") or ():
            if isinstance(block, dict) and block.get("type") == "toolCall":
                self._tool_call(block, ts)
        named = message.get("modelId") or message.get("model")  # OpenClaw may write modelId
        model = named if isinstance(named, str) and named else self.state.get("model")
        provider = message.get("provider") if isinstance(message.get("provider"), str) else None
        provider = provider or self.state.get("provider")
        usage = message.get("usage")
        if isinstance(usage, dict):
            tokens = usage_tokens(usage)
            if tokens.all_input + tokens.output_tokens > 0:
                self._request(data, message, usage, tokens, ts, model, provider)
        if message.get("stopReason") == "error":
            self._emit(
                EventKind.API_ERROR,
                stable_id(self.agent, "api_error", data.get("timestamp"), message.get("timestamp")),
                ts,
                model=model,
                ok=False,
                error_class="provider_error",
                attrs={"stop_reason": "error"},
            )

    def _request(
        self,
        data: dict[str, Any],
        message: dict[str, Any],
        usage: dict[str, Any],
        tokens: TokenCounts,
        ts: int,
        model: str | None,
        provider: str | None,
    ) -> None:
        # What the request is, not where it was found: fork copies share every part of it.
        # Only the line's own fields: a model set by an earlier model_change entry may be
        # gone from a copy (OpenClaw archives a transcript's old turns by rewriting it).
        key = stable_id(
            self.agent,
            "llm_request",
            data.get("timestamp"),
            message.get("timestamp"),
            message.get("provider"),
            message.get("modelId") or message.get("model"),
            *(as_int(usage.get(f)) for f in ("input", "output", "cacheRead", "cacheWrite")),
            as_int(usage.get("totalTokens")),
        )
        attrs: dict[str, Any] = {}
        stop = message.get("stopReason")
        if isinstance(stop, str):
            attrs["stop_reason"] = stop
        if provider:
            attrs["provider"] = provider
        self._emit(
            EventKind.LLM_REQUEST,
            key,
            ts,
            model=model,
            cost_nusd=price(model, tokens, provider),
            recorded_cost_nusd=nusd_from_usd(as_dict(usage.get("cost")).get("total")),
            context_tokens=tokens.all_input,
            attrs=attrs,
            **tokens.fields(),
        )

    def _tool_call(self, block: dict[str, Any], ts: int) -> None:
        call_id = block.get("id")
        if not isinstance(call_id, str) or not call_id:
            return
        tools: dict[str, Any] = self.state["tools"]
        if call_id not in tools:
            tools[call_id] = {"ts": ts, "run_id": self.state.get("run_id")}
            if len(tools) > MAX_PENDING_TOOLS:
                del tools[next(iter(tools))]

    def _tool_result(self, message: dict[str, Any], ts: int) -> None:
        call_id = message.get("toolCallId")
        if not isinstance(call_id, str) or not call_id:
            return
        pending = as_dict(self.state["tools"].pop(call_id, None))
        started = pending.get("ts")
        name = message.get("toolName")
        self._emit(
            EventKind.TOOL_CALL,
            stable_id(self.agent, "tool_call", call_id, started if started is not None else ts),
            ts,
            run_id=pending.get("run_id", self.state.get("run_id")),
            tool_name=name if isinstance(name, str) else None,
            ok=not bool(message.get("isError")),
            duration_ms=float(ts - started) if isinstance(started, int) else None,
            attrs={"tool_use_id": call_id},
        )

    def _emit(self, kind: EventKind, event_id: str, ts: int, **fields: Any) -> None:
        fields.setdefault("run_id", self.state.get("run_id"))
        attrs: dict[str, Any] = fields.pop("attrs", {})
        if self.state.get("parent_session"):
            attrs["parent_session_id"] = self.state["parent_session"]
        self.out.append(
            MetricEvent(
                event_id=event_id,
                kind=kind,
                agent=self.agent,
                session_id=self.session_id,
                ts_ms=ts,
                project=self.state.get("project"),
                attrs=attrs,
                **fields,
            )
        )
