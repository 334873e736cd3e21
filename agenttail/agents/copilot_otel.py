"""Copilot's OpenTelemetry JSON-lines file export (``COPILOT_OTEL_FILE_EXPORTER_PATH``).

One line is one span or one log record, attributes a flat object (agent-formats.md section 4):
- span: ``{"type": "span", traceId, spanId, parentSpanId, name, startTime: [s, ns], endTime,
  status: {code}, attributes: {"gen_ai.operation.name": "chat" | "execute_tool" |
  "invoke_agent", ...}, events, resource, instrumentationScope}``;
- log record (an SDK ``LogRecord`` serialized as is): ``{hrTime: [s, ns], spanContext: {traceId,
  spanId}, attributes: {"event.name": ..., ...}, _body}``.

One model call may be reported by a ``chat`` span, a ``gen_ai.client.inference.operation.details``
log and a ``copilot_chat.agent.turn`` log. The best kind present wins: all three share the
session's tokens ``dedup_key`` group (a trace's, for records without a session) with precedence
3 / 2 / 1, above the session's event-stream copies (``assistant.usage`` 0, ``session.shutdown``
totals -1), so the store counts the chat spans when there are any, else the inference logs,
else the turn logs, else the event stream, whichever arrives first. (A session's exporter
settings are fixed for its process, so its traces carry the same kinds; ccusage decides per
trace.) ``invoke_agent`` spans repeat their children's tokens: they become turns only.
Only metric attributes are kept: prompts, replies and tool arguments never leave the record.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.copilot_events import TRACE_PRECEDENCE, copy_group, trace_run_id
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, parse_iso_ms, stable_id
from agenttail.pricing import TokenCounts, cost_nusd
from agenttail.readers.base import Record

UNKNOWN_SESSION = "unknown"
STATUS_ERROR = 2  # OTel StatusCode.ERROR
MAX_TRACES = 2000  # trace -> (session, model) kept for records that lack them

CHAT_SPAN, INFERENCE_LOG, TURN_LOG = 3, 2, 1  # precedence within a tokens group
INFERENCE_EVENT = "gen_ai.client.inference.operation.details"
TURN_EVENT = "copilot_chat.agent.turn"
SESSION_KEYS = (
    "gen_ai.conversation.id",
    "copilot_chat.session_id",
    "copilot_chat.chat_session_id",
    "session.id",
)
MODEL_KEYS = ("gen_ai.response.model", "gen_ai.request.model")
CACHE_WRITE_KEYS = (
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_write.input_tokens",
)
REASONING_KEYS = ("gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
WHICH_KEYS = ("gen_ai.response.id", "turn.index", "copilot_chat.turn.index")
# Metric attributes copied into event attrs (never content such as gen_ai.tool.definitions).
KEPT_ATTRS = (
    "gen_ai.response.id",
    "gen_ai.provider.name",
    "gen_ai.response.finish_reasons",
    "github.copilot.cost",
    "github.copilot.nano_aiu",
    "github.copilot.initiator",
    "github.copilot.turn_id",
    "github.copilot.interaction_id",
    "error.type",
)
TTFC = "gen_ai.response.time_to_first_chunk"  # seconds; stored as the ttft_ms column


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _first(attrs: dict[str, Any], keys: Sequence[str]) -> str | None:
    return next((t for t in (_text(attrs.get(k)) for k in keys) if t), None)


def _count(attrs: dict[str, Any], keys: Sequence[str]) -> int:
    """The first positive count among ``keys``; strings such as "[REDACTED]" count as 0."""
    return next((n for n in (max(0, as_int(attrs.get(k))) for k in keys) if n), 0)


def ttft_ms(attrs: dict[str, Any]) -> float | None:
    """Time to first token in ms: Copilot's own attribute (ms), else the GenAI convention's
    ``gen_ai.response.time_to_first_chunk`` (seconds)."""
    for key, scale in (("copilot_chat.time_to_first_token", 1.0), (TTFC, 1000.0)):
        value = attrs.get(key)
        if isinstance(value, str):
            try:
                value = float(value)
            except ValueError:
                continue
        if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
            return float(value) * scale
    return None


def time_ms(value: object) -> int | None:
    """Epoch ms from an OTel time: ``[seconds, nanos]``, a scalar in s/ms/us/ns, or ISO text."""
    if isinstance(value, list) and len(value) == 2:
        seconds, nanos = as_int(value[0]), as_int(value[1])
        return seconds * 1000 + nanos // 1_000_000 if seconds > 0 else None
    if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
        return parse_iso_ms(value)
    raw = as_int(value)
    if raw <= 0:
        return None
    for limit, divisor in ((10**17, 10**6), (10**14, 10**3)):
        if raw >= limit:
            return raw // divisor
    return raw if raw >= 10**11 else raw * 1000


def _is_span(line: dict[str, Any]) -> bool:
    kind = line.get("type")
    if isinstance(kind, str):
        return kind == "span"
    return isinstance(line.get("name"), str) and any(
        k in line for k in ("spanId", "startTime", "endTime", "duration", "kind")
    )


class OtelFile:
    """Turns one batch of export lines into events; ``state`` keeps trace -> session/model."""

    def __init__(self, agent: str, context: AgentContext, fallback_ts: int) -> None:
        self.agent = agent
        self.state = context.state.data
        self.traces: dict[str, list[str | None]] = self.state.setdefault("traces", {})
        self.fallback_ts = fallback_ts
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            line = record.data
            attrs = as_dict(line.get("attributes"))
            if not attrs:
                continue  # metric envelopes and empty lines
            if _is_span(line):
                self._span(line, attrs, record.position)
            else:
                self._log(line, attrs, record.position)
        return self.out

    # -- shared -------------------------------------------------------------------------------

    def _context(self, trace: str | None, attrs: dict[str, Any]) -> tuple[str, str | None]:
        """Session and model of a record, learning them per trace for later records."""
        session, model = _first(attrs, SESSION_KEYS), _first(attrs, MODEL_KEYS)
        known = self.traces.get(trace or "")
        if trace:
            if known is None:
                known = self.traces[trace] = [None, None]
                if len(self.traces) > MAX_TRACES:
                    del self.traces[next(iter(self.traces))]
            known[0] = known[0] or session
            known[1] = known[1] or model
        if known is not None:
            session, model = session or known[0], model or known[1]
        return session or UNKNOWN_SESSION, model

    def _ts(self, *values: object) -> int:
        ts = next((t for t in map(time_ms, values) if t is not None), None)
        if ts is None:
            return int(self.state.get("last_ts") or self.fallback_ts)
        self.state["last_ts"] = ts
        return ts

    def _llm(
        self,
        event_id: str,
        group: str,
        precedence: int,
        session: str,
        model: str | None,
        ts: int,
        attrs: dict[str, Any],
        extra: dict[str, Any],
        ok: bool | None = None,
        duration_ms: float | None = None,
    ) -> None:
        """One model call's tokens (nothing when the record has none)."""
        cache_read = _count(attrs, ("gen_ai.usage.cache_read.input_tokens",))
        cache_write = _count(attrs, CACHE_WRITE_KEYS)
        tokens = TokenCounts(
            input_tokens=max(
                0, _count(attrs, ("gen_ai.usage.input_tokens",)) - cache_read - cache_write
            ),
            output_tokens=_count(attrs, ("gen_ai.usage.output_tokens",)),
            cache_read_tokens=cache_read,
            cache_write_5m_tokens=cache_write,
            reasoning_tokens=_count(attrs, REASONING_KEYS),
        )
        if tokens.all_input + tokens.output_tokens + tokens.reasoning_tokens == 0:
            return  # redacted or empty: nothing to count
        kept = {k: attrs[k] for k in KEPT_ATTRS if k in attrs}
        self.out.append(
            MetricEvent(
                event_id=event_id,
                kind=EventKind.LLM_REQUEST,
                agent=self.agent,
                session_id=session,
                ts_ms=ts,
                run_id=trace_run_id(self.agent, session, extra.get("trace_id")),
                model=model,
                **tokens.fields(),
                cost_nusd=cost_nusd(model, tokens),
                ok=ok,
                duration_ms=duration_ms,
                ttft_ms=ttft_ms(attrs),
                context_tokens=tokens.all_input,
                error_class=_text(attrs.get("error.type")),
                dedup_key=group,
                precedence=precedence,
                attrs={**kept, **extra},
            )
        )

    def _group(self, session: str, trace: str | None, attrs: dict[str, Any], fallback: str) -> str:
        """The tokens group: the session's, shared with its event stream (``assistant.usage``,
        ``session.shutdown`` totals, at lower precedence), so one session is never counted from
        two sources; for records without a session, their trace, else response, else itself."""
        if session != UNKNOWN_SESSION:
            return copy_group(self.agent, "tokens", session)
        key = trace or _text(attrs.get("gen_ai.response.id")) or fallback
        return f"{self.agent}-otel-tokens:{key}"

    # -- spans --------------------------------------------------------------------------------

    def _span(self, line: dict[str, Any], attrs: dict[str, Any], position: int) -> None:
        name = _text(line.get("name")) or ""
        operation = _text(attrs.get("gen_ai.operation.name")) or name.split(" ", 1)[0]
        if operation not in ("chat", "execute_tool", "invoke_agent"):
            return
        trace, span_id = _text(line.get("traceId")), _text(line.get("spanId"))
        session, model = self._context(trace, attrs)
        start = time_ms(line.get("startTime"))
        end = time_ms(line.get("endTime"))
        ts = self._ts(start, end)
        duration = float(end - start) if start is not None and end is not None else None
        ok = as_int(as_dict(line.get("status")).get("code")) != STATUS_ERROR
        key = span_id or f"{trace}:{position}"
        extra = {
            "span_id": span_id,
            "trace_id": trace,
            "parent_span_id": _text(line.get("parentSpanId")),
            "source": "otel_file",
        }
        event_id = stable_id(self.agent, "otel_span", trace, key)
        if operation == "chat":
            group = self._group(session, trace, attrs, key)
            self._llm(event_id, group, CHAT_SPAN, session, model, ts, attrs, extra, ok, duration)
            return
        common: dict[str, Any] = {
            "event_id": event_id,
            "agent": self.agent,
            "session_id": session,
            "ts_ms": ts,
            "run_id": trace_run_id(self.agent, session, trace),
            "ok": ok,
            "duration_ms": duration,
            "precedence": TRACE_PRECEDENCE,
        }
        if operation == "execute_tool":
            call_id = _text(attrs.get("gen_ai.tool.call.id"))
            tool = _text(attrs.get("gen_ai.tool.name")) or _text(name.partition(" ")[2])
            self.out.append(
                MetricEvent(
                    kind=EventKind.TOOL_CALL,
                    tool_name=tool,
                    dedup_key=copy_group(self.agent, "tools", session),
                    attrs={**extra, "tool_call_id": call_id},
                    **common,
                )
            )
            return
        self.out.append(  # invoke_agent: a turn; its tokens repeat its chat children's
            MetricEvent(
                kind=EventKind.TURN,
                model=model,
                dedup_key=copy_group(self.agent, "turns", session),
                attrs={**extra, "agent_name": _text(attrs.get("gen_ai.agent.name"))},
                **common,
            )
        )

    # -- log records --------------------------------------------------------------------------

    def _log(self, line: dict[str, Any], attrs: dict[str, Any], position: int) -> None:
        event = _text(attrs.get("event.name"))
        body = _text(line.get("body")) or _text(line.get("_body")) or ""
        if event == INFERENCE_EVENT or (event is None and body.startswith("GenAI inference:")):
            precedence = INFERENCE_LOG
        elif event == TURN_EVENT or (event is None and body.startswith(TURN_EVENT)):
            precedence = TURN_LOG
        else:
            return
        span_context = as_dict(line.get("spanContext"))
        trace = _text(line.get("traceId")) or _text(span_context.get("traceId"))
        span_id = _text(line.get("spanId")) or _text(span_context.get("spanId"))
        session, model = self._context(trace, attrs)
        ts = self._ts(
            line.get("hrTime"),
            line.get("_hrTime"),
            line.get("time"),
            line.get("timestamp"),
            line.get("observedTimestamp"),
            line.get("timeUnixNano"),
        )
        # Several records may share a span (a call's inference log and its turn twin), so the
        # id also holds the record's kind, its response or turn, and its time.
        which = next((str(attrs[k]) for k in WHICH_KEYS if attrs.get(k) not in (None, "")), "")
        event_id = stable_id(self.agent, "otel_log", event or body[:40], trace, span_id, which, ts)
        extra = {"trace_id": trace, "span_id": span_id, "source": "otel_file", "event": event}
        group = self._group(session, trace, attrs, f"log:{session}:{ts}:{position}")
        self._llm(event_id, group, precedence, session, model, ts, attrs, extra)
