"""Gemini CLI, Qwen Code, OpenCode, Kilo CLI and Amp against their expected totals and ccusage 20.

``scripts/gen_agent_homes.py`` writes each agent's files into a HOME and computes two sets of
per-day, per-model totals by its own arithmetic: agenttail's (input without cache traffic, output
with reasoning, each request once) and ccusage's (with the double counts the README lists). A
real ``agenttail scan`` + ``report daily --json`` must equal the first; the real ccusage binary
(``ccusage <agent> daily --json --offline``) must equal the second, so every difference between
the two tools is one the generator names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from scripts import ccusage_tool
from scripts.gen_agent_homes import AGENTS, ROOTS, generate
from tests import helpers

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CCUSAGE_DIR = ccusage_tool.default_dir()
SUBCOMMAND = {"gemini_cli": "gemini", "qwen_code": "qwen", "opencode": "opencode"}
SUBCOMMAND |= {"kilo": "kilo", "amp": "amp"}
COLUMNS = ("input", "output", "cache_read", "cache_write")
Table = dict[str, dict[str, tuple[int, ...]]]  # day -> model -> COLUMNS


def expected_table(expected: dict[str, Any], side: str) -> Table:
    return {
        day: {model: tuple(row[c] for c in COLUMNS) for model, row in models.items()}
        for day, models in expected[side].items()
    }


def agenttail_table(home: Path, state: Path) -> tuple[Table, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_DATA_HOME", "XDG_CONFIG_HOME")}
    env |= {"HOME": str(home), "AGENTTAIL_HOME": str(state)}
    report = helpers.agenttail_daily(env)
    keys = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
    table = {
        day["date"]: {m["model"]: tuple(m[k] for k in keys) for m in day["models"]}
        for day in report["daily"]
    }
    return table, report


def ccusage_table(executable: Path, agent: str, home: Path) -> tuple[Table, dict[str, int]]:
    env = {k: v for k, v in os.environ.items() if k != "HOME"} | {"HOME": str(home)}
    command = [str(executable), SUBCOMMAND[agent], "daily", "--json", "--offline"]
    done = subprocess.run(
        [*command, "--timezone", "UTC"], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    keys = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheCreationTokens")
    table = {
        day["date"]: {m["modelName"]: tuple(m[k] for k in keys) for m in day["modelBreakdowns"]}
        for day in report["daily"]
    }
    return table, {day["date"]: day["totalTokens"] for day in report["daily"]}


@pytest.fixture(scope="module")
def ccusage() -> Path:
    return helpers.ccusage_or_skip(CCUSAGE_DIR)


@pytest.fixture(scope="module", params=AGENTS)
def corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    home = tmp_path_factory.mktemp(f"home-{request.param}")
    return request.param, home, generate(home, request.param, sessions=9, days=3, seed=17)


def test_agenttail_reports_the_house_totals(corpus: Any, tmp_path: Path) -> None:
    _, home, expected = corpus
    table, report = agenttail_table(home, tmp_path / "state")
    assert len(table) >= 3
    assert table == expected_table(expected, "agenttail")
    assert report["totals"]["requests"] == expected["requests"]


def test_real_ccusage_reports_what_the_generator_predicts(
    corpus: Any, ccusage: Path, tmp_path: Path
) -> None:
    agent, home, expected = corpus
    table, totals = ccusage_table(ccusage, agent, home)
    assert table == expected_table(expected, "ccusage")
    for day, models in expected["ccusage"].items():  # reasoning only in ccusage's totalTokens
        assert totals[day] == sum(sum(row.values()) for row in models.values()), day


def test_every_fixture_at_once_in_one_home(tmp_path: Path) -> None:
    """The committed fixtures, all in their default places: one scan, one report, every agent."""
    home = tmp_path / "home"
    want: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * 4))
    for agent in AGENTS:
        shutil.copytree(FIXTURES / agent / "root", home / ROOTS[agent])
        expected = json.loads((FIXTURES / agent / "expected.json").read_text("utf-8"))
        for day, models in expected_table(expected, "agenttail").items():
            for model, row in models.items():
                want[day][model] = [a + b for a, b in zip(want[day][model], row, strict=True)]
    table, _ = agenttail_table(home, tmp_path / "state")
    assert table == {d: {m: tuple(r) for m, r in ms.items()} for d, ms in want.items()}
