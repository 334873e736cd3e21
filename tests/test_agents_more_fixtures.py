"""The fixtures of the agents no usage CLI reads well, scanned by the real CLI in a fake HOME,
report exactly the totals their generator computed (scripts/gen_agents_more_fixtures.py)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.registry import agent_classes
from agenttail.store import Store
from tests.helpers import agenttail_cli, agenttail_daily

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKENS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "requests")
MEASURED = ("cline", "roo_code", "kilo_code", "zed", "junie", "mistral_vibe")


def home_with(name: str, tmp_path: Path) -> dict[str, str]:
    """A HOME holding ``name``'s fixture at the agent's first root on this OS."""
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("XDG_CONFIG_HOME", "XDG_DATA_HOME")}
    env.update(HOME=str(home), AGENTTAIL_HOME=str(tmp_path / "state"))
    (cls,) = [c for c in agent_classes() if c.name == name]
    root = cls().resolve_roots(env, sys.platform)[0]
    shutil.copytree(FIXTURES / name / "root", root)
    return env


def expected(name: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((FIXTURES / name / "expected.json").read_text())
    return value


@pytest.mark.parametrize("name", MEASURED)
def test_measured_fixture_totals_per_day(name: str, tmp_path: Path) -> None:
    want = expected(name)
    report = agenttail_daily(home_with(name, tmp_path))
    got = {day["date"]: {k: day[k] for k in TOKENS} for day in report["daily"]}
    assert got == want["days"]


def _sessions(env: dict[str, str]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(
        agenttail_cli(env, "report", "session", "--json", "--timezone", "UTC")
    )["sessions"]
    return rows


def test_crush_counts_recorded_cost_and_no_tokens(tmp_path: Path) -> None:
    want = expected("crush")
    env = home_with("crush", tmp_path)
    report = agenttail_daily(env)
    assert report["totals"]["cost_usd"] == pytest.approx(want["cost_usd"])
    assert report["totals"]["input_tokens"] == report["totals"]["output_tokens"] == 0
    by_day = {day["date"]: day["cost_usd"] for day in report["daily"]}
    assert by_day == pytest.approx(want["cost_by_day"])


def test_continue_keeps_estimates_out_of_measured_totals(tmp_path: Path) -> None:
    want = expected("continue")
    report = agenttail_daily(home_with("continue", tmp_path))
    totals = {k: report["totals"][k] for k in TOKENS}
    assert totals == want["measured"]


@pytest.mark.parametrize("name", ["cursor_cli", "windsurf", "cursor", "warp"])
def test_activity_only_agents_record_turns_and_tools(name: str, tmp_path: Path) -> None:
    want = expected(name)
    env = home_with(name, tmp_path)
    agenttail_cli(env, "scan")
    with Store(tmp_path / "state" / "agenttail.db", readonly=True) as store:
        rows = list(store.query("SELECT kind, session_id, input_tokens FROM events"))
    kinds = [row["kind"] for row in rows]
    assert kinds.count("turn") == want["turns"]
    assert kinds.count("tool_call") == want["tools"]
    assert kinds.count("llm_request") == want.get("requests", 0)
    assert {row["session_id"] for row in rows} == set(want["sessions"])
    assert sum(row["input_tokens"] for row in rows) == want.get("known_input_tokens", 0)


@pytest.mark.parametrize("name", ["cline", "roo_code", "kilo_code"])
def test_cline_family_tasks_carry_the_folder_they_started_in(name: str, tmp_path: Path) -> None:
    env = home_with(name, tmp_path)
    agenttail_cli(env, "scan")
    sessions = _sessions(env)
    assert {s["session_id"] for s in sessions} == set(expected(name)["sessions"])
    assert {s["project"] for s in sessions} == {expected(name)["project"]}


def test_cline_request_updated_in_place_counts_once_with_its_final_numbers(
    tmp_path: Path,
) -> None:
    """Cline writes a request row when it starts and rewrites the whole file with the same row
    (same ``ts``) holding the tokens when it ends: one request, with the final numbers."""
    env = home_with("cline", tmp_path)
    before = agenttail_daily(env)["totals"]
    (cls,) = [c for c in agent_classes() if c.name == "cline"]
    task = next((cls().resolve_roots(env, sys.platform)[0] / "tasks").iterdir())
    ui = task / "ui_messages.json"
    rows = json.loads(ui.read_text())
    ts = max(row["ts"] for row in rows) + 1000
    started = {"ts": ts, "type": "say", "say": "api_req_started", "text": '{"request":"x"}'}
    ui.write_text(json.dumps([*rows, started]))
    assert agenttail_daily(env)["totals"]["requests"] == before["requests"]
    info = {"request": "x", "tokensIn": 11, "tokensOut": 22, "cacheReads": 33, "cacheWrites": 44}
    ui.write_text(json.dumps([*rows, {**started, "text": json.dumps(info)}]))
    after = agenttail_daily(env)["totals"]
    assert after["requests"] == before["requests"] + 1
    assert after["input_tokens"] - before["input_tokens"] == 11
    assert after["output_tokens"] - before["output_tokens"] == 22
    assert after["cache_read_tokens"] - before["cache_read_tokens"] == 33
    assert after["cache_write_tokens"] - before["cache_write_tokens"] == 44


def test_zed_thread_saved_again_moves_its_totals_to_the_new_cumulative(tmp_path: Path) -> None:
    """Zed upserts the whole thread on every save: the re-read row replaces its events."""
    import sqlite3

    import zstandard

    env = home_with("zed", tmp_path)
    before = agenttail_daily(env)["totals"]
    (cls,) = [c for c in agent_classes() if c.name == "zed"]
    database = cls().resolve_roots(env, sys.platform)[0] / "threads" / "threads.db"
    with sqlite3.connect(database) as conn:
        thread_id, blob = conn.execute(
            "SELECT id, data FROM threads WHERE parent_id IS NULL"
        ).fetchone()
        thread = json.loads(zstandard.ZstdDecompressor().decompressobj().decompress(blob))
        thread["cumulative_token_usage"]["input_tokens"] += 500
        thread["cumulative_token_usage"]["output_tokens"] += 70
        data = zstandard.ZstdCompressor().compress(json.dumps(thread).encode())
        conn.execute(
            "UPDATE threads SET data = ?, updated_at = ? WHERE id = ?",
            (data, "2026-03-12T09:00:00+00:00", thread_id),  # saved now: the newest row
        )
    after = agenttail_daily(env)["totals"]
    assert after["input_tokens"] - before["input_tokens"] == 500
    assert after["output_tokens"] - before["output_tokens"] == 70
    assert after["requests"] == before["requests"]


def test_reports_say_plainly_which_tokens_are_missing_or_estimated(tmp_path: Path) -> None:
    env = home_with("windsurf", tmp_path)
    (cls,) = [c for c in agent_classes() if c.name == "continue"]
    continue_root = cls().resolve_roots(env, sys.platform)[0]
    shutil.copytree(FIXTURES / "continue" / "root", continue_root)
    agenttail_cli(env, "scan")
    estimated = expected("continue")["estimated"]["requests"]

    def notes(*args: str) -> Any:
        return json.loads(agenttail_cli(env, "report", *args, "--json", "-z", "UTC")).get("notes")

    assert notes("daily") == [
        {"agent": "continue", "estimated_requests": estimated},
        {"agent": "windsurf", "tokens": "not recorded locally"},
    ]
    assert notes("tools", "--agent", "windsurf") == [
        {"agent": "windsurf", "tokens": "not recorded locally"}
    ]
    assert notes("monthly", "--until", "2000-01-01") is None  # nothing in that window
    text = agenttail_cli(env, "report", "daily", "-z", "UTC")
    assert "tokens not recorded locally by windsurf" in text
    assert f"{estimated} estimated requests of continue are not in these totals" in text
