"""Codex CLI and Codex Desktop/IDE: ``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl``
and ``$CODEX_HOME/archived_sessions/`` (``CODEX_HOME`` defaults to ``~/.codex`` on every OS).

Every line is ``{timestamp, type, payload}`` (agent-formats.md section 5, agent-formats-more.md
2.1, openai/codex ``codex-rs/protocol``): ``session_meta`` (id, cwd, ``forked_from_id``,
``source``), ``turn_context`` (the model, re-emitted before every model call), ``response_item``
(messages, reasoning, ``function_call`` / ``custom_tool_call`` / ``web_search_call`` and their
outputs by ``call_id``) and ``event_msg`` (``task_started`` / ``task_complete`` / ``turn_aborted``
of a turn, ``token_count``).

Tokens: ``token_count.info.total_token_usage`` is the session's running total, in OpenAI's
convention (``cached_input_tokens`` inside ``input_tokens``, ``reasoning_output_tokens`` inside
``output_tokens``). A request is the growth of that total since the previous one
(``delta_from_total``): Codex re-emits unchanged totals (after each ``turn_context`` or
rate-limit refresh), so summing ``last_token_usage`` would count those calls twice.

Copies are counted once:
- a rollout in both ``sessions/`` and ``archived_sessions/`` (Codex moves a rollout on archive;
  a copy may stay behind) gives the same events: ids come from the content (time and running
  total, call ids, turn ids), never from the file;
- a fork (``forked_from_id``) or a spawned sub-agent (``source.subagent``, ``thread_spawn``)
  starts by replaying its parent's history, with the original timestamps (current Codex) or
  re-stamped to the child's creation second (older builds). Those ``token_count`` lines only set
  the child's baseline; its own calls are the growth after them (or a fresh count, when the
  child's counter restarts from zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import (
    EventKind,
    MetricEvent,
    TokenCounts,
    delta_from_total,
    last_copy_wins,
    parse_iso_ms,
    stable_id,
)
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "codex"
UUID_LENGTH = 36
MAX_PENDING_TOOLS = 2000
TOOL_CALLS = ("function_call", "custom_tool_call", "local_shell_call", "web_search_call")
TOOL_OUTPUTS = ("function_call_output", "custom_tool_call_output", "local_shell_call_output")
TURN_END = {"task_complete": True, "turn_aborted": False}
USAGE_FIELDS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_output_tokens")


def session_of(path: Path) -> str:
    """``rollout-<YYYY-MM-DDThh-mm-ss>-<uuid>.jsonl`` -> the uuid (the thread id)."""
    stem = path.stem
    return stem[-UUID_LENGTH:] if len(stem) > UUID_LENGTH else stem


def usage_counts(usage: dict[str, Any]) -> TokenCounts:
    """A Codex ``TokenUsage`` in the house meaning: input without the cached part, output with
    reasoning (which is also kept apart)."""
    return TokenCounts.from_inclusive_input(
        as_int(usage.get("input_tokens")),
        as_int(usage.get("cached_input_tokens")),
        as_int(usage.get("cache_write_input_tokens")),
        output=as_int(usage.get("output_tokens")),
        reasoning=as_int(usage.get("reasoning_output_tokens")),
    )


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _is_child(meta: dict[str, Any]) -> bool:
    """A fork or a spawned sub-agent: its rollout opens with a replay of its parent's history."""
    if _text(meta.get("forked_from_id")):
        return True
    source = meta.get("source")
    if isinstance(source, dict) and "subagent" in source:
        return True
    return meta.get("thread_source") == "subagent"


