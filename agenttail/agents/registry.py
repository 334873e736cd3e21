"""Loads agent plugins from the ``agenttail.agents`` entry-point group, built-ins included.

An entry point names an ``Agent`` subclass. Its class attributes are read without
instantiating it (the service installer's environment, the upload allow-list, test isolation).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from agenttail.agents.base import Agent
from agenttail.lazy_log import LazyLogger

if TYPE_CHECKING:
    from agenttail.config import Config

ENTRY_POINT_GROUP = "agenttail.agents"
log = LazyLogger(__name__)


@cache
def agent_classes() -> tuple[type[Agent], ...]:
    """Every registered agent class, by entry-point name; a broken plugin is logged and
    skipped (a third-party plugin must not take the daemon down)."""
    found: list[type[Agent]] = []
    for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            loaded = entry.load()
        except Exception as exc:  # noqa: BLE001 - any import error of a plugin
            log.warning("agent_plugin_failed", plugin=entry.name, error=repr(exc))
            continue
        if not (isinstance(loaded, type) and issubclass(loaded, Agent)):
            log.warning("agent_plugin_not_an_agent", plugin=entry.name, value=repr(loaded))
            continue
        found.append(loaded)
    return tuple(found)


def load_agents(only: set[str] | None = None) -> list[Agent]:
    """Instantiate every registered agent (or those named in ``only``)."""
    agents: list[Agent] = []
    for cls in agent_classes():
        if only is not None and cls.name not in only:
            continue
        try:
            agents.append(cls())
        except Exception as exc:  # noqa: BLE001 - a third-party plugin must not take us down
            log.warning("agent_plugin_failed", plugin=cls.name, error=repr(exc))
    return agents


def configured_agents(config: Config) -> list[Agent]:
    """The agents the configuration's ``agents`` list enables (every registered one if unset)."""
    wanted = config.get_list("agents")
    return load_agents(set(wanted) if wanted else None)


def environment_variables(classes: tuple[type[Agent], ...] | None = None) -> tuple[str, ...]:
    """Every variable that moves some agent's data (see ``Agent.environment_variables``)."""
    names: dict[str, None] = {}
    for cls in agent_classes() if classes is None else classes:
        names.update(dict.fromkeys(cls.environment_variables()))
    return tuple(names)


def upload_attrs(classes: tuple[type[Agent], ...] | None = None) -> Mapping[str, type]:
    """The ``attrs`` keys agents declare may leave, with their types (first declaration wins;
    the contract test rejects two agents declaring one key with different types)."""
    merged: dict[str, type] = {}
    for cls in agent_classes() if classes is None else classes:
        for key, kind in cls.upload_attrs.items():
            merged.setdefault(key, kind)
    return merged
