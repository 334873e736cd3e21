"""Loads agent plugins from the ``agenttail.agents`` entry-point group, built-ins included."""

from __future__ import annotations

from importlib.metadata import entry_points

import structlog

from agenttail.agents.base import Agent

ENTRY_POINT_GROUP = "agenttail.agents"
log = structlog.stdlib.get_logger(__name__)


def load_agents(only: set[str] | None = None) -> list[Agent]:
    """Instantiate every registered agent; a broken plugin is logged and skipped."""
    agents: list[Agent] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if only is not None and entry.name not in only:
            continue
        try:
            factory = entry.load()
            agents.append(factory())
        except Exception as exc:  # noqa: BLE001 - a third-party plugin must not take us down
            log.warning("agent_plugin_failed", plugin=entry.name, error=repr(exc))
    return agents
