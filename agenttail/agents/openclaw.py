"""OpenClaw (formerly clawdbot, moltbot): ``<state dir>/agents/<agent>/sessions/<id>.jsonl``.

The state dir is ``OPENCLAW_STATE_DIR`` (OpenClaw's own variable; ``OPENCLAW_DIR`` is
ccusage's) or ``~/.openclaw``, with the older ``~/.clawdbot``, ``~/.moltbot`` and
``~/.moldbot`` read too. Transcripts are Pi session files (OpenClaw embeds Pi's session
manager, ``pi_session``), where ``model_change`` and ``custom``/``model-snapshot`` entries set
the model of the messages after them.

OpenClaw renames a transcript it resets or deletes to ``<id>.jsonl.reset.<ts>`` /
``<id>.jsonl.deleted.<ts>``, keeps ``<id>.checkpoint.<uuid>.jsonl`` copies from before a
compaction, and archives old turns by rewriting a transcript shorter. All are read: a request
is keyed by what it is, so a renamed, copied or rewritten line is the same event
(``src/config/sessions/artifacts.ts``, ``archival.ts``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.pi_session import PiSession
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "openclaw"
LEGACY_DIRS = ("~/.openclaw", "~/.clawdbot", "~/.moltbot", "~/.moldbot")


def session_of_file(path: Path) -> str:
    """``<id>.jsonl``, ``<id>.jsonl.reset.<ts>``, ``<id>.checkpoint.<uuid>.jsonl`` -> ``<id>``."""
    stem = path.name.split(".jsonl", 1)[0]
    return stem.split(".checkpoint.", 1)[0]


def transcript_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    if context.stream.path.name.endswith(".trajectory.jsonl"):  # runtime traces, not turns
        return []
    return PiSession(AGENT, context).events(records)


class OpenClawAgent(Agent):
    name = AGENT
    display_name = "OpenClaw"
    upload_attrs: ClassVar[Mapping[str, type]] = {"provider": str, "parent_session_id": str}
    locations = Roots(default=LEGACY_DIRS, overrides=("$OPENCLAW_STATE_DIR", "$OPENCLAW_DIR"))
    streams = (
        StreamSpec(
            "transcript",
            JsonlReader(),
            (
                "agents/*/sessions/*.jsonl",
                "agents/*/sessions/*.jsonl.reset.*",
                "agents/*/sessions/*.jsonl.deleted.*",
            ),
            session_of_file,
            transcript_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``OPENCLAW_STATE_DIR`` (OpenClaw's own), else ccusage's ``OPENCLAW_DIR`` list."""
        if env.get("OPENCLAW_STATE_DIR", "").strip():
            return super().resolve_roots(env, platform)
        listed = listed_dirs(env, platform, "OPENCLAW_DIR")
        return listed or super().resolve_roots(env, platform)
