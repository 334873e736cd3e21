"""GitHub Copilot CLI: ``~/.copilot/session-state/<id>/events.jsonl`` (``COPILOT_HOME`` moves it),
and its OpenTelemetry file export: ``~/.copilot/otel/*.jsonl`` and the file named by
``COPILOT_OTEL_FILE_EXPORTER_PATH`` (anywhere: its folder becomes a root, matched by file name).

The event stream (agent-formats.md section 4) gives tool calls, the model and the cwd, and in
SDK builds ``assistant.usage`` token counts; those rows have precedence 0 in the session's
tokens group, so a higher-precedence source for the same session would replace them. The OTel
export (``copilot_otel``) has its own per-trace tokens groups; its tool spans and turns share the
session's tools/turns groups at trace precedence, so they replace the event stream's copies.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from agenttail.agents.base import AgentContext, StreamSpec
from agenttail.agents.copilot_events import EventStream
from agenttail.agents.copilot_otel import UNKNOWN_SESSION, OtelFile
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "copilot_cli"
OTEL_KIND = "otel_file"
EXPORTER_ENV = "COPILOT_OTEL_FILE_EXPORTER_PATH"


def copilot_home(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    environ = os.environ if env is None else env
    configured = environ.get("COPILOT_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    return (Path.home() if home is None else home) / ".copilot"


def exporter_file(env: Mapping[str, str] | None = None) -> Path | None:
    """The file ``COPILOT_OTEL_FILE_EXPORTER_PATH`` names, if set."""
    configured = (os.environ if env is None else env).get(EXPORTER_ENV, "").strip()
    return Path(configured).expanduser().absolute() if configured else None


def _session_dir(path: Path) -> str:
    return path.parent.name


def _unknown(path: Path) -> str:
    """One export file holds many sessions; each record names its own."""
    return UNKNOWN_SESSION


class CopilotCliAgent:
    name = AGENT

    def __init__(self, roots: Sequence[Path] | None = None, exporter: Path | None = None) -> None:
        self._roots = list(roots) if roots is not None else None
        self._exporter = exporter if exporter is not None else exporter_file()
        otel_patterns: tuple[str, ...] = ("otel/*.jsonl",)
        if self._exporter is not None:
            otel_patterns += (glob.escape(self._exporter.name),)
        self._streams = (
            StreamSpec(
                "transcript", JsonlReader(), ("session-state/*/events.jsonl",), _session_dir
            ),
            StreamSpec(OTEL_KIND, JsonlReader(), otel_patterns, _unknown),
        )

    def roots(self) -> Sequence[Path]:
        roots = self._roots if self._roots is not None else [copilot_home()]
        if self._exporter is not None and self._exporter.parent not in roots:
            return [*roots, self._exporter.parent]
        return roots

    def streams(self) -> Sequence[StreamSpec]:
        return self._streams

    def watch_recursively(self, root: Path) -> bool:
        """The exporter file's folder may be ``~`` or ``/tmp``: watch only its own entries."""
        own = self._roots if self._roots is not None else [copilot_home()]
        return root in own or self._exporter is None or root != self._exporter.parent

    def to_events(self, records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        if context.stream.kind == OTEL_KIND:
            try:
                fallback = int(context.stream.path.stat().st_mtime * 1000)
            except OSError:
                fallback = 0
            return OtelFile(AGENT, context, fallback).events(records)
        return EventStream(AGENT, context, None).events(records)
