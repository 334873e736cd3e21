"""Gemini CLI: ``~/.gemini/tmp/<project>/chats/session-*.jsonl`` (and legacy ``.json``).

``GEMINI_CLI_HOME`` replaces the home folder (``$GEMINI_CLI_HOME/.gemini``), as the CLI itself
does; else ccusage's ``GEMINI_DATA_DIR`` (a comma-separated list of ``tmp`` folders) is
honoured. A session file is a mutation log: a metadata line, message lines, ``$set`` and
``$rewindTo`` lines. A message is appended again under the same ``id`` when its tokens or tool
calls arrive, so the last copy of an id wins (``seq`` = byte offset). A resumed legacy ``.json``
is copied into a new ``.jsonl`` and left in place: both carry the same session and message ids,
so keying by them counts the session once. Rewound messages were billed, so they still count.
See agent-formats.md section 6 and notes/formats-agents-ccusage.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import attrgetter
from pathlib import Path
from typing import Any, ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict, as_int
from agenttail.events import (
    EventKind,
    MetricEvent,
    TokenCounts,
    last_copy_wins,
    parse_iso_ms,
    stable_id,
)
from agenttail.pricing import cost_nusd
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.jsonl import JsonlReader

AGENT = "gemini_cli"
PROVIDER = "google"
# toolCalls[].status values that end a call (scheduler/types.ts Status)
TOOL_DONE = {"success": True, "error": False, "cancelled": False}


def gemini_tokens(tokens: dict[str, Any]) -> TokenCounts:
    """Gemini usage (prompt includes cached; thoughts outside candidates) in the house meaning.

    ``tool`` (toolUsePromptTokenCount) is input the model read outside the prompt. When the
    total shows the prompt already excluded the cached part (never written by Gemini CLI, but
    ccusage allows it), the prompt is taken as it is.
    """
    prompt, cached = as_int(tokens.get("input")), as_int(tokens.get("cached"))
    output, thoughts = as_int(tokens.get("output")), as_int(tokens.get("thoughts"))
    tool, total = as_int(tokens.get("tool")), as_int(tokens.get("total"))
    inclusive = prompt + output + thoughts + tool
    if cached and total == inclusive + cached and total != inclusive:
        prompt += cached  # the prompt was written without its cached part
    return TokenCounts.from_inclusive_input(
        prompt + tool,
        min(prompt, cached),
        output=output,
        reasoning=thoughts,
        # the candidates already hold the thoughts when the total has no room for them
        reasoning_in_output=bool(thoughts and total and total == prompt + output + tool),
    )


class GeminiSession:
    """Turns one session file's records into events; the session id and run live in state."""

    def __init__(self, context: AgentContext) -> None:
        self.context = context
        self.state = context.state.data
        path = context.stream.path
        self.state.setdefault("session_id", path.stem)
        # <tmp>/<project>/chats/<file> or <tmp>/<project>/chats/<parent>/<file>
        chats = path.parent if path.parent.name == "chats" else path.parent.parent
        self.project = chats.parent.name
        self.parent = path.parent.name if path.parent.name != "chats" else None
        self.out: list[MetricEvent] = []

    def events(self, records: Sequence[Record]) -> list[MetricEvent]:
        for record in records:
            data = record.data
            if "$set" in data or "$rewindTo" in data:
                checkpoint = as_dict(data.get("$set")).get("messages")
                for message in checkpoint if isinstance(checkpoint, list) else ():
                    if isinstance(message, dict):
                        self._message(message, record.position)
                continue
            if isinstance(data.get("sessionId"), str) and "type" not in data:
                self._metadata(data)
                embedded = data.get("messages")  # a legacy document on one line
                for message in embedded if isinstance(embedded, list) else ():
                    if isinstance(message, dict):
                        self._message(message, record.position)
                continue
            self._message(data, record.position)
        return self.out

    def _metadata(self, data: dict[str, Any]) -> None:
        session = data.get("sessionId")
        if isinstance(session, str) and session:
            self.state["session_id"] = session
        if data.get("kind") == "subagent":
            self.state["subagent"] = True

    def _message(self, message: dict[str, Any], position: int) -> None:
        """One copy of a message; a later copy of the same id (a later line) replaces it."""
        kind, message_id = message.get("type"), message.get("id")
        if not isinstance(message_id, str) or not message_id:
            return
        session = str(self.state["session_id"])
        if kind == "user":
            self.state["run_id"] = stable_id(AGENT, "run", session, message_id)
            return
        # Before any user message (a subagent's session gets its task from its parent, not as
        # a user message) the session's start opens the run.
        run_id = self.state.setdefault("run_id", stable_id(AGENT, "run", session))
        ts = parse_iso_ms(message.get("timestamp"))
        if kind == "error" and ts is not None:  # counted, never its text
            self.out.append(
                MetricEvent(
                    event_id=stable_id(AGENT, "api_error", session, message_id),
                    kind=EventKind.API_ERROR,
                    agent=AGENT,
                    session_id=session,
                    ts_ms=ts,
                    run_id=run_id,
                    project=self.project,
                    ok=False,
                )
            )
        if kind != "gemini" or ts is None:
            return
        model = message.get("model") if isinstance(message.get("model"), str) else None
        attrs: dict[str, Any] = {"message_id": message_id}
        if self.parent:
            attrs["parent_session_id"] = self.parent
        base: dict[str, Any] = {
            "agent": AGENT,
            "session_id": session,
            "run_id": run_id,
            "project": self.project,
            "is_sidechain": bool(self.state.get("subagent")),
        }
        tokens = message.get("tokens")
        if model:  # a response; its tokens may come with a later copy of the message
            known = isinstance(tokens, dict)
            counts = gemini_tokens(tokens) if isinstance(tokens, dict) else TokenCounts()
            self.out.append(
                last_copy_wins(
                    MetricEvent(
                        event_id=stable_id(AGENT, "llm_request", session, message_id),
                        kind=EventKind.LLM_REQUEST,
                        ts_ms=ts,
                        model=model,
                        **counts.fields(),
                        cost_nusd=cost_nusd(model, counts, PROVIDER) if known else None,
                        tokens_known=known,
                        context_tokens=counts.all_input if known else None,
                        attrs=attrs,
                        **base,
                    ),
                    position,
                )
            )
        calls = message.get("toolCalls")
        for call in calls if isinstance(calls, list) else ():
            call_id, name = as_dict(call).get("id"), as_dict(call).get("name")
            if not isinstance(call_id, str) or not isinstance(name, str):
                continue
            status = call.get("status")
            self.out.append(
                last_copy_wins(
                    MetricEvent(
                        event_id=stable_id(AGENT, "tool_call", session, call_id),
                        kind=EventKind.TOOL_CALL,
                        ts_ms=parse_iso_ms(call.get("timestamp")) or ts,
                        tool_name=name,
                        ok=TOOL_DONE.get(status) if isinstance(status, str) else None,
                        attrs={**attrs, "tool_call_id": call_id, "tool_status": status},
                        **base,
                    ),
                    position,
                )
            )


def session_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return GeminiSession(context).events(records)


class GeminiCliAgent(Agent):
    name = AGENT
    display_name = "Gemini CLI"
    locations = Roots(
        default=("~/.gemini/tmp",),
        overrides=("$GEMINI_CLI_HOME/.gemini/tmp", "$GEMINI_DATA_DIR"),
    )
    upload_attrs: ClassVar[Mapping[str, type]] = {
        "tool_call_id": str,
        "tool_status": str,
        "parent_session_id": str,
    }
    streams = (
        StreamSpec(
            "session",
            JsonlReader(),
            ("*/chats/*.jsonl", "*/chats/*/*.jsonl"),
            attrgetter("stem"),
            session_events,
        ),
        StreamSpec(
            "legacy_session",
            JsonDocumentReader("messages"),
            ("*/chats/session-*.json",),
            attrgetter("stem"),
            session_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``GEMINI_CLI_HOME`` (the CLI's own), else ccusage's ``GEMINI_DATA_DIR`` list."""
        if env.get("GEMINI_CLI_HOME", "").strip():
            return super().resolve_roots(env, platform)
        listed = listed_dirs(env, platform, "GEMINI_DATA_DIR")
        return listed or super().resolve_roots(env, platform)
