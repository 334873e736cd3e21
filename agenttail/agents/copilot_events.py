"""The ``{type, data, id, timestamp, parentId}`` event stream shared by Copilot Chat's
``transcripts/<id>.jsonl`` and Copilot CLI's ``session-state/<id>/events.jsonl``.

It has tool calls (start/complete pairs), the CLI's model changes and cwd, and in the CLI
``assistant.usage`` token counts. Copies of one session's tokens, tools and turns from several
sources share one ``dedup_key`` group per session (``copy_group``): only the best source counts.
agent-formats.md sections 3.3 and 4.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agenttail.agents.base import AgentContext
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, parse_iso_ms, stable_id
from agenttail.pricing import TokenCounts, cost_nusd
from agenttail.readers.base import Record

MAX_PENDING_TOOLS = 2000
TRACE_PRECEDENCE = 1  # OTel spans: real per-request counts
FILE_PRECEDENCE = 0  # session files: optional, coarser counts
SHUTDOWN_PRECEDENCE = -1  # per-model session totals: only when nothing per request exists


def copy_group(agent: str, what: str, session_id: str) -> str:
    """The dedup group of one session's ``what`` (tokens, tools, turns) across its sources."""
    return f"{agent}-{what}:{session_id}"


def turn_run_id(agent: str, session_id: str, ordinal: int) -> str:
    """The run of a session's ``ordinal``-th user request (0 first): the same in a chat
    session file (its ``requests`` list) and in the session's transcript (its ``user.message``
    events), so a session counted from both sources has each turn once."""
    return stable_id(agent, "run", session_id, "turn", ordinal)


def trace_run_id(agent: str, session_id: str, trace: object) -> str:
    """The run of an OTel span or log: its trace (one ``invoke_agent`` trace per request,
    its ``chat`` and ``execute_tool`` spans inside it)."""
    return stable_id(agent, "run", session_id, "trace", trace)


def strip_model(model: object) -> str | None:
    """``copilot/claude-sonnet-4.5`` -> ``claude-sonnet-4.5``."""
    if not isinstance(model, str) or not model:
        return None
    return model.split("/", 1)[1] if model.startswith("copilot/") else model


