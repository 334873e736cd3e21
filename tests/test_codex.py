"""Codex rollouts: running totals, re-emits, archives, forks and sub-agent replays, tools, turns,
the public samples, and parity with ccusage 20 on a generated corpus."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.codex import CodexAgent
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.paths import AppPaths
from scripts import ccusage_tool
from scripts.gen_codex_home import generate, usage
from tests import helpers
from tests.conftest import SAMPLES
from tests.test_agents_ccusage_parity import agenttail_table, expected_table

CCUSAGE_DIR = ccusage_tool.default_dir()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
P = "019c0000-0000-7000-8000-00000000000a"
C = "019c0000-0000-7000-8000-00000000000b"


def record(ts: str, kind: str, payload: dict[str, Any]) -> str:
    return json.dumps({"timestamp": ts, "type": kind, "payload": payload}, separators=(",", ":"))


def tokens(ts: str, total: tuple[int, ...], last: tuple[int, ...]) -> str:
    info = {"total_token_usage": usage(list(total)), "last_token_usage": usage(list(last))}
    payload = {"type": "token_count", "info": {**info, "model_context_window": 258_400}}
    return record(ts, "event_msg", payload)


def meta(ts: str, sid: str, **extra: Any) -> str:
    payload = {"id": sid, "timestamp": ts, "cwd": "/home/me/app", "source": "cli", **extra}
    return record(ts, "session_meta", {**payload, "originator": "codex_cli_rs"})


def context(ts: str, model: str, turn: str = "turn-1") -> str:
    return record(ts, "turn_context", {"turn_id": turn, "cwd": "/home/me/app", "model": model})


# A session: a call, its re-emit after a turn_context refresh, a rate-limit-only line, a second
# call. Totals: 1000 in (100 cached), 50 out (10 reasoning); then +2000 in (+1000 cached), +30 out.
PARENT = [
    meta("2026-03-01T10:00:00.000Z", P),
    record("2026-03-01T10:00:00.500Z", "event_msg", {"type": "task_started", "turn_id": "t1"}),
    context("2026-03-01T10:00:01.000Z", "gpt-5", "t1"),
    record("2026-03-01T10:00:02.000Z", "event_msg", {"type": "token_count", "info": None}),
    record(
        "2026-03-01T10:00:04.000Z",
        "response_item",
        {"type": "function_call", "name": "shell", "arguments": "{}", "call_id": "call_1"},
    ),
    tokens("2026-03-01T10:00:05.000Z", (1000, 100, 50, 10), (1000, 100, 50, 10)),
    context("2026-03-01T10:00:06.000Z", "gpt-5", "t1"),
    tokens("2026-03-01T10:00:07.000Z", (1000, 100, 50, 10), (1000, 100, 50, 10)),
    record(
        "2026-03-01T10:00:08.500Z",
        "response_item",
        {"type": "function_call_output", "call_id": "call_1", "output": "ok"},
    ),
    tokens("2026-03-01T10:00:09.000Z", (3000, 1100, 80, 20), (2000, 1000, 30, 10)),
    record("2026-03-01T10:00:10.500Z", "event_msg", {"type": "task_complete", "turn_id": "t1"}),
]
PARENT_FILE = f"sessions/2026/03/01/rollout-2026-03-01T10-00-00-{P}.jsonl"
CHILD_FILE = f"sessions/2026/03/01/rollout-2026-03-01T11-00-00-{C}.jsonl"


def write(root: Path, files: dict[str, list[str]]) -> None:
    for relative, lines in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def scan(root: Path) -> sqlite3.Connection:
    paths = AppPaths.resolve().ensure()
    scan_once(Pipeline(paths, load_config(paths), [CodexAgent(roots=[root])]))
    conn = sqlite3.connect(paths.database)
    conn.row_factory = sqlite3.Row
    return conn


def requests(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
    rows = conn.execute(
        "SELECT session_id, model, input_tokens, cache_read_tokens, output_tokens,"
        " reasoning_tokens FROM events WHERE kind = 'llm_request' AND counted = 1 ORDER BY ts_ms"
    )
    return [tuple(row) for row in rows]


def test_running_totals_count_each_call_once(tmp_path: Path) -> None:
    write(tmp_path / "codex", {PARENT_FILE: PARENT})
    conn = scan(tmp_path / "codex")
    # The re-emit adds nothing; the second call is the growth of the total, not its last usage.
    assert requests(conn) == [
        (P, "gpt-5", 900, 100, 50, 10),
        (P, "gpt-5", 1000, 1000, 30, 10),
    ]
    row = conn.execute(
        "SELECT run_id, project, context_tokens, attrs FROM events"
        " WHERE kind = 'llm_request' ORDER BY ts_ms LIMIT 1"
    ).fetchone()
    assert (row["run_id"], row["project"], row["context_tokens"]) == ("t1", "/home/me/app", 1000)
    assert json.loads(row["attrs"])["model_context_window"] == 258_400
    tool = conn.execute(
        "SELECT tool_name, duration_ms, run_id FROM events WHERE kind = 'tool_call'"
    ).fetchall()
    assert [tuple(t) for t in tool] == [("shell", 4500.0, "t1")]
    turn = conn.execute("SELECT ok, duration_ms FROM events WHERE kind = 'turn'").fetchall()
    assert [tuple(t) for t in turn] == [(1, 10_000.0)]


def test_a_rollout_in_sessions_and_archived_sessions_counts_once(tmp_path: Path) -> None:
    archived = f"archived_sessions/rollout-2026-03-01T10-00-00-{P}.jsonl"
    write(tmp_path / "codex", {PARENT_FILE: PARENT, archived: PARENT})
    assert len(requests(scan(tmp_path / "codex"))) == 2
    (tmp_path / "codex" / PARENT_FILE).unlink()  # archived by moving: still counted once
    assert len(requests(scan(tmp_path / "codex"))) == 2


def own_turn(total: tuple[int, ...], last: tuple[int, ...]) -> list[str]:
    return [
        context("2026-03-01T11:00:02.000Z", "gpt-5-codex", "t2"),
        tokens("2026-03-01T11:00:05.000Z", total, last),
    ]


def test_fork_replaying_its_parent_counts_only_its_own_calls(tmp_path: Path) -> None:
    # A fork copies its parent's history with the original timestamps.
    fork = [meta("2026-03-01T11:00:00.000Z", C, forked_from_id=P), *PARENT[1:]]
    fork += own_turn((3500, 1200, 100, 20), (500, 100, 20, 0))
    write(tmp_path / "codex", {PARENT_FILE: PARENT, CHILD_FILE: fork})
    conn = scan(tmp_path / "codex")
    assert requests(conn)[2:] == [(C, "gpt-5-codex", 400, 100, 20, 0)]
    assert len(requests(conn)) == 3
    assert conn.execute("SELECT count(*) FROM events WHERE kind = 'tool_call'").fetchone()[0] == 1


def test_subagent_replay_restamped_to_its_creation_second_is_not_counted(tmp_path: Path) -> None:
    spawn = {"subagent": {"thread_spawn": {"parent_thread_id": P, "depth": 1}}}
    child = [meta("2026-03-01T11:00:00.000Z", C, source=spawn)]
    for n, line in enumerate(PARENT[1:]):
        restamped = json.loads(line)
        restamped["timestamp"] = f"2026-03-01T11:00:00.{100 + n * 10:03d}Z"
        child.append(json.dumps(restamped))
    child += own_turn((3500, 1200, 100, 20), (500, 100, 20, 0))
    write(tmp_path / "codex", {PARENT_FILE: PARENT, CHILD_FILE: child})
    assert requests(scan(tmp_path / "codex"))[2:] == [(C, "gpt-5-codex", 400, 100, 20, 0)]


def test_subagent_whose_counter_restarts_counts_its_own_total(tmp_path: Path) -> None:
    spawn = {"subagent": {"thread_spawn": {"parent_thread_id": P, "depth": 1}}}
    child = [meta("2026-03-01T11:00:00.000Z", C, source=spawn), *PARENT[1:]]
    child += own_turn((400, 0, 20, 0), (400, 0, 20, 0))
    write(tmp_path / "codex", {PARENT_FILE: PARENT, CHILD_FILE: child})
    assert requests(scan(tmp_path / "codex"))[2:] == [(C, "gpt-5-codex", 400, 0, 20, 0)]


def test_usage_before_any_turn_context_has_no_model(tmp_path: Path) -> None:
    early = [meta("2026-03-01T10:00:00.000Z", P), *PARENT[5:6]]
    write(tmp_path / "codex", {PARENT_FILE: early})
    assert requests(scan(tmp_path / "codex")) == [(P, None, 900, 100, 50, 10)]


def test_codex_home_and_its_default_on_every_os() -> None:
    agent = CodexAgent()
    for platform, home in (("linux", "/h"), ("darwin", "/h"), ("win32", "C:/Users/me")):
        env = {"HOME": home, "USERPROFILE": home}
        assert agent.resolve_roots(env, platform) == [Path(home) / ".codex"]
        moved = agent.resolve_roots({**env, "CODEX_HOME": "/data/codex"}, platform)
        assert moved == [Path("/data/codex")]
    listed = agent.resolve_roots({"HOME": "/h", "CODEX_HOME": "/a, /b"}, "linux")
    assert listed == [Path("/a"), Path("/b")]


@pytest.mark.skipif(not (SAMPLES / "codex").is_dir(), reason="shared samples not available")
def test_public_samples_give_their_final_running_totals(tmp_path: Path) -> None:
    root = tmp_path / "codex" / "sessions" / "2026" / "02" / "23"
    root.mkdir(parents=True)
    for sample in (SAMPLES / "codex").glob("rollout-*.jsonl"):
        shutil.copy(sample, root)
    conn = scan(tmp_path / "codex")
    totals = dict(
        conn.execute(
            "SELECT session_id, sum(input_tokens + cache_read_tokens + output_tokens)"
            " FROM events WHERE kind = 'llm_request' AND counted = 1 GROUP BY session_id"
        ).fetchall()
    )
    # samples/README.md: counting only when the running total rises gives the final total.
    assert totals == {
        "019c8a4d-8f45-7010-8b5d-7fad920aa6f9": 1_766_028,
        "019c8a70-dda7-7f33-98ea-f30553347322": 34_900,
        "019c8bfe-ec25-79e0-97d7-bda6a9c575ff": 299_496,
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    home = tmp_path_factory.mktemp("codex-home")
    return home, generate(home / ".codex", sessions=9, days=3, seed=23)


def test_committed_fixture_reports_its_expected_totals(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "codex" / "root", tmp_path / "home" / ".codex")
    expected = json.loads((FIXTURES / "codex" / "expected.json").read_text("utf-8"))
    table, report = agenttail_table(tmp_path / "home", tmp_path / "state")
    assert table == expected_table(expected, "agenttail")
    assert report["totals"]["requests"] == expected["requests"]


def test_generated_corpus_reports_the_house_totals(
    corpus: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    home, expected = corpus
    table, report = agenttail_table(home, tmp_path)
    assert len(table) >= 3
    assert table == expected_table(expected, "agenttail")
    assert report["totals"]["requests"] == expected["requests"]


def test_real_ccusage_agrees_on_the_generated_corpus(corpus: tuple[Path, dict[str, Any]]) -> None:
    home, expected = corpus
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    env = {k: v for k, v in os.environ.items() if k != "CODEX_HOME"} | {"HOME": str(home)}
    command = [str(executable), "codex", "daily", "--json", "--offline", "--timezone", "UTC"]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    keys = ("inputTokens", "outputTokens", "cacheReadTokens", "cacheCreationTokens")
    table = {
        day["date"]: {model: tuple(row[k] for k in keys) for model, row in day["models"].items()}
        for day in json.loads(done.stdout)["daily"]
    }
    assert table == expected_table(expected, "ccusage")
    assert expected["ccusage"] == expected["agenttail"]  # no difference to explain
