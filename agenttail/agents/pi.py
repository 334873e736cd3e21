"""Pi (pi-coding-agent): ``<agent dir>/sessions/--<cwd>--/<timestamp>_<uuid>.jsonl``.

The agent dir is ``PI_CODING_AGENT_DIR`` (pi's own variable) or ``~/.pi/agent`` on every OS;
``PI_AGENT_DIR`` (ccusage's variable) names the sessions folder itself. The format and its
pitfalls are in ``pi_session``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.pi_session import PiSession, session_of_file
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "pi"


def session_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return PiSession(AGENT, context).events(records)


class PiAgent(Agent):
    name = AGENT
    display_name = "Pi"
    upload_attrs: ClassVar[Mapping[str, type]] = {"provider": str, "parent_session_id": str}
    locations = Roots(
        default=("~/.pi/agent/sessions",),
        overrides=("$PI_CODING_AGENT_DIR/sessions", "$PI_AGENT_DIR"),
    )
    streams = (
        StreamSpec("session", JsonlReader(), ("*/*.jsonl",), session_of_file, session_events),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``PI_CODING_AGENT_DIR`` (pi's own), else ccusage's ``PI_AGENT_DIR`` folder list."""
        if env.get("PI_CODING_AGENT_DIR", "").strip():
            return super().resolve_roots(env, platform)
        listed = listed_dirs(env, platform, "PI_AGENT_DIR")
        return listed or super().resolve_roots(env, platform)
