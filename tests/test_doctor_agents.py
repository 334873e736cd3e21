"""doctor on a HOME holding every registered agent's fixture lists each agent with its sessions
and says whether its tokens are measured, estimated or not recorded locally (issue 10)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from agenttail.agents.base import Agent
from agenttail.agents.registry import agent_classes
from agenttail.service_cli import TOKENS_ABSENT
from tests.helpers import agenttail_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MIN_AGENTS = 25  # both "every agent people run" issues


def fixture_home(tmp_path: Path) -> tuple[dict[str, str], list[type[Agent]]]:
    """One HOME with each agent's fixture at its first root on this OS (none of the agents'
    own variables set, so every agent looks in its default place)."""
    home = tmp_path / "home"
    classes = list(agent_classes())
    drop = {v for cls in classes for v in cls.environment_variables()}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env.update(HOME=str(home), AGENTTAIL_HOME=str(tmp_path / "state"))
    for cls in classes:
        root = cls().resolve_roots(env, sys.platform)[0]
        shutil.copytree(FIXTURES / cls.name / "root", root, dirs_exist_ok=True)
    return env, classes


def test_doctor_lists_every_agent_with_its_sessions_and_token_quality(tmp_path: Path) -> None:
    env, classes = fixture_home(tmp_path)
    agenttail_cli(env, "scan")
    data = json.loads(agenttail_cli(env, "doctor", "--json"))
    listed = {agent["name"]: agent for agent in data["agents"]}
    assert set(listed) == {cls.name for cls in classes}
    for cls in classes:
        entry = listed[cls.name]
        assert entry["sessions"] > 0, f"{cls.name}: no session found in its fixture"
        expected_file = FIXTURES / cls.name / "expected.json"
        if expected_file.is_file():
            want = json.loads(expected_file.read_text())
            if isinstance(want.get("sessions"), list):  # the generators that list them
                assert entry["sessions"] == len(want["sessions"]), cls.name
        if not cls.tokens_recorded:
            assert entry["tokens"] == TOKENS_ABSENT, cls.name
        else:
            assert entry["tokens"].startswith(("measured", "estimated")), cls.name
    assert listed["continue"]["tokens"] == "measured (estimates kept apart)"
    text = agenttail_cli(env, "doctor")
    for cls in classes:
        assert f"agent {cls.name} (" in text
    assert "tokens not recorded locally" in text


def test_at_least_25_agents_are_registered() -> None:
    names = sorted(cls.name for cls in agent_classes())
    assert len(names) >= MIN_AGENTS, names
