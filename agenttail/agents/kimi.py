"""Kimi CLI: ``<share dir>/sessions/<md5 of work dir>/<session>/wire.jsonl``, and each
subagent's ``.../<session>/subagents/<agent id>/wire.jsonl``.

The share dir is ``KIMI_SHARE_DIR`` (Kimi's own variable) or ``~/.kimi`` on every OS;
``KIMI_DATA_DIR`` (ccusage's variable) names the same folder. The wire records no model: it is
the configured default (``config.toml`` ``default_model`` -> ``[models.<alias>] model``; older
``config.json``), else ``kimi-for-coding``, ccusage's default. ``kimi.json`` maps work dirs to
their folders, which gives the project. Format and pitfalls: ``kimi_wire``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import Agent, AgentContext, Roots, StreamSpec
from agenttail.agents.dir_lists import listed_dirs
from agenttail.agents.fields import as_dict
from agenttail.agents.kimi_wire import KimiWire
from agenttail.events import MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "kimi"
DEFAULT_MODEL = "kimi-for-coding"


def configured_model(share_dir: Path) -> str:
    """The model new steps use: what ``kimi`` would pick with no ``--model``."""
    try:
        config: dict[str, Any] = tomllib.loads((share_dir / "config.toml").read_text("utf-8"))
    except (OSError, ValueError):
        try:
            config = as_dict(json.loads((share_dir / "config.json").read_text("utf-8")))
        except (OSError, ValueError):
            return DEFAULT_MODEL
    alias = config.get("default_model")
    model = as_dict(as_dict(config.get("models")).get(alias)).get("model") if alias else None
    if isinstance(model, str) and model:
        return model
    legacy = config.get("model")
    return legacy if isinstance(legacy, str) and legacy else DEFAULT_MODEL


def work_dirs(share_dir: Path) -> dict[str, str]:
    """Session folder name -> work dir path, from ``kimi.json``."""
    try:
        metadata = as_dict(json.loads((share_dir / "kimi.json").read_text("utf-8")))
    except (OSError, ValueError):
        return {}
    folders: dict[str, str] = {}
    for entry in metadata.get("work_dirs") or ():
        path = as_dict(entry).get("path")
        if not isinstance(path, str):
            continue
        digest = hashlib.md5(path.encode("utf-8")).hexdigest()  # Kimi names folders so
        kaos = as_dict(entry).get("kaos")
        folders[digest if kaos in (None, "local") else f"{kaos}_{digest}"] = path
    return folders


def _session_dir(path: Path) -> str:
    return path.parent.name


def _parent_session(path: Path) -> str:
    return path.parent.parent.parent.name


def _wire_events(
    records: Sequence[Record], context: AgentContext, subagent: bool
) -> list[MetricEvent]:
    path = context.stream.path
    session_dir = path.parent.parent.parent if subagent else path.parent
    share_dir = session_dir.parent.parent.parent
    return KimiWire(
        AGENT,
        context,
        configured_model(share_dir),
        work_dirs(share_dir).get(session_dir.parent.name),
        subagent=path.parent.name if subagent else None,
    ).events(records)


def wire_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return _wire_events(records, context, subagent=False)


def subagent_wire_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return _wire_events(records, context, subagent=True)


class KimiAgent(Agent):
    name = AGENT
    display_name = "Kimi CLI"
    locations = Roots(default=("~/.kimi",), overrides=("$KIMI_SHARE_DIR", "$KIMI_DATA_DIR"))
    streams = (
        StreamSpec("wire", JsonlReader(), ("sessions/*/*/wire.jsonl",), _session_dir, wire_events),
        StreamSpec(
            "subagent_wire",
            JsonlReader(),
            ("sessions/*/*/subagents/*/wire.jsonl",),
            _parent_session,
            subagent_wire_events,
        ),
    )

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """``KIMI_SHARE_DIR`` (Kimi's own), else ccusage's ``KIMI_DATA_DIR`` list."""
        if env.get("KIMI_SHARE_DIR", "").strip():
            return super().resolve_roots(env, platform)
        listed = listed_dirs(env, platform, "KIMI_DATA_DIR")
        return listed or super().resolve_roots(env, platform)
