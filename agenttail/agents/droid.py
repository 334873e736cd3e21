"""Factory Droid: ``~/.factory/sessions/<encoded cwd>/<session>.jsonl`` (the transcript) and
its sidecar ``<session>.settings.json`` (rewritten in place), on every OS under the home folder;
``DROID_SESSIONS_DIR`` (ccusage's variable) names the sessions folder.

The transcript carries no usage (tokscale#135): it gives the cwd, timestamps and tool calls.
Tokens are the sidecar's ``tokenUsage{inputTokens, outputTokens, cacheCreationTokens,
cacheReadTokens, thinkingTokens}``, running totals for the whole session; each growth becomes
one event holding the difference, dated when it was seen (the session's
``providerLockTimestamp`` for the first sight, as ccusage dates a session, then the file's
modification time), priced with the model the sidecar names then. ``thinkingTokens`` are
reported beside output (ccusage and tokscale price them as output), so they are added to
output and kept as reasoning. agent-formats.md section 12.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int, with_total_fallback
from agenttail.events import (
    EventKind,
    MetricEvent,
    TokenCounts,
    delta_from_total,
    parse_iso_ms,
    stable_id,
)
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.jsonl import JsonlReader

AGENT = "droid"
SETTINGS_SUFFIX = ".settings.json"
MAX_PENDING_TOOLS = 2000
_BRACKETS = re.compile(r"\[[^\]]*\]")
_SEPARATORS = re.compile(r"[.\s-]+")
_MODEL_LINE = re.compile(r"Model:\s*([^\"\\\[]+)")
PROVIDERS = {
    "anthropic": "anthropic",
    "claude": "anthropic",
    "openai": "openai",
    "google": "google",
    "gemini": "google",
    "xai": "x-ai",
    "grok": "x-ai",
}


def session_of_file(path: Path) -> str:
    name = path.name
    return name[: -len(SETTINGS_SUFFIX)] if name.endswith(SETTINGS_SUFFIX) else path.stem


def normalize_model(raw: str) -> str:
    """``custom:Claude-Opus-4.5-Thinking-[Anthropic]-0`` -> ``claude-opus-4-5-thinking-0``:
    the names ccusage reports for Droid, so the two tools' model columns agree."""
    text = _BRACKETS.sub("", raw.removeprefix("custom:")).strip().rstrip("-").lower()
    return _SEPARATORS.sub("-", text).strip("-")


def priced(model: str | None, tokens: TokenCounts, provider: str | None) -> int | None:
    """Droid names BYOK and numbered variants (``byok-gpt-5-mini-0``); price the base model."""
    if not model:
        return None
    candidates = [model]
    base = re.sub(r"-\d+$", "", model.removeprefix("byok-"))
    if base != model:
        candidates.append(base)
    for candidate in candidates:
        cost = cost_nusd(candidate, tokens, provider) or cost_nusd(candidate, tokens)
        if cost is not None:
            return cost
    return None


def usage_totals(usage: dict[str, Any]) -> TokenCounts:
    thinking = as_int(usage.get("thinkingTokens"))
    tokens = TokenCounts(
        input_tokens=as_int(usage.get("inputTokens")),
        output_tokens=as_int(usage.get("outputTokens")) + thinking,
        cache_read_tokens=as_int(usage.get("cacheReadTokens")),
        cache_write_5m_tokens=as_int(usage.get("cacheCreationTokens")),
        reasoning_tokens=thinking,
    )
    return with_total_fallback(tokens, usage.get("totalTokens"))


def transcript_facts(path: Path) -> tuple[str | None, str | None]:
    """(cwd, model) from the sibling transcript's head: its ``session_start`` and the first
    ``Model: X`` system reminder (ccusage's fallback when the sidecar names no model)."""
    cwd: str | None = None
    model: str | None = None
    try:
        with open(path.with_name(session_of_file(path) + ".jsonl"), "rb") as handle:
            for count, raw in enumerate(handle):
                line = raw.decode("utf-8", "replace")
                if count == 0 and '"session_start"' in line:
                    found = re.search(r'"cwd"\s*:\s*"((?:[^"\\]|\\.)*)"', line)
                    cwd = found.group(1).encode().decode("unicode_escape") if found else None
                match = _MODEL_LINE.search(line)
                if match and model is None:
                    model = normalize_model(match.group(1)) or None
                if model is not None or count >= 500:
                    break
    except OSError:
        pass
    return cwd, model


