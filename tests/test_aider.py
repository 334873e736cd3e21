"""Aider: chat-history ``> Tokens:`` lines as estimates (rounded k-counts, recorded cost kept),
the analytics log's ``message_send`` events as measured requests, and history files found in
project folders other agents' sessions name. Formats: Aider-AI/aider io.py, base_coder.py,
analytics.py."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.aider import history_line, tokens_from_text
from tests.helpers import ClaudeSession, agenttail_cli

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "aider" / "root"
NANOS = 1_000_000_000


def local_ms(text: str) -> int:
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").astimezone().timestamp() * 1000)


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(tmp_path / "user-home"), AGENTTAIL_HOME=str(tmp_path / "state"), **extra)
    return env


def requests(tmp_path: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(tmp_path / "state" / "agenttail.db") as db:
        rows = db.execute(
            "SELECT ts_ms, model, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_tokens, recorded_cost_nusd, estimated, run_id, project, session_id"
            " FROM events WHERE agent = 'aider' AND kind = 'llm_request' AND counted = 1"
            " ORDER BY ts_ms, event_id"
        ).fetchall()
    db.close()
    return rows


def test_token_counts_come_back_from_aiders_rounding() -> None:
    assert [tokens_from_text(t) for t in ("950", "1.2k", "9.8k", "12k", None)] == [
        950,
        1200,
        9800,
        12000,
        0,
    ]
    assert history_line("#### CANARY-secret prompt") == {"kind": "prompt"}  # no words kept
    assert history_line("Some prose > Tokens: 1k sent, 2 received.") is None


def test_history_requests_are_estimates_with_their_recorded_cost(tmp_path: Path) -> None:
    home = tmp_path / "user-home"
    shutil.copytree(FIXTURE, home)
    env = environment(tmp_path)
    agenttail_cli(env, "scan")
    rows = requests(tmp_path)
    first, second = local_ms("2026-03-02 09:15:04"), local_ms("2026-03-03 17:40:00")
    sonnet = "claude-sonnet-4-20250514"
    # "12k sent, 1.2k received. Cost: $0.05"; "15k sent, 2.0k cache write, 9.8k cache hit,
    # 640 received." then "Cost: $0.03" on its own line; "950 sent, 87 received." unpriced.
    assert sorted(r[:8] for r in rows) == sorted(
        [
            (first, sonnet, 12000, 1200, 0, 0, 5 * NANOS // 100, 1),
            (first, sonnet, 15000 - 9800 - 2000, 640, 9800, 2000, 3 * NANOS // 100, 1),
            (second, "qwen2.5-coder:32b", 950, 87, 0, 0, None, 1),
        ]
    )
    runs = [r[8] for r in rows]
    assert None not in runs and len(set(runs)) == 3  # a two-line prompt is one turn
    assert {r[9] for r in rows} == {str(home)}  # the folder holding the history
    assert len({r[10] for r in rows}) == 2  # one session per "aider chat started"
    report = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))
    assert report["totals"]["requests"] == 0  # estimates never mix into measured totals
    assert report["notes"] == [{"agent": "aider", "estimated_requests": 3}]
    agenttail_cli(env, "scan")
    assert requests(tmp_path) == rows  # a re-scan changes nothing

    with open(home / ".aider.chat.history.md", "a", encoding="utf-8") as handle:
        handle.write("#### CANARY-aider-more  \n\n> Tokens: 3.1k sent, 120 received.  \n")
    agenttail_cli(env, "scan")
    (added,) = set(requests(tmp_path)) - set(rows)
    assert len(requests(tmp_path)) == 4 and added[2:4] == (3100, 120)
    assert added[10] == rows[2][10] and added[8] != rows[2][8]  # same run, next turn


def test_analytics_log_requests_are_measured(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "aider-analytics.jsonl"
    log.parent.mkdir()
    lines = [
        {"event": "launched", "properties": {}, "user_id": "u1", "time": 1772442000},
        {"event": "message_send", "user_id": "u1", "time": 1772442060, "properties": {
            "main_model": "gpt-4.1", "edit_format": "diff", "prompt_tokens": 5400,
            "completion_tokens": 310, "total_tokens": 5710, "cost": 0.01328}},
        {"event": "command_add", "properties": {}, "user_id": "u1", "time": 1772442070},
        {"event": "message_send", "user_id": "u1", "time": 1772442120, "properties": {
            "main_model": "openrouter/REDACTED", "prompt_tokens": 800,
            "completion_tokens": 40, "total_tokens": 840, "cost": 0.0021}},
    ]  # fmt: skip
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    env = environment(tmp_path, AIDER_ANALYTICS_LOG=str(log))
    agenttail_cli(env, "scan")
    rows = requests(tmp_path)
    assert [r[:8] for r in rows] == [
        (1772442060_000, "gpt-4.1", 5400, 310, 0, 0, 13_280_000, 0),
        (1772442120_000, None, 800, 40, 0, 0, 2_100_000, 0),
    ]
    assert len({r[10] for r in rows}) == 1 and len({r[8] for r in rows}) == 2
    report = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))
    assert report["totals"]["requests"] == 2
    assert report["totals"]["input_tokens"] == 5400 + 800
    assert report["totals"]["output_tokens"] == 310 + 40


def test_analytics_log_named_in_the_global_config_file(tmp_path: Path) -> None:
    log = tmp_path / "elsewhere" / "analytics.jsonl"
    log.parent.mkdir()
    log.write_text(
        json.dumps(
            {"event": "message_send", "user_id": "u2", "time": 1772500000, "properties": {
                "main_model": "gpt-4.1", "prompt_tokens": 700, "completion_tokens": 30}}
        ) + "\n"
    )  # fmt: skip
    home = tmp_path / "user-home"
    home.mkdir()
    (home / ".aider.conf.yml").write_text(f"model: gpt-4.1\nanalytics-log: '{log}'\n")
    env = environment(tmp_path)
    agenttail_cli(env, "scan")
    assert [r[:4] for r in requests(tmp_path)] == [(1772500000_000, "gpt-4.1", 700, 30)]


def test_history_found_in_a_project_another_agent_worked_in(tmp_path: Path) -> None:
    project = tmp_path / "work" / "shop"
    project.mkdir(parents=True)
    shutil.copy(FIXTURE / ".aider.chat.history.md", project)
    claude = ClaudeSession(tmp_path / "claude", cwd=str(project))
    claude.write(
        claude.prompt("hello", "2026-03-02T10:00:00Z"),
        claude.assistant("2026-03-02T10:00:05Z", "msg_1"),
    )
    env = environment(tmp_path, CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    agenttail_cli(env, "scan")  # learns the project from Claude Code's session
    agenttail_cli(env, "scan")  # finds Aider's history there
    rows = requests(tmp_path)
    assert len(rows) == 3 and {r[9] for r in rows} == {str(project)}


@pytest.mark.parametrize("name", ["aider"])
def test_doctor_says_aider_tokens_are_estimates(name: str, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE, tmp_path / "user-home")
    env = environment(tmp_path)
    agenttail_cli(env, "scan")
    data = json.loads(agenttail_cli(env, "doctor", "--json"))
    (entry,) = [a for a in data["agents"] if a["name"] == name]
    assert entry["tokens"] == "estimated" and entry["sessions"] == 2
