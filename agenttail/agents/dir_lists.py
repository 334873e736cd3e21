"""ccusage's data-folder variables (``QWEN_DATA_DIR``, ``OPENCODE_DATA_DIR``, ...) hold a
comma-separated list of folders; agenttail honours them the same way, after the agent's own."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from agenttail.agents.base import expand


def listed_dirs(env: Mapping[str, str], platform: str, variable: str, *below: str) -> list[Path]:
    """Each folder named in ``variable`` (comma-separated), joined with ``below``; [] if unset."""
    parts = [part.strip() for part in env.get(variable, "").split(",")]
    folders = [expand(part, env, platform) for part in parts if part]
    return [folder.joinpath(*below) for folder in folders if folder is not None]
