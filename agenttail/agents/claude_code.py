"""Claude Code: ``~/.claude/projects/<escaped-cwd>/<session>.jsonl`` transcripts.

Claude Code writes one line per content block of an API response and repeats the whole usage
on each, so one request is keyed by ``message.id`` + ``requestId`` across every file and the
copy with the largest total wins (the store applies that rule). See agent-formats.md section 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import AgentContext, StreamSpec
from agenttail.events import EventKind, MetricEvent, parse_iso_ms, stable_id
from agenttail.pricing import TokenCounts, cost_usd
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "claude_code"
SYNTHETIC_MODEL = "<synthetic>"
MAX_PENDING_TOOLS = 2000
RECENT_MESSAGES = 64


def claude_roots(env: dict[str, str] | None = None) -> list[Path]:
    """CLAUDE_CONFIG_DIR (a comma-separated list) replaces the defaults, as in ccusage."""
    environ = os.environ if env is None else env
    configured = environ.get("CLAUDE_CONFIG_DIR", "").strip()
    if configured:
        bases = [Path(p.strip()).expanduser() for p in configured.split(",") if p.strip()]
    else:
        xdg = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        bases = [Path.home() / ".claude", Path(xdg) / "claude"]
    return [base / "projects" for base in bases]


def _session_of(path: Path) -> str:
    # <project>/<session>.jsonl, or <project>/<session>/subagents/agent-<id>.jsonl
    if path.parent.name == "subagents":
        return path.parent.parent.name
    return path.stem


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ClaudeCodeAgent:
    name = AGENT

    def __init__(self, roots: Sequence[Path] | None = None) -> None:
        self._roots = list(roots) if roots is not None else None
        self._streams = (
            StreamSpec(
                kind="transcript",
                reader=JsonlReader(),
                patterns=("*/*.jsonl", "*/*/subagents/*.jsonl"),
                session_id=_session_of,
            ),
        )

    def roots(self) -> Sequence[Path]:
        return self._roots if self._roots is not None else claude_roots()

    def streams(self) -> Sequence[StreamSpec]:
        return self._streams

    def to_events(self, records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        return _Transcript(context).events(records)


class _Transcript:
    """Walks records in file order, carrying turn and tool state in ``context.state``."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("history", 0)
        self.state.setdefault("tools", {})
        self.state.setdefault("recent", {})
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            kind = data.get("type")
            if kind == "assistant":
                self._assistant(data)
            elif kind == "user":
                self._user(data)
            elif kind == "system":
                self._system(data)
            elif kind == "progress":
                embedded = _dict(_dict(data.get("data")).get("message"))
                if embedded.get("type") == "assistant":
                    self._assistant(embedded, fallback=data)
        return self.out

    # -- helpers ----------------------------------------------------------------------------

    def _base(self, data: dict[str, Any]) -> tuple[str, int, str | None]:
        session = data.get("sessionId")
        session_id = session if isinstance(session, str) and session else self.ref.session_id
        ts = parse_iso_ms(data.get("timestamp"))
        if ts is None:
            ts = int(self.state.get("last_ts", 0))
        else:
            self.state["last_ts"] = ts
        cwd = data.get("cwd")
        if isinstance(cwd, str) and cwd:
            self.state["project"] = cwd
        return session_id, ts, self.state.get("project")

    def _common_attrs(self, data: dict[str, Any]) -> dict[str, Any]:
        attrs: dict[str, Any] = {}
        for source, target in (
            ("gitBranch", "git_branch"),
            ("version", "agent_version"),
            ("agentId", "subagent_id"),
            ("entrypoint", "entrypoint"),
        ):
            value = data.get(source)
            if isinstance(value, str) and value:
                attrs[target] = value
        return attrs

    # -- record kinds -----------------------------------------------------------------------

    def _user(self, data: dict[str, Any]) -> None:
        session_id, ts, project = self._base(data)
        message = _dict(data.get("message"))
        content = message.get("content")
        blocks = content if isinstance(content, list) else []
        results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
        for block in results:
            self._tool_result(block, data, session_id, ts, project)
        is_prompt = not results and not data.get("isMeta") and not data.get("isCompactSummary")
        if is_prompt and isinstance(data.get("uuid"), str):
            self.state["run_id"] = stable_id(AGENT, "run", session_id, data["uuid"])
        if not data.get("isMeta"):
            self.state["history"] += 1

    def _tool_result(
        self,
        block: dict[str, Any],
        data: dict[str, Any],
        session_id: str,
        ts: int,
        project: str | None,
    ) -> None:
        tool_use_id = block.get("tool_use_id")
        if not isinstance(tool_use_id, str):
            return
        pending = self.state["tools"].pop(tool_use_id, None) or {}
        started = pending.get("ts")
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "tool_call", tool_use_id),
                kind=EventKind.TOOL_CALL,
                agent=AGENT,
                session_id=session_id,
                ts_ms=ts,
                run_id=pending.get("run_id", self.state.get("run_id")),
                project=project,
                tool_name=pending.get("name"),
                ok=not bool(block.get("is_error")),
                duration_ms=float(ts - started) if isinstance(started, int) else None,
                is_sidechain=bool(data.get("isSidechain")),
                attrs={"tool_use_id": tool_use_id, **self._common_attrs(data)},
            )
        )

    def _system(self, data: dict[str, Any]) -> None:
        session_id, ts, project = self._base(data)
        subtype = data.get("subtype")
        uuid = data.get("uuid")
        if subtype == "compact_boundary" and isinstance(uuid, str):
            meta = _dict(data.get("compactMetadata"))
            event_id = stable_id(AGENT, "compaction", uuid)
            self.out.append(
                MetricEvent(
                    event_id=event_id,
                    kind=EventKind.COMPACTION,
                    agent=AGENT,
                    session_id=session_id,
                    ts_ms=ts,
                    run_id=self.state.get("run_id"),
                    project=project,
                    attrs={
                        "trigger": meta.get("trigger"),
                        "pre_tokens": meta.get("preTokens"),
                        **self._common_attrs(data),
                    },
                )
            )
            self.state["compaction_id"] = event_id
            self.state["history"] = 0
        elif subtype == "turn_duration" and isinstance(uuid, str):
            duration = data.get("durationMs")
            self.out.append(
                MetricEvent(
                    event_id=stable_id(AGENT, "turn", uuid),
                    kind=EventKind.TURN,
                    agent=AGENT,
                    session_id=session_id,
                    ts_ms=ts,
                    run_id=self.state.get("run_id"),
                    project=project,
                    duration_ms=float(duration) if isinstance(duration, int | float) else None,
                    attrs={"message_count": data.get("messageCount"), **self._common_attrs(data)},
                )
            )

    def _assistant(self, data: dict[str, Any], fallback: dict[str, Any] | None = None) -> None:
        envelope = data if fallback is None else {**fallback, **data}
        session_id, ts, project = self._base(envelope)
        message = _dict(data.get("message"))
        if data.get("isApiErrorMessage"):
            self._api_error(envelope, session_id, ts, project)
            return
        for block in message.get("content") or []:
            if isinstance(block, dict) and block.get("type") == "tool_use":
                self._tool_use(block, ts)
        message_id = message.get("id")
        usage = message.get("usage")
        model = message.get("model")
        if not isinstance(message_id, str) or not isinstance(usage, dict):
            return
        history = self._history_at(message_id)
        if model == SYNTHETIC_MODEL:
            return
        request_id = data.get("requestId")
        request_id = request_id if isinstance(request_id, str) else ""
        split = _dict(usage.get("cache_creation"))
        cache_write = _int(usage.get("cache_creation_input_tokens"))
        write_1h = min(_int(split.get("ephemeral_1h_input_tokens")), cache_write)
        tokens = TokenCounts(
            input_tokens=_int(usage.get("input_tokens")),
            output_tokens=_int(usage.get("output_tokens")),
            cache_read_tokens=_int(usage.get("cache_read_input_tokens")),
            cache_write_5m_tokens=cache_write - write_1h,
            cache_write_1h_tokens=write_1h,
        )
        attrs = self._common_attrs(envelope)
        attrs.update(
            message_id=message_id,
            request_id=request_id or None,
            history_len=history,
            context_tokens=tokens.all_input,
            stop_reason=message.get("stop_reason"),
        )
        for key in ("service_tier", "speed"):
            if isinstance(usage.get(key), str):
                attrs[key] = usage[key]
        if isinstance(envelope.get("costUSD"), int | float):
            attrs["reported_cost_usd"] = envelope["costUSD"]
        sidechain = bool(envelope.get("isSidechain"))
        compaction = self.state.pop("compaction_id", None)
        if compaction:
            attrs["compaction_id"] = compaction
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "llm_request", message_id, request_id),
                kind=EventKind.LLM_REQUEST,
                agent=AGENT,
                session_id=session_id,
                ts_ms=ts,
                run_id=self.state.get("run_id"),
                project=project,
                model=model if isinstance(model, str) else None,
                input_tokens=tokens.input_tokens,
                output_tokens=tokens.output_tokens,
                cache_read_tokens=tokens.cache_read_tokens,
                cache_write_tokens=tokens.cache_write_tokens,
                cache_write_5m_tokens=tokens.cache_write_5m_tokens,
                cache_write_1h_tokens=tokens.cache_write_1h_tokens,
                cost_usd=cost_usd(model if isinstance(model, str) else None, tokens, "anthropic"),
                dedup_key=message_id,
                is_sidechain=sidechain,
                precedence=0 if sidechain else 1,
                attrs=attrs,
            )
        )

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

    def _tool_use(self, block: dict[str, Any], ts: int) -> None:
        tool_id = block.get("id")
        if not isinstance(tool_id, str):
            return
        tools: dict[str, Any] = self.state["tools"]
        if tool_id not in tools:
            tools[tool_id] = {
                "name": block.get("name"),
                "ts": ts,
                "run_id": self.state.get("run_id"),
            }
            if len(tools) > MAX_PENDING_TOOLS:
                del tools[next(iter(tools))]

    def _api_error(
        self, data: dict[str, Any], session_id: str, ts: int, project: str | None
    ) -> None:
        uuid = data.get("uuid")
        if not isinstance(uuid, str):
            return
        status = data.get("apiErrorStatus")
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "api_error", uuid),
                kind=EventKind.API_ERROR,
                agent=AGENT,
                session_id=session_id,
                ts_ms=ts,
                run_id=self.state.get("run_id"),
                project=project,
                ok=False,
                is_sidechain=bool(data.get("isSidechain")),
                attrs={
                    "status": status if isinstance(status, int) else None,
                    "error": data.get("error") if isinstance(data.get("error"), str) else None,
                    **self._common_attrs(data),
                },
            )
        )
