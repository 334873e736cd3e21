"""What may leave the machine: a whitelist of metric fields, never content.

Prompts, responses, tool input/output and file content never reach the ``events`` table's
metric columns; ``attrs`` is filtered key by key against ``allowed_attrs()`` so a future reader that
puts text into ``attrs`` cannot leak it by accident. Project paths are reduced per
``upload.project`` and filtered by the allow/deny globs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cache
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import Any

# Metric attributes every agent may use, by the type they must have; each agent adds its own
# (``Agent.upload_attrs``), see ``allowed_attrs``.
ATTR_KEYS: dict[str, type] = {
    "history_len": int,
    "context_tokens": int,
    "message_count": int,
    "pre_tokens": int,
    "status": int,
    "reported_cost_usd": float,
    "service_tier": str,
    "speed": str,
    "stop_reason": str,
    "trigger": str,
    "error": str,
    "agent_version": str,
    "entrypoint": str,
    "message_id": str,
    "request_id": str,
    "tool_use_id": str,
    "subagent_id": str,
    "compaction_id": str,
}
BRANCH_KEY = "git_branch"
# Identifier-shaped strings only: a value with spaces or newlines is text, not a metric label.
_LABEL = re.compile(r"^[\w.:@/+-]{1,128}$")


@dataclass(frozen=True)
class ProjectPolicy:
    mode: str = "basename"
    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def allows(self, project: str | None) -> bool:
        """Deny wins; with an allow list, an event without a project does not leave."""
        if project is not None and any(_match(project, g) for g in self.deny):
            return False
        if self.allow:
            return project is not None and any(_match(project, g) for g in self.allow)
        return True

    def shown(self, project: str | None) -> str | None:
        if project is None or self.mode == "none":
            return None
        if self.mode == "full":
            return project
        if self.mode == "hash":
            return hashlib.sha256(project.encode("utf-8")).hexdigest()[:16]
        return _path(project).name or project


def _path(project: str) -> PurePath:
    return PureWindowsPath(project) if "\\" in project else PurePosixPath(project)


def _match(project: str, pattern: str) -> bool:
    """A glob against the full path or, for a pattern without a slash, the folder name."""
    if fnmatchcase(project, pattern):
        return True
    return "/" not in pattern and "\\" not in pattern and fnmatchcase(_path(project).name, pattern)


@cache
def allowed_attrs() -> dict[str, type]:
    """``ATTR_KEYS`` plus every registered agent's ``upload_attrs`` (the shared keys win)."""
    from agenttail.agents.registry import upload_attrs

    return {**upload_attrs(), **ATTR_KEYS}


def safe_attrs(attrs: dict[str, Any], send_git_branch: bool) -> dict[str, Any]:
    """The whitelisted metric attributes, each of its declared type."""
    allowed = allowed_attrs()
    kept: dict[str, Any] = {}
    for key, value in attrs.items():
        if key == BRANCH_KEY and send_git_branch and isinstance(value, str) and _LABEL.match(value):
            kept[key] = value
            continue
        expected = allowed.get(key)
        if expected is None or value is None or isinstance(value, bool):
            continue
        if expected is str:
            if isinstance(value, str) and _LABEL.match(value):
                kept[key] = value
        elif expected is float:
            if isinstance(value, int | float):
                kept[key] = float(value)
        elif isinstance(value, int):
            kept[key] = value
    return kept


def safe_label(value: object) -> str | None:
    """An identifier-shaped string (model, tool name), else None."""
    return value if isinstance(value, str) and _LABEL.match(value) else None
