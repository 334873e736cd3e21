"""Cursor's agent CLI (``cursor-agent``): ``~/.cursor/projects/<p>/agent-transcripts/`` JSONL
(``CURSOR_CONFIG_DIR`` moves ``~/.cursor``). Turns and tool calls only: Cursor keeps no token
usage on disk (its usage lives in Cursor's web dashboard). agent-formats.md 8, -more 2.6."""

from __future__ import annotations

from pathlib import Path

from agenttail.agents.bare_transcripts import cursor_line_events, observed_events
from agenttail.agents.base import Agent, Roots, StreamSpec
from agenttail.readers.jsonl import JsonlReader


def _stem(path: Path) -> str:
    return path.stem


class CursorCliAgent(Agent):
    name = "cursor_cli"
    display_name = "Cursor CLI"
    tokens_recorded = False
    locations = Roots(default=("~/.cursor",), overrides=("$CURSOR_CONFIG_DIR",))
    streams = (
        StreamSpec(
            "transcript",
            JsonlReader(),
            ("projects/*/agent-transcripts/*.jsonl", "projects/*/agent-transcripts/*/*.jsonl"),
            _stem,
            observed_events(cursor_line_events),
        ),
    )