def settings_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    out: list[MetricEvent] = []
    state = context.state.data
    path = context.stream.path
    for record in records:
        if record.position != -1:  # the whole document is the header record
            continue
        settings = record.data
        total = usage_totals(as_dict(settings.get("tokenUsage")))
        first = "running_total" not in state
        delta = delta_from_total(state, total)
        if delta is None:
            continue
        cwd, fallback_model = transcript_facts(path)
        raw_model = settings.get("model")
        model = normalize_model(raw_model) if isinstance(raw_model, str) else fallback_model
        provider = settings.get("providerLock")
        provider = PROVIDERS.get(provider.lower()) if isinstance(provider, str) else None
        try:
            modified = int(path.stat().st_mtime * 1000)
        except OSError:
            modified = 0
        locked = parse_iso_ms(settings.get("providerLockTimestamp"))
        ts = locked if first and locked is not None else modified
        out.append(
            MetricEvent(
                event_id=stable_id(
                    AGENT, "usage", context.stream.session_id, *total.fields().values()
                ),
                kind=EventKind.LLM_REQUEST,
                agent=AGENT,
                session_id=context.stream.session_id,
                ts_ms=ts,
                project=cwd,
                model=model or None,
                cost_nusd=priced(model, delta, provider),
                attrs={"cumulative_delta": 1},
                **delta.fields(),
            )
        )
    return out


def transcript_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    """Tool calls (``tool_use`` blocks and their ``tool_result``) and the cwd."""
    state = context.state.data
    tools: dict[str, Any] = state.setdefault("tools", {})
    out: list[MetricEvent] = []
    for record in records:
        data = record.data
        if data.get("type") == "session_start":
            for key, target in (("cwd", "project"), ("id", "session")):
                if isinstance(data.get(key), str):
                    state[target] = data[key]
            continue
        if data.get("type") != "message":
            continue
        ts = parse_iso_ms(data.get("timestamp")) or int(state.get("last_ts", 0))
        state["last_ts"] = ts
        message = as_dict(data.get("message"))
        for block in message.get("content") or ():
            block = as_dict(block)
            if block.get("type") == "tool_use" and isinstance(block.get("id"), str):
                tools[block["id"]] = {"ts": ts, "name": block.get("name")}
                if len(tools) > MAX_PENDING_TOOLS:
                    del tools[next(iter(tools))]
            elif block.get("type") == "tool_result" and isinstance(block.get("tool_use_id"), str):
                call_id = block["tool_use_id"]
                pending = as_dict(tools.pop(call_id, None))
                started = pending.get("ts")
                name = pending.get("name")
                out.append(
                    MetricEvent(
                        event_id=stable_id(AGENT, "tool_call", context.stream.session_id, call_id),
                        kind=EventKind.TOOL_CALL,
                        agent=AGENT,
                        session_id=str(state.get("session") or context.stream.session_id),
                        ts_ms=ts,
                        project=state.get("project"),
                        tool_name=name if isinstance(name, str) else None,
                        ok=not bool(block.get("is_error")),
                        duration_ms=float(ts - started) if isinstance(started, int) else None,
                        attrs={"tool_use_id": call_id},
                    )
                )
    return out


class DroidAgent(Agent):
    name = AGENT
    display_name = "Factory Droid"
    records_turns = False  # tokens are session running totals, seen whenever the file changes
    upload_attrs: ClassVar[Mapping[str, type]] = {"cumulative_delta": int}
    locations = Roots(default=("~/.factory/sessions",), overrides=("$DROID_SESSIONS_DIR",))
    streams = (
        StreamSpec(
            "settings",
            JsonDocumentReader(items_key="__none__"),
            ("*.settings.json", "*/*.settings.json"),
            session_of_file,
            settings_events,
        ),
        StreamSpec(
            "transcript",
            JsonlReader(),
            ("*.jsonl", "*/*.jsonl"),
            session_of_file,
            transcript_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """ccusage's ``DROID_SESSIONS_DIR`` list of sessions folders, else the default."""
        return listed_dirs(env, platform, "DROID_SESSIONS_DIR") or super().resolve_roots(
            env, platform
        )
