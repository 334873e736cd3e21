"""GitHub Copilot CLI: ``~/.copilot/session-state/<id>/events.jsonl`` (``COPILOT_HOME`` moves it).

The event stream (agent-formats.md section 4) gives tool calls, the model and the cwd, and in
SDK builds ``assistant.usage`` token counts; those rows have precedence 0 in the session's
tokens group, so a higher-precedence source for the same session would replace them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from agenttail.agents.base import AgentContext, StreamSpec
from agenttail.agents.copilot_events import EventStream
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "copilot_cli"


def copilot_home(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    environ = os.environ if env is None else env
    configured = environ.get("COPILOT_HOME", "").strip()
    if configured:
        return Path(configured).expanduser()
    return (Path.home() if home is None else home) / ".copilot"


def _session_dir(path: Path) -> str:
    return path.parent.name


class CopilotCliAgent:
    name = AGENT

    def __init__(self, roots: Sequence[Path] | None = None) -> None:
        self._roots = list(roots) if roots is not None else None
        self._streams = (
            StreamSpec(
                "transcript", JsonlReader(), ("session-state/*/events.jsonl",), _session_dir
            ),
        )

    def roots(self) -> Sequence[Path]:
        return self._roots if self._roots is not None else [copilot_home()]

    def streams(self) -> Sequence[StreamSpec]:
        return self._streams

    def to_events(self, records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        return EventStream(AGENT, context, None).events(records)
