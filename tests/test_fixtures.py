"""The committed fixtures, scanned by the real CLI, report exactly their expected totals."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import agenttail_daily

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def base_env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "AGENTTAIL_HOME": str(tmp_path / "state")}


def test_claude_code_fixture(tmp_path: Path) -> None:
    source = tmp_path / "claude"
    shutil.copytree(FIXTURES / "claude-code", source)
    expected = json.loads((source / "expected.json").read_text())
    report = agenttail_daily({**base_env(tmp_path), "CLAUDE_CONFIG_DIR": str(source)})
    names = {
        "input_tokens": "inputTokens",
        "output_tokens": "outputTokens",
        "cache_read_tokens": "cacheReadTokens",
        "cache_write_tokens": "cacheCreationTokens",
    }
    assert {k: report["totals"][k] for k in TOKENS} == {
        k: expected["totals"][v] for k, v in names.items()
    }
    got_days = {d["date"]: {k: d[k] for k in TOKENS} for d in report["daily"]}
    want_days = {d["date"]: {k: d[v] for k, v in names.items()} for d in expected["daily"]}
    assert got_days == want_days


def test_copilot_home_fixture(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(FIXTURES / "copilot-home", home)  # SQLite readers need a writable folder
    expected = json.loads((FIXTURES / "copilot-home.expected.json").read_text())
    env = {
        **base_env(tmp_path),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "COPILOT_HOME": str(home / ".copilot"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "no-claude"),
    }
    report = agenttail_daily(env)
    got = {d["date"]: {k: d[k] for k in (*TOKENS, "requests")} for d in report["daily"]}
    want = {
        day: {k: values[k] for k in (*TOKENS, "requests")}
        for day, values in expected["days"].items()
    }
    assert got == want


def test_pi_fixture(tmp_path: Path) -> None:
    """Three Pi sessions over two days, one of them a /fork holding a copy of its parent."""
    expected = json.loads((FIXTURES / "pi" / "expected.json").read_text())
    env = {**base_env(tmp_path), "PI_AGENT_DIR": str(FIXTURES / "pi" / "root")}
    report = agenttail_daily(env)
    got = {d["date"]: {k: d[k] for k in TOKENS} for d in report["daily"]}
    want = {d["date"]: {k: d[k] for k in TOKENS} for d in expected["daily"]}
    assert got == want
    assert expected["copies"]["totals"]["total_tokens"] > 0


def test_kimi_fixture(tmp_path: Path) -> None:
    """Kimi sessions with a fork copy and subagent wires: each step counted once."""
    expected = json.loads((FIXTURES / "kimi" / "expected.json").read_text())
    env = {**base_env(tmp_path), "KIMI_SHARE_DIR": str(FIXTURES / "kimi" / "root")}
    report = agenttail_daily(env)
    got = {d["date"]: {k: d[k] for k in TOKENS} for d in report["daily"]}
    want = {d["date"]: {k: d[k] for k in TOKENS} for d in expected["daily"]}
    assert got == want


@pytest.mark.parametrize(
    ("agent", "variable"),
    [("droid", "DROID_SESSIONS_DIR"), ("openclaw", "OPENCLAW_STATE_DIR"), ("goose", None)],
)
def test_cumulative_and_archived_fixtures(tmp_path: Path, agent: str, variable: str | None) -> None:
    """Droid's and Goose's running totals, OpenClaw's reset archives and checkpoint twins."""
    root = tmp_path / "root" if variable else tmp_path / "goose" / "data" / "sessions"
    shutil.copytree(FIXTURES / agent / "root", root)  # SQLite readers need a writable copy
    expected = json.loads((FIXTURES / agent / "expected.json").read_text())
    moved = {variable: str(root)} if variable else {"GOOSE_PATH_ROOT": str(tmp_path / "goose")}
    report = agenttail_daily({**base_env(tmp_path), **moved})
    got = {d["date"]: {k: d[k] for k in TOKENS} for d in report["daily"]}
    want = {d["date"]: {k: d[k] for k in TOKENS} for d in expected["daily"]}
    assert got == want
