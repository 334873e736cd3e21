"""Amp: ``~/.local/share/amp/threads/T-<uuid>.json``, one JSON document per thread, rewritten whole.

``AMP_DATA_DIR`` (a comma-separated list, as in ccusage) replaces the data folder, else
``$XDG_DATA_HOME/amp``, else ``~/.local/share/amp``; on Windows also ``%LOCALAPPDATA%\\amp`` and
``%APPDATA%\\amp`` (git-ai's paths; Amp is closed source). Each assistant message carries
Anthropic-style ``usage`` (input, output and the two cache classes are disjoint); a request is
keyed by (thread, messageId), so every rewrite re-derives the same events. Older threads keep a
``usageLedger.events[]`` whose tokens lack the cache split, taken from the message the event
points to (``toMessageId``). See notes/formats-agents-ccusage.md (Amp).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import unquote, urlparse

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import EventKind, MetricEvent, TokenCounts, parse_iso_ms, stable_id
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import HEADER_POSITION, JsonDocumentReader

AGENT = "amp"
TOOL_OK = {"done": True, "error": False, "cancelled": False, "rejected-by-user": False}
MAX_PENDING_TOOLS = 2000


def amp_tokens(usage: dict[str, Any]) -> TokenCounts:
    return TokenCounts(
        input_tokens=as_int(usage.get("inputTokens")),
        output_tokens=as_int(usage.get("outputTokens")),
        cache_read_tokens=as_int(usage.get("cacheReadInputTokens")),
        cache_write_5m_tokens=as_int(usage.get("cacheCreationInputTokens")),
    )


def _project(header: dict[str, Any]) -> str | None:
    trees = as_dict(as_dict(header.get("env")).get("initial")).get("trees")
    for tree in trees if isinstance(trees, list) else ():
        uri = as_dict(tree).get("uri")
        if isinstance(uri, str) and uri.startswith("file://"):
            return unquote(urlparse(uri).path)
    return None


class AmpThread:
    """One thread document: a header record, then one record per message."""

    def __init__(self, context: AgentContext) -> None:
        self.state = context.state.data
        self.thread = context.stream.path.stem
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            if record.position == HEADER_POSITION:
                self._header(record.data)
            elif record.data.get("role") == "assistant":
                self._assistant(record.data)
            elif record.data.get("role") == "user":
                self._user(record.data)
        return self.out

    def _header(self, header: dict[str, Any]) -> None:
        thread = header.get("id")
        if isinstance(thread, str) and thread:
            self.thread = thread
        self.state.clear()
        self.state["thread"] = self.thread
        self.state["project"] = _project(header)
        self.state["created"] = as_int(header.get("created")) or None
        ledger = as_dict(header.get("usageLedger")).get("events")
        events = [e for e in ledger if isinstance(e, dict)] if isinstance(ledger, list) else []
        kept = ("id", "timestamp", "model", "tokens", "credits")
        self.state["ledger"] = [{k: e[k] for k in kept if k in e} for e in events]
        self.state["by_message"] = {}
        for index, event in enumerate(events):
            if event.get("toMessageId") is not None:
                self.state["by_message"][str(event["toMessageId"])] = index
            self._ledger_event(event, index, TokenCounts())

    def _ledger_event(self, event: dict[str, Any], index: int, cache: TokenCounts) -> None:
        """A legacy ledger entry; its cache split comes from the message it points to."""
        ts, model = parse_iso_ms(event.get("timestamp")), event.get("model")
        tokens = as_dict(event.get("tokens"))
        if ts is None or not isinstance(model, str) or not model:
            return
        counts = TokenCounts(
            input_tokens=as_int(tokens.get("input")),
            output_tokens=as_int(tokens.get("output")),
            cache_read_tokens=cache.cache_read_tokens,
            cache_write_5m_tokens=cache.cache_write_5m_tokens,
        )
        event_id = event.get("id")
        key = event_id if isinstance(event_id, str) else f"ledger:{index}"
        attrs: dict[str, Any] = {"ledger_event_id": key}
        if isinstance(event.get("credits"), int | float):
            attrs["credits"] = float(event["credits"])
        self._request(key, ts, model, counts, attrs)

    def _request(
        self, key: str, ts: int, model: str, counts: TokenCounts, attrs: dict[str, Any]
    ) -> None:
        if counts.all_input + counts.output_tokens == 0:
            return
        self.out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "llm_request", self.thread, key),
                kind=EventKind.LLM_REQUEST,
                agent=AGENT,
                session_id=self.thread,
                ts_ms=ts,
                run_id=self.state.get("run_id"),
                project=self.state.get("project"),
                model=model,
                **counts.fields(),
                cost_nusd=cost_nusd(model, counts),
                context_tokens=counts.all_input,
                attrs=attrs,
            )
        )

    def _assistant(self, message: dict[str, Any]) -> None:
        usage = as_dict(message.get("usage"))
        message_id = message.get("messageId")
        ts = parse_iso_ms(usage.get("timestamp")) or self.state.get("last_ts")
        ts = ts or self.state.get("created")
        pending = self.state.setdefault("tools", {})
        for block in message.get("content") or ():
            block = as_dict(block)
            is_tool = block.get("type") == "tool_use" and isinstance(block.get("id"), str)
            if is_tool and len(pending) < MAX_PENDING_TOOLS:
                pending[block["id"]] = [block.get("name"), ts]
        if not isinstance(ts, int):
            return
        self.state["last_ts"] = ts
        model = usage.get("model")
        if self.state.get("ledger"):
            index = self.state["by_message"].get(str(message_id))
            if index is not None:  # the same event again, now with its cache split
                self._ledger_event(self.state["ledger"][index], index, amp_tokens(usage))
            return
        if not isinstance(model, str) or not model or isinstance(message_id, bool):
            return
        if not isinstance(message_id, int | str):
            return
        attrs: dict[str, Any] = {"message_id": message_id}
        if isinstance(usage.get("credits"), int | float):
            attrs["credits"] = float(usage["credits"])
        self._request(f"message:{message_id}", ts, model, amp_tokens(usage), attrs)

    def _user(self, message: dict[str, Any]) -> None:
        sent = as_int(as_dict(message.get("meta")).get("sentAt")) or None
        results = [
            as_dict(b)
            for b in message.get("content") or ()
            if as_dict(b).get("type") == "tool_result"
        ]
        if sent and not results:
            self.state["last_ts"] = sent
            self.state["run_id"] = stable_id(AGENT, "run", self.thread, message.get("messageId"))
        pending = self.state.setdefault("tools", {})
        for block in results:
            tool_use_id = block.get("toolUseID")
            if not isinstance(tool_use_id, str):
                continue
            name, ts = pending.pop(tool_use_id, [None, self.state.get("last_ts")])
            if not isinstance(ts, int):
                continue
            status = as_dict(block.get("run")).get("status")
            self.out.append(
                MetricEvent(
                    event_id=stable_id(AGENT, "tool_call", self.thread, tool_use_id),
                    kind=EventKind.TOOL_CALL,
                    agent=AGENT,
                    session_id=self.thread,
                    ts_ms=ts,
                    run_id=self.state.get("run_id"),
                    project=self.state.get("project"),
                    tool_name=name if isinstance(name, str) else None,
                    ok=TOOL_OK.get(status) if isinstance(status, str) else None,
                    attrs={"tool_use_id": tool_use_id, "tool_status": status},
                )
            )


def thread_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return AmpThread(context).events(records)


class AmpAgent(Agent):
    name = AGENT
    display_name = "Amp"
    locations = Roots(
        default=("$XDG_DATA_HOME/amp",),
        win32=("%LOCALAPPDATA%/amp", "%APPDATA%/amp", "$XDG_DATA_HOME/amp"),
        overrides=("$AMP_DATA_DIR",),
    )
    upload_attrs: ClassVar[Mapping[str, type]] = {"tool_status": str, "credits": float}
    streams = (
        StreamSpec(
            "thread",
            JsonDocumentReader("messages"),
            ("threads/T-*.json",),
            attrgetter("stem"),
            thread_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """ccusage's ``AMP_DATA_DIR`` is a comma-separated list."""
        return listed_dirs(env, platform, "AMP_DATA_DIR") or super().resolve_roots(env, platform)
