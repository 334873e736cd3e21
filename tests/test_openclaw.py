"""OpenClaw transcripts: Pi's format with model-change entries; renamed archives, checkpoint
twins and rewritten transcripts counted once; parity with ccusage 20."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import discover
from agenttail.agents.openclaw import OpenClawAgent, session_of_file
from scripts import ccusage_tool
from tests import helpers

CCUSAGE_DIR = ccusage_tool.default_dir()  # read at import: test isolation clears its variable
ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_pi_corpus.py"


def generate(out: Path) -> Any:
    args = ["--layout", "openclaw", "--sessions", "8", "--turns", "12", "--days", "5"]
    args += ["--archives", "--seed", "9"]
    subprocess.run([sys.executable, str(GENERATOR), str(out), *args], check=True, timeout=60)
    return json.loads((out / "expected.json").read_text())


def test_session_ids_of_archives_and_twins() -> None:
    sid = "4462ebfc-5f91-4ef0-9cfb-ac6e7687a66e"
    for name in (
        f"{sid}.jsonl",
        f"{sid}.jsonl.reset.2026-11-01T10-36-55.000Z",
        f"{sid}.jsonl.deleted.2026-11-01T10-36-55.000Z",
        f"{sid}.checkpoint.b5972f7a-7e7f-4b70-bc68-8462709e83a9.jsonl",
    ):
        assert session_of_file(Path(name)) == sid


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_roots(tmp_path: Path, platform: str) -> None:
    env = {"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    roots = OpenClawAgent().resolve_roots(env, platform)
    assert roots == [tmp_path / d for d in (".openclaw", ".clawdbot", ".moltbot", ".moldbot")]
    moved = {**env, "OPENCLAW_STATE_DIR": "/srv/claw", "OPENCLAW_DIR": "/x"}
    assert OpenClawAgent().resolve_roots(moved, platform) == [Path("/srv/claw")]
    listed = {**env, "OPENCLAW_DIR": "/a,/b"}
    assert OpenClawAgent().resolve_roots(listed, platform) == [Path("/a"), Path("/b")]


def test_rename_rewrite_and_twins_count_once(tmp_path: Path) -> None:
    """A reset renames a transcript, archival rewrites one shorter, a checkpoint twin copies
    one: every request still counts once (ccusage counts the twins again)."""
    out = tmp_path / "corpus"
    expected = generate(out)
    state = out / "root"
    env = {**os.environ, "AGENTTAIL_HOME": str(tmp_path / "s"), "OPENCLAW_STATE_DIR": str(state)}
    first = helpers.agenttail_daily(env)
    assert ccusage_tool.day_rows(first) == ccusage_tool.day_rows(expected)
    assert ccusage_tool.model_rows(first) == ccusage_tool.model_rows(expected)
    sessions = sorted((state / "agents" / "main" / "sessions").glob("*.jsonl"))
    live = next(p for p in sessions if ".checkpoint." not in p.name)
    shutil.move(live, live.with_name(live.name + ".reset.2026-12-01T00-00-00.000Z"))
    twin = next(p for p in sessions if ".checkpoint." in p.name)
    lines = twin.read_text().splitlines(keepends=True)
    twin.write_text(lines[0] + "".join(lines[len(lines) // 2 :]))  # archived: old turns cut
    assert ccusage_tool.day_rows(helpers.agenttail_daily(env)) == ccusage_tool.day_rows(expected)
    assert {r.session_id for r in discover(OpenClawAgent(roots=[state]))} >= {session_of_file(live)}


def test_real_ccusage_counts_checkpoint_twins_again(tmp_path: Path) -> None:
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    out = tmp_path / "corpus"
    expected = generate(out)
    report = ccusage_tool.run_agent_daily(
        executable, "openclaw", {"OPENCLAW_DIR": str(out / "root")}, tmp_path / "home"
    )
    theirs = ccusage_tool.day_rows(report, ccusage_tool.TOKEN_FIELDS)
    ours, copies = ccusage_tool.day_rows(expected), ccusage_tool.day_rows(expected["copies"])
    assert copies
    assert theirs == ccusage_tool.add_rows(ours, copies)
    mine, copied = ccusage_tool.model_rows(expected), ccusage_tool.model_rows(expected["copies"])
    zero = (0, 0, 0, 0)
    per_model = {
        day: {
            model: tuple(
                a + b
                for a, b in zip(
                    mine.get(day, {}).get(model, zero),
                    copied.get(day, {}).get(model, zero),
                    strict=True,
                )
            )
            for model in mine.get(day, {}).keys() | copied.get(day, {}).keys()
        }
        for day in mine.keys() | copied.keys()
    }
    assert ccusage_tool.model_rows(report) == per_model  # "[openclaw] <model>" in ccusage