class EventStream:
    """Walks event-stream records, carrying pending tool calls and the model in ``state``."""

    def __init__(self, agent: str, context: AgentContext, project: str | None) -> None:
        self.agent = agent
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("tools", {})
        if project and not self.state.get("project"):
            self.state["project"] = project
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            kind = data.get("type")
            body = as_dict(data.get("data"))
            ts = parse_iso_ms(data.get("timestamp"))
            if ts is None:
                ts = int(self.state.get("last_ts", 0))
            else:
                self.state["last_ts"] = ts
            if kind == "session.start":
                cwd = as_dict(body.get("context")).get("cwd")
                if isinstance(cwd, str) and cwd:
                    self.state["project"] = cwd
            elif kind == "user.message":
                self.state["turn"] = int(self.state.get("turn", -1)) + 1
            elif kind == "session.model_change":
                model = strip_model(body.get("newModel"))
                if model:
                    self.state["model"] = model
            elif kind == "tool.execution_start":
                self._tool_start(body, ts)
            elif kind == "tool.execution_complete":
                self._tool_complete(body, ts, data)
            elif kind == "assistant.usage":
                self._usage(body, ts, data)
            elif kind == "session.shutdown":
                self._shutdown(body, ts, data)
        return self.out

    @property
    def session_id(self) -> str:
        return self.ref.session_id

    @property
    def run_id(self) -> str:
        """The user request under way (``user.message`` opens one; the first before any)."""
        return turn_run_id(self.agent, self.session_id, max(0, int(self.state.get("turn", 0))))

    def _tool_start(self, body: dict[str, Any], ts: int) -> None:
        call_id = body.get("toolCallId")
        if not isinstance(call_id, str):
            return
        tools: dict[str, Any] = self.state["tools"]
        tools[call_id] = {"name": body.get("toolName"), "ts": ts, "run_id": self.run_id}
        if len(tools) > MAX_PENDING_TOOLS:
            del tools[next(iter(tools))]

    def _tool_complete(self, body: dict[str, Any], ts: int, data: dict[str, Any]) -> None:
        call_id = body.get("toolCallId")
        if not isinstance(call_id, str):
            return
        pending = self.state["tools"].pop(call_id, None) or {}
        started = pending.get("ts")
        success = body.get("success")
        if not isinstance(success, bool):
            result_type = as_dict(body.get("result")).get("result_type")
            success = result_type in (None, "success")
        self.out.append(
            MetricEvent(
                event_id=stable_id(self.agent, "tool_call", self.session_id, call_id),
                kind=EventKind.TOOL_CALL,
                agent=self.agent,
                session_id=self.session_id,
                ts_ms=ts,
                run_id=pending.get("run_id") or self.run_id,
                project=self.state.get("project"),
                tool_name=pending.get("name") or body.get("toolName"),
                ok=success,
                duration_ms=float(ts - started) if isinstance(started, int) else None,
                dedup_key=copy_group(self.agent, "tools", self.session_id),
                precedence=FILE_PRECEDENCE,
                attrs={"tool_call_id": call_id},
            )
        )

    def _usage(self, body: dict[str, Any], ts: int, data: dict[str, Any]) -> None:
        event_key = data.get("id")
        if not isinstance(event_key, str):
            return
        model = strip_model(body.get("model")) or self.state.get("model")
        event_id = stable_id(self.agent, "llm_request", self.session_id, event_key)
        self._request(event_id, ts, model, body, FILE_PRECEDENCE, {"source": "events"})

    def _shutdown(self, body: dict[str, Any], ts: int, data: dict[str, Any]) -> None:
        """``session.shutdown.modelMetrics``: per-model totals of the run that just ended.

        Builds that write no per-request ``assistant.usage`` still record these. They share the
        session's tokens group at the lowest precedence, so per-request rows of the same
        session (``assistant.usage``, the OTel export) replace them instead of adding to them.
        Each shutdown event is its own record (one per run of the session).
        """
        metrics = as_dict(body.get("modelMetrics"))
        which = data.get("id") if isinstance(data.get("id"), str) else str(ts)
        for name, entry in metrics.items():
            usage = as_dict(as_dict(entry).get("usage"))
            if not usage:
                continue
            requests = as_int(as_dict(as_dict(entry).get("requests")).get("count"))
            event_id = stable_id(self.agent, "shutdown", self.session_id, which, name)
            attrs = {"source": "session.shutdown", "requests": requests}
            self._request(event_id, ts, strip_model(name), usage, SHUTDOWN_PRECEDENCE, attrs)

    def _request(
        self,
        event_id: str,
        ts: int,
        model: str | None,
        usage: dict[str, Any],
        precedence: int,
        attrs: dict[str, Any],
    ) -> None:
        """One request's (or one model's) tokens; ``inputTokens`` includes cache traffic."""
        read, write = as_int(usage.get("cacheReadTokens")), as_int(usage.get("cacheWriteTokens"))
        tokens = TokenCounts(
            input_tokens=max(0, as_int(usage.get("inputTokens")) - read - write),
            output_tokens=as_int(usage.get("outputTokens")),
            cache_read_tokens=read,
            cache_write_5m_tokens=write,
            reasoning_tokens=as_int(usage.get("reasoningTokens")),
        )
        self.out.append(
            MetricEvent(
                event_id=event_id,
                kind=EventKind.LLM_REQUEST,
                agent=self.agent,
                session_id=self.session_id,
                ts_ms=ts,
                run_id=self.run_id,
                project=self.state.get("project"),
                model=model,
                **tokens.fields(),
                cost_nusd=cost_nusd(model, tokens),
                dedup_key=copy_group(self.agent, "tokens", self.session_id),
                precedence=precedence,
                attrs=attrs,
            )
        )
