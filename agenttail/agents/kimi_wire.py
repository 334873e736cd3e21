"""Kimi CLI's ``wire.jsonl`` (every message between the agent loop and its UI) -> events.

Lines are ``{"timestamp": <seconds>, "message": {"type": T, "payload": {...}}}`` after a
``{"type": "metadata", "protocol_version": ...}`` header. Each model step sends a
``StatusUpdate`` whose ``token_usage{input_other, output, input_cache_read,
input_cache_creation}`` is that one request (``input_other`` excludes cache traffic) and whose
``message_id`` is the provider's response id. ``ToolCall``/``ToolResult`` pair by id;
``StepRetry`` records a failed attempt.

The same request can be written several times: a fork copies the wire lines verbatim into a
new session, and a subagent's steps appear in its own ``subagents/<id>/wire.jsonl`` and again
wrapped in a ``SubagentEvent`` in the parent's wire. A request is keyed by ``message_id`` (its
timestamp and counts when absent), never by file, so every copy lands on one event; the
parent's copy outranks the subagent file's, as only it knows the user turn (``TurnBegin``).
agent-formats-more.md section 2.14.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record

MAX_PENDING_TOOLS = 2000
KIMI_K2_6_FROM_MS = 1_776_698_890_072
WRAPPED_COPY = 2


def wire_tokens(usage: dict[str, Any]) -> TokenCounts:
    return TokenCounts(
        input_tokens=as_int(usage.get("input_other")),
        output_tokens=as_int(usage.get("output")),
        cache_read_tokens=as_int(usage.get("input_cache_read")),
        cache_write_5m_tokens=as_int(usage.get("input_cache_creation")),
    )


def priced_model(model: str | None, ts_ms: int) -> str | None:
    """``kimi-for-coding`` (the subscription's alias) is priced as the model it served then:
    Kimi K2.5, and K2.6 from 2026-04-20 15:28:10 UTC (ccusage's cutoff)."""
    if model != "kimi-for-coding":
        return model
    return "kimi-k2.5" if ts_ms < KIMI_K2_6_FROM_MS else "kimi-k2.6"


def seconds_to_ms(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return None
    return int(value * 1000) if value > 0 else None


class KimiWire:
    """Walks one wire file, carrying the turn and pending tool calls in ``context.state``."""

    def __init__(
        self,
        agent: str,
        context: AgentContext,
        model: str | None,
        project: str | None,
        subagent: str | None = None,
    ) -> None:
        self.agent = agent
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("tools", {})
        self.model = model
        self.project = project
        self.subagent = subagent
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            if data.get("type") == "metadata":
                continue
            ts = seconds_to_ms(data.get("timestamp"))
            if ts is None:
                ts = int(self.state.get("last_ts", 0))
            else:
                self.state["last_ts"] = ts
            self._message(as_dict(data.get("message")), ts, self.subagent)
        return self.out

    def _message(self, message: dict[str, Any], ts: int, subagent: str | None) -> None:
        kind = message.get("type")
        payload = as_dict(message.get("payload"))
        if kind == "TurnBegin" and subagent is None:
            self.state["turn"] = int(self.state.get("turn", 0)) + 1
            self.state["run_id"] = stable_id(self.agent, "run", ts)  # a fork copy: the same run
        elif kind == "StatusUpdate":
            usage = payload.get("token_usage")
            if isinstance(usage, dict):
                self._request(payload, usage, ts, subagent)
        elif kind == "SubagentEvent":
            agent_id = payload.get("agent_id")
            self._message(
                as_dict(payload.get("event")), ts, agent_id if isinstance(agent_id, str) else ""
            )
        elif kind == "ToolCall" and subagent is None:
            self._tool_call(payload, ts)
        elif kind == "ToolResult" and subagent is None:
            self._tool_result(payload, ts)
        elif kind == "StepRetry" and subagent is None:
            error = payload.get("error_type")
            status = payload.get("status_code")
            self._emit(
                EventKind.API_ERROR,
                stable_id(self.agent, "api_error", self.ref.session_id, ts, payload.get("n")),
                ts,
                ok=False,
                error_class=error if isinstance(error, str) else None,
                attrs={
                    "error": error if isinstance(error, str) else None,
                    "status": status if isinstance(status, int) else None,
                },
            )

    def _request(
        self, payload: dict[str, Any], usage: dict[str, Any], ts: int, subagent: str | None
    ) -> None:
        tokens = wire_tokens(usage)
        if tokens.all_input + tokens.output_tokens == 0:
            return
        message_id = payload.get("message_id")
        if isinstance(message_id, str) and message_id:
            event_id = stable_id(self.agent, "llm_request", message_id)
        else:  # what the step is: fork copies keep their timestamps and counts
            event_id = stable_id(self.agent, "llm_request", ts, *tokens.fields().values())
        attrs: dict[str, Any] = {}
        if isinstance(message_id, str) and message_id:
            attrs["message_id"] = message_id
        if subagent is not None or self.subagent is not None:
            attrs["subagent_id"] = subagent or self.subagent
        self._emit(
            EventKind.LLM_REQUEST,
            event_id,
            ts,
            model=self.model,
            cost_nusd=cost_nusd(priced_model(self.model, ts), tokens, "moonshotai"),
            context_tokens=tokens.all_input,
            is_sidechain=subagent is not None or self.subagent is not None,
            # the parent's copy knows the user turn that launched the subagent; its own file
            # does not (its TurnBegin is the task the parent gave it)
            precedence=WRAPPED_COPY if subagent is not None and self.subagent is None else 1,
            attrs=attrs,
            **tokens.fields(),
        )

    def _tool_call(self, payload: dict[str, Any], ts: int) -> None:
        call_id = payload.get("id")
        if not isinstance(call_id, str) or not call_id:
            return
        name = as_dict(payload.get("function")).get("name")
        tools: dict[str, Any] = self.state["tools"]
        tools[call_id] = {
            "ts": ts,
            "name": name if isinstance(name, str) else None,
            "run_id": self.state.get("run_id"),
        }
        if len(tools) > MAX_PENDING_TOOLS:
            del tools[next(iter(tools))]

    def _tool_result(self, payload: dict[str, Any], ts: int) -> None:
        call_id = payload.get("tool_call_id")
        if not isinstance(call_id, str) or not call_id:
            return
        pending = as_dict(self.state["tools"].pop(call_id, None))
        started = pending.get("ts")
        self._emit(
            EventKind.TOOL_CALL,
            stable_id(self.agent, "tool_call", call_id, started if started is not None else ts),
            ts,
            run_id=pending.get("run_id", self.state.get("run_id")),
            tool_name=pending.get("name"),
            ok=not bool(as_dict(payload.get("return_value")).get("is_error")),
            duration_ms=float(ts - started) if isinstance(started, int) else None,
            attrs={"tool_use_id": call_id},
        )

    def _emit(self, kind: EventKind, event_id: str, ts: int, **fields: Any) -> None:
        fields.setdefault("run_id", self.state.get("run_id"))
        self.out.append(
            MetricEvent(
                event_id=event_id,
                kind=kind,
                agent=self.agent,
                session_id=self.ref.session_id,
                ts_ms=ts,
                project=self.project,
                **fields,
            )
        )
