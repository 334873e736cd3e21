"""Windsurf (Codeium) Cascade: the hook transcripts ``~/.windsurf/transcripts/<trajectory>.jsonl``.
Turns and tool steps only: Cascade's own trajectories (``~/.codeium/windsurf/cascade/*.pb``)
are encrypted and its token usage is reachable only through the running language server, so no
token usage is on disk in readable form. agent-formats.md 14, -more 2.11."""

from __future__ import annotations

from pathlib import Path

from agenttail.agents.bare_transcripts import observed_events, windsurf_line_events
from agenttail.agents.base import Agent, Roots, StreamSpec
from agenttail.readers.jsonl import JsonlReader


def _stem(path: Path) -> str:
    return path.stem


class WindsurfAgent(Agent):
    name = "windsurf"
    display_name = "Windsurf"
    tokens_recorded = False
    locations = Roots(default=("~/.windsurf",))
    streams = (
        StreamSpec(
            "transcript",
            JsonlReader(),
            ("transcripts/*.jsonl",),
            _stem,
            observed_events(windsurf_line_events),
        ),
    )
