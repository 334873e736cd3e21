"""GitHub Copilot CLI: ``~/.copilot/session-state/<id>/events.jsonl`` (``COPILOT_HOME`` moves it),
and its OpenTelemetry file export: ``~/.copilot/otel/*.jsonl`` and the file named by
``COPILOT_OTEL_FILE_EXPORTER_PATH`` (anywhere: its folder becomes a root, matched by file name).

``session-store.db`` (``copilot_store``): the runtime's own table of per-request usage, the
best per-request source of a session when present.

The event stream (agent-formats.md section 4) gives tool calls, the model and the cwd, in SDK
builds ``assistant.usage`` per-request token counts (precedence 0 in the session's tokens
group), and in every build the per-model totals of ``session.shutdown.modelMetrics``
(precedence -1: counted only for a session with no per-request source). The OTel export
(``copilot_otel``) shares the session's tokens, tools and turns groups at higher precedence, so
it replaces the event stream's copies: one session is never counted from two sources.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from agenttail.agents.base import SHARED_SESSION_ID, Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.copilot_events import EventStream
from agenttail.agents.copilot_otel import UNKNOWN_SESSION, OtelFile
from agenttail.agents.copilot_store import USAGE_ROWS, session_store_events
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader
from agenttail.readers.sqlite_rows import SqliteRowReader

AGENT = "copilot_cli"
OTEL_KIND = "otel_file"
EXPORTER_ENV = "COPILOT_OTEL_FILE_EXPORTER_PATH"


def exporter_file(env: Mapping[str, str] | None = None) -> Path | None:
    """The file ``COPILOT_OTEL_FILE_EXPORTER_PATH`` names, if set."""
    configured = (os.environ if env is None else env).get(EXPORTER_ENV, "").strip()
    return Path(configured).expanduser().absolute() if configured else None


def _session_dir(path: Path) -> str:
    return path.parent.name


def _unknown(path: Path) -> str:
    """One export file holds many sessions; each record names its own."""
    return UNKNOWN_SESSION


def event_stream_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return EventStream(AGENT, context, None).events(records)


def _shared(path: Path) -> str:
    return SHARED_SESSION_ID


def store_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return session_store_events(AGENT, records, context)


def otel_file_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    try:
        fallback = int(context.stream.path.stat().st_mtime * 1000)
    except OSError:
        fallback = 0
    return OtelFile(AGENT, context, fallback).events(records)


def _with_exporter(roots: list[Path], exporter: Path | None) -> list[Path]:
    if exporter is not None and exporter.parent not in roots:
        return [*roots, exporter.parent]
    return roots


class CopilotCliAgent(Agent):
    name = AGENT
    display_name = "GitHub Copilot CLI"
    locations = Roots(default=("~/.copilot",), overrides=("$COPILOT_HOME",))
    service_env = (EXPORTER_ENV,)

    def __init__(self, roots: Sequence[Path] | None = None, exporter: Path | None = None) -> None:
        super().__init__(roots)
        self._exporter = exporter if exporter is not None else exporter_file()
        otel_patterns: tuple[str, ...] = ("otel/*.jsonl",)
        if self._exporter is not None:
            otel_patterns += (glob.escape(self._exporter.name),)
        self.streams = (
            StreamSpec(
                "transcript",
                JsonlReader(),
                ("session-state/*/events.jsonl",),
                _session_dir,
                event_stream_events,
            ),
            StreamSpec(OTEL_KIND, JsonlReader(), otel_patterns, _unknown, otel_file_events),
            StreamSpec(
                "session_store",
                SqliteRowReader(USAGE_ROWS),
                ("session-store.db",),
                _shared,
                store_events,
                shared=True,
            ),
        )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``COPILOT_HOME`` (else ``~/.copilot``), plus the exporter file's folder."""
        return _with_exporter(super().resolve_roots(env, platform), exporter_file(env))

    def _own_roots(self) -> list[Path]:
        if self._pinned is not None:
            return self._pinned
        return self.locations.resolve(os.environ, sys.platform)

    def roots(self) -> Sequence[Path]:
        return _with_exporter(self._own_roots(), self._exporter)

    def watch_recursively(self, root: Path) -> bool:
        """The exporter file's folder may be ``~`` or ``/tmp``: watch only its own entries."""
        return root in self._own_roots() or self._exporter is None or root != self._exporter.parent
