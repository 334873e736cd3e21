"""Qwen Code: ``~/.qwen/projects/<sanitized-cwd>/chats/<sessionId>.jsonl``.

The runtime folder moves with ``QWEN_RUNTIME_DIR`` (the CLI's own variable); ``QWEN_DATA_DIR``
(ccusage's, a comma-separated list) is honoured too. Files are append-only; each model response
is one ``assistant`` record with Gemini-shaped ``usageMetadata`` whose prompt count includes the
cached tokens on every provider path. ``/branch`` copies records verbatim (same ``uuid``) into a
new session, so requests are keyed by ``uuid`` and a fork is counted once.
See notes/formats-agents-ccusage.md (Qwen Code).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, parse_iso_ms, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "qwen_code"
TOOL_OK = {"success": True, "error": False, "cancelled": False}
MAX_PENDING_TOOLS = 2000


def qwen_tokens(usage: dict[str, Any]) -> TokenCounts:
    """``usageMetadata`` in the house meaning.

    Thoughts are inside the candidates on the OpenAI and Anthropic paths (total = prompt +
    candidates) and outside them on the native Gemini path (total also holds the thoughts).
    """
    prompt = as_int(usage.get("promptTokenCount"))
    candidates = as_int(usage.get("candidatesTokenCount"))
    thoughts = as_int(usage.get("thoughtsTokenCount"))
    tool = as_int(usage.get("toolUsePromptTokenCount"))
    outside = thoughts > 0 and as_int(usage.get("totalTokenCount")) == sum(
        (prompt, candidates, thoughts, tool)
    )
    return TokenCounts.from_inclusive_input(
        prompt + tool,
        min(prompt, as_int(usage.get("cachedContentTokenCount"))),
        output=candidates,
        reasoning=thoughts,
        reasoning_in_output=not outside,
    )


def _parts(record: dict[str, Any]) -> list[dict[str, Any]]:
    parts = as_dict(record.get("message")).get("parts")
    return [p for p in parts if isinstance(p, dict)] if isinstance(parts, list) else []


class QwenSession:
    def __init__(self, context: AgentContext) -> None:
        self.state = context.state.data
        path = context.stream.path
        self.project = path.parent.parent.name  # projects/<project>/chats/<file>
        self.fallback_session = f"{self.project}-{path.stem}"
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            uuid = data.get("uuid")
            ts = parse_iso_ms(data.get("timestamp"))
            if not isinstance(uuid, str) or not uuid or ts is None:
                continue
            session = data.get("sessionId")
            session = session if isinstance(session, str) and session else self.fallback_session
            kind = data.get("type")
            if kind == "user" and not data.get("subtype"):
                self.state["run_id"] = stable_id(AGENT, "run", uuid)  # a /branch copy: the same run
            elif kind == "assistant":
                self._assistant(data, uuid, session, ts)
            elif kind == "tool_result":
                self._tool_result(data, session, ts)
            elif data.get("subtype") == "turn_result":
                self._turn_result(data, uuid, session, ts)
        return self.out

    def _base(self, data: dict[str, Any], session: str) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for source, target in (("gitBranch", "git_branch"), ("version", "agent_version")):
            if isinstance(data.get(source), str):
                attrs[target] = data[source]
        forked = as_dict(data.get("forkedFrom")).get("sessionId")
        if isinstance(forked, str):
            attrs["forked_from_session_id"] = forked
        cwd = data.get("cwd")
        return {
            "agent": AGENT,
            "session_id": session,
            "run_id": self.state.get("run_id"),
            "project": cwd if isinstance(cwd, str) and cwd else self.project,
            "is_sidechain": bool(data.get("isSidechain")),
            "attrs": attrs,
        }

    def _assistant(self, data: dict[str, Any], uuid: str, session: str, ts: int) -> None:
        base = self._base(data, session)
        pending = self.state.setdefault("calls", {})
        for part in _parts(data):
            call = as_dict(part.get("functionCall"))
            named = isinstance(call.get("id"), str) and isinstance(call.get("name"), str)
            if named and len(pending) < MAX_PENDING_TOOLS:
                pending[call["id"]] = [call["name"], ts]
        usage = data.get("usageMetadata")
        model = data.get("model")
        if not isinstance(usage, dict) or not isinstance(model, str) or not model:
            return
        tokens = qwen_tokens(usage)
        if tokens.all_input + tokens.output_tokens + tokens.reasoning_tokens == 0:
            return
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "llm_request", uuid),
                kind=EventKind.LLM_REQUEST,
                ts_ms=ts,
                model=model,
                **tokens.fields(),
                cost_nusd=cost_nusd(model, tokens),
                context_tokens=tokens.all_input,
                **{**base, "attrs": {**base["attrs"], "message_id": uuid}},
            )
        )

    def _turn_result(self, data: dict[str, Any], uuid: str, session: str, ts: int) -> None:
        """A turn that ended in an error: its code (never its message) classifies it."""
        payload = as_dict(data.get("systemPayload"))
        if payload.get("state") != "error":
            return
        code = as_dict(payload.get("error")).get("code")
        base = self._base(data, session)
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "api_error", uuid),
                kind=EventKind.API_ERROR,
                ts_ms=ts,
                ok=False,
                error_class=code if isinstance(code, str) and code else None,
                **base,
            )
        )

    def _tool_result(self, data: dict[str, Any], session: str, ts: int) -> None:
        result = as_dict(data.get("toolCallResult"))
        call_id = result.get("callId")
        name = None
        for part in _parts(data):
            response = as_dict(part.get("functionResponse"))
            call_id = call_id or response.get("id")
            name = name or response.get("name")
        if not isinstance(call_id, str):
            return
        started = self.state.get("calls", {}).pop(call_id, None)
        if started is not None:
            name = name or started[0]
        status = result.get("status")
        base = self._base(data, session)
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "tool_call", session, call_id),
                kind=EventKind.TOOL_CALL,
                ts_ms=ts,
                tool_name=name if isinstance(name, str) else None,
                ok=TOOL_OK.get(status) if isinstance(status, str) else None,
                duration_ms=float(ts - started[1]) if started is not None else None,
                **{**base, "attrs": {**base["attrs"], "tool_call_id": call_id}},
            )
        )


def chat_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return QwenSession(context).events(records)


class QwenCodeAgent(Agent):
    name = AGENT
    display_name = "Qwen Code"
    locations = Roots(
        default=("~/.qwen/projects",),
        overrides=("$QWEN_RUNTIME_DIR/projects", "$QWEN_DATA_DIR/projects"),
    )
    upload_attrs: ClassVar[Mapping[str, type]] = {
        "tool_call_id": str,
        "tool_status": str,
        "forked_from_session_id": str,
    }
    streams = (
        StreamSpec("chat", JsonlReader(), ("*/chats/*.jsonl",), attrgetter("stem"), chat_events),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``QWEN_RUNTIME_DIR`` (the CLI's own), else ccusage's ``QWEN_DATA_DIR`` list."""
        if env.get("QWEN_RUNTIME_DIR", "").strip():
            return super().resolve_roots(env, platform)
        return listed_dirs(env, platform, "QWEN_DATA_DIR", "projects") or super().resolve_roots(
            env, platform
        )
