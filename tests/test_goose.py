"""Goose sessions.db: running totals become deltas dated when they grew; parity."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from agenttail.agents.goose import GooseAgent, running_totals, timestamp_ms
from agenttail.events import parse_iso_ms
from scripts import ccusage_tool
from tests import helpers

CCUSAGE_DIR = ccusage_tool.default_dir()  # read at import: test isolation clears its variable
ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_goose_corpus.py"


def generate(out: Path) -> Any:
    args = ["--sessions", "12", "--days", "5", "--seed", "5"]
    subprocess.run([sys.executable, str(GENERATOR), str(out), *args], check=True, timeout=60)
    return json.loads((out / "expected.json").read_text())


def env_for(data_root: Path, state: Path) -> dict[str, str]:
    return {**os.environ, "AGENTTAIL_HOME": str(state), "GOOSE_PATH_ROOT": str(data_root)}


def test_roots_per_os_and_goose_path_root(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {"HOME": str(home), "USERPROFILE": str(home)}
    linux = GooseAgent().resolve_roots(env, "linux")
    assert linux[0] == home / ".local/share/goose/sessions"
    assert GooseAgent().resolve_roots(env, "darwin")[0] == home / ".local/share/goose/sessions"
    win = GooseAgent().resolve_roots(env, "win32")
    assert win == [home / "AppData/Roaming/Block/goose/data/sessions"]
    moved = GooseAgent().resolve_roots({**env, "GOOSE_PATH_ROOT": "/srv/g"}, "linux")
    assert moved == [Path("/srv/g/data/sessions")]


def test_times_and_totals() -> None:
    assert timestamp_ms("2026-11-03 09:15:00") == parse_iso_ms("2026-11-03T09:15:00Z")
    assert timestamp_ms("2026-11-03T09:15:00+02:00") == parse_iso_ms("2026-11-03T07:15:00Z")
    assert timestamp_ms(1_793_700_000) == 1_793_700_000_000
    row = {
        "accumulated_input_tokens": 900,
        "accumulated_output_tokens": 100,
        "accumulated_total_tokens": 1030,
        "input_tokens": 5,
        "output_tokens": 1,
    }
    tokens = running_totals(row)
    assert (tokens.input_tokens, tokens.output_tokens, tokens.reasoning_tokens) == (900, 130, 30)
    legacy = {"input_tokens": 50, "output_tokens": 7, "total_tokens": 57}
    assert (running_totals(legacy).input_tokens, running_totals(legacy).output_tokens) == (50, 7)


def test_growth_is_a_delta_on_the_day_it_grew(tmp_path: Path) -> None:
    """A session created on 11-01 that grows on 11-03: the first scan counts its tokens on
    11-01; after it grows, the next scan adds only the growth, on 11-03; a scan with nothing
    new adds nothing."""
    data = tmp_path / "goose"
    db_path = data / "data" / "sessions" / "sessions.db"
    db_path.parent.mkdir(parents=True)
    with sqlite3.connect(db_path) as db:
        db.execute(
            "CREATE TABLE sessions (id TEXT PRIMARY KEY, working_dir TEXT, session_type TEXT,"
            " created_at TEXT, updated_at TEXT, provider_name TEXT, model_config_json TEXT,"
            " total_tokens INT, input_tokens INT, output_tokens INT, accumulated_total_tokens"
            " INT, accumulated_input_tokens INT, accumulated_output_tokens INT)"
        )
        db.execute(
            "INSERT INTO sessions VALUES ('20261101_1', '/home/dev/app', 'user',"
            " '2026-11-01 10:00:00', '2026-11-01 10:30:00', 'anthropic',"
            ' \'{"model_name": "claude-sonnet-4-5"}\', 10, 8, 2, 1200, 1000, 200)'
        )
    env = env_for(data, tmp_path / "state")
    first = helpers.agenttail_daily(env)
    assert [(d["date"], d["input_tokens"], d["output_tokens"]) for d in first["daily"]] == [
        ("2026-11-01", 1000, 200)
    ]
    with sqlite3.connect(db_path) as db:
        db.execute(
            "UPDATE sessions SET accumulated_input_tokens = 1700, accumulated_output_tokens ="
            " 260, accumulated_total_tokens = 1960, updated_at = '2026-11-03 09:00:00'"
        )
    second = helpers.agenttail_daily(env)
    days = [(d["date"], d["input_tokens"], d["output_tokens"]) for d in second["daily"]]
    assert days == [("2026-11-01", 1000, 200), ("2026-11-03", 700, 60)]
    assert helpers.agenttail_daily(env)["daily"] == second["daily"]


def test_corpus_and_real_ccusage(tmp_path: Path) -> None:
    out = tmp_path / "corpus"
    expected = generate(out)
    data = tmp_path / "goose-root"
    (data / "data").mkdir(parents=True)
    (out / "root").rename(data / "data" / "sessions")
    ours = ccusage_tool.day_rows(helpers.agenttail_daily(env_for(data, tmp_path / "state")))
    assert len(ours) >= 4
    assert ours == ccusage_tool.day_rows(expected)
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    report = ccusage_tool.run_agent_daily(
        executable, "goose", {"GOOSE_PATH_ROOT": str(data)}, tmp_path / "home"
    )
    theirs = ccusage_tool.day_rows(report, ccusage_tool.TOKEN_FIELDS)
    assert theirs == ccusage_tool.day_rows(expected["ccusage"])
    assert {d: r["total_tokens"] for d, r in theirs.items()} == {
        d: r["total_tokens"] for d, r in ours.items()
    }