class Rollout:
    """Walks one rollout's records; ``state`` carries what spans batches (the model, the open
    turn, the running total, pending tool calls, whether the file is a child and when it began)."""

    def __init__(self, context: AgentContext) -> None:
        self.ref = context.stream
        self.state = context.state.data
        self.state.setdefault("tools", {})
        self.out: list[MetricEvent] = []

    @property
    def session(self) -> str:
        session = self.state.get("session")
        return session if isinstance(session, str) else self.ref.session_id

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            line = record.data
            payload = as_dict(line.get("payload"))
            ts = parse_iso_ms(line.get("timestamp"))
            if ts is None:
                ts = as_int(self.state.get("last_ts"))
            else:
                self.state["last_ts"] = ts
            kind = line.get("type")
            if kind == "session_meta":
                self._meta(payload)
            elif kind == "turn_context":
                self._turn_context(payload)
            elif kind == "event_msg":
                self._event(payload, ts, record.position)
            elif kind == "response_item":
                self._item(payload, ts, record.position)
        return self.out

    # -- context ------------------------------------------------------------------------------

    def _meta(self, meta: dict[str, Any]) -> None:
        if "session" in self.state:
            return  # a child may embed its parent's session_meta in the replay: keep its own
        self.state["session"] = _text(meta.get("id")) or self.ref.session_id
        self.state["project"] = _text(meta.get("cwd"))
        self.state["child"] = _is_child(meta)
        started = parse_iso_ms(meta.get("timestamp"))
        self.state["started"] = started
        if _text(meta.get("forked_from_id")):
            self.state["parent"] = meta["forked_from_id"]

    def _turn_context(self, payload: dict[str, Any]) -> None:
        settings = as_dict(as_dict(payload.get("collaboration_mode")).get("settings"))
        model = _text(payload.get("model")) or _text(settings.get("model"))
        if model:
            self.state["model"] = model
        cwd = _text(payload.get("cwd"))
        if cwd:
            self.state["project"] = cwd
        turn = _text(payload.get("turn_id"))
        if turn:
            self.state["turn"] = turn

    def _replayed(self, ts: int) -> bool:
        """Whether a line of a child rollout belongs to its parent's replayed history: older
        than the child (original timestamps) or stamped in the child's creation second."""
        started = self.state.get("started")
        if not self.state.get("child") or not isinstance(started, int):
            return False
        return ts // 1000 <= started // 1000

    # -- event_msg ----------------------------------------------------------------------------

    def _event(self, payload: dict[str, Any], ts: int, position: int) -> None:
        kind = payload.get("type")
        if kind == "token_count":
            self._token_count(payload, ts)
        elif kind == "task_started":
            turn = _text(payload.get("turn_id"))
            if turn:
                self.state["turn"] = turn
                self.state["turn_started"] = ts
            window = as_int(payload.get("model_context_window"))
            if window:
                self.state["window"] = window
        elif kind in TURN_END:
            self._turn_end(payload, ts, TURN_END[str(kind)], position)

    def _token_count(self, payload: dict[str, Any], ts: int) -> None:
        info = as_dict(payload.get("info"))
        total = as_dict(info.get("total_token_usage"))
        last = as_dict(info.get("last_token_usage"))
        window = as_int(info.get("model_context_window"))
        if window:
            self.state["window"] = window
        if not total and not last:
            return  # a rate-limit refresh
        if total:
            delta = delta_from_total(self.state, usage_counts(total))
            identity: tuple[int, ...] = tuple(as_int(total.get(f)) for f in USAGE_FIELDS)
        else:  # builds without running totals: each event is one call
            delta = usage_counts(last)
            identity = (-1, *(as_int(last.get(f)) for f in USAGE_FIELDS))
        if delta is None or self._replayed(ts):
            return
        model = self.state.get("model")
        model = model if isinstance(model, str) else None
        context = as_int(last.get("input_tokens")) if last else None
        attrs: dict[str, Any] = {}
        window = as_int(self.state.get("window"))
        if window:
            attrs["model_context_window"] = window
        self._emit(
            stable_id(AGENT, "usage", ts, *identity),
            EventKind.LLM_REQUEST,
            ts,
            model=model,
            **delta.fields(),
            cost_nusd=cost_nusd(model, delta),
            context_tokens=context or None,
            attrs=attrs,
        )

    def _turn_end(self, payload: dict[str, Any], ts: int, ok: bool, position: int) -> None:
        turn = _text(payload.get("turn_id")) or self._turn()
        if turn is None or self._replayed(ts):
            return
        started = self.state.get("turn_started")
        duration = float(ts - started) if isinstance(started, int) and started <= ts else None
        model = self.state.get("model")
        self._emit(
            stable_id(AGENT, "turn", turn),
            EventKind.TURN,
            ts,
            position,
            run_id=turn,
            model=model if isinstance(model, str) else None,
            ok=ok,
            duration_ms=duration,
        )

    # -- response_item ------------------------------------------------------------------------

    def _item(self, payload: dict[str, Any], ts: int, position: int) -> None:
        kind = payload.get("type")
        if kind in TOOL_CALLS:
            call = _text(payload.get("call_id")) or _text(payload.get("id"))
            name = _text(payload.get("name")) or str(kind).removesuffix("_call")
            if call is None or self._replayed(ts):
                return
            pending: dict[str, Any] = self.state["tools"]
            pending[call] = [name, ts]
            if len(pending) > MAX_PENDING_TOOLS:
                del pending[next(iter(pending))]
            status = _text(payload.get("status"))
            self._tool(call, name, ts, None, status != "failed" if status else None, position)
        elif kind in TOOL_OUTPUTS:
            call = _text(payload.get("call_id"))
            found = self.state["tools"].pop(call, None) if call else None
            if call is None or found is None:
                return  # its call was replayed or is unknown: counted where it was made
            name, started = found
            self._tool(call, name, started, float(ts - started), None, position)

    def _tool(
        self,
        call: str,
        name: str,
        ts: int,
        duration: float | None,
        ok: bool | None,
        position: int,
    ) -> None:
        self._emit(
            stable_id(AGENT, "tool_call", call),
            EventKind.TOOL_CALL,
            ts,
            position,
            tool_name=name,
            ok=ok,
            duration_ms=duration,
            attrs={"tool_call_id": call},
        )

    def _emit(
        self, event_id: str, kind: EventKind, ts: int, position: int | None = None, **fields: Any
    ) -> None:
        """An event of this session; ``position`` set: a later copy replaces it (last wins)."""
        fields.setdefault("run_id", self._turn())
        event = MetricEvent(
            event_id=event_id,
            kind=kind,
            agent=AGENT,
            session_id=self.session,
            ts_ms=ts,
            project=self._project(),
            **fields,
        )
        self.out.append(event if position is None else last_copy_wins(event, position))

    def _turn(self) -> str | None:
        turn = self.state.get("turn")
        return turn if isinstance(turn, str) else None

    def _project(self) -> str | None:
        project = self.state.get("project")
        return project if isinstance(project, str) else None


def rollout_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return Rollout(context).events(records)


class CodexAgent(Agent):
    name = AGENT
    display_name = "Codex"
    locations = Roots(default=("~/.codex",), overrides=("$CODEX_HOME",))
    streams = (
        StreamSpec(
            "rollout",
            JsonlReader(),
            (
                "sessions/*/*/*/rollout-*.jsonl",
                "sessions/rollout-*.jsonl",
                "archived_sessions/rollout-*.jsonl",
                "archived_sessions/*/*/*/rollout-*.jsonl",
            ),
            session_of,
            rollout_events,
        ),
    )
    upload_attrs: ClassVar[Mapping[str, type]] = {
        "model_context_window": int,
        "tool_call_id": str,
    }

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``CODEX_HOME`` (ccusage also reads a comma-separated list there), else ``~/.codex``."""
        if "," in env.get("CODEX_HOME", ""):
            return listed_dirs(env, platform, "CODEX_HOME")
        return super().resolve_roots(env, platform)
