"""Kilo CLI: ``~/.local/share/kilo/kilo.db``, an OpenCode fork writing the same store.

``$XDG_DATA_HOME/kilo`` on every OS (xdg-basedir, as OpenCode); ccusage's ``KILO_DATA_DIR`` (a
comma-separated list) replaces it. Messages, tool parts and token meaning are OpenCode's
(``agents/opencode.py``). See notes/formats-agents-ccusage.md (Kilo CLI).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

from agenttail.agents.base import Agent, Roots
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.opencode import OpenCodeAgent, store_streams

AGENT = "kilo"


class KiloAgent(Agent):
    name = AGENT
    display_name = "Kilo CLI"
    locations = Roots(default=("$XDG_DATA_HOME/kilo",), overrides=("$KILO_DATA_DIR",))
    recursive = False
    upload_attrs: ClassVar[Mapping[str, type]] = OpenCodeAgent.upload_attrs
    streams = store_streams(AGENT, ("kilo.db",), legacy=False)

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """ccusage's ``KILO_DATA_DIR`` is a comma-separated list."""
        return listed_dirs(env, platform, "KILO_DATA_DIR") or super().resolve_roots(env, platform)
