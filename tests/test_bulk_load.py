"""The first scan's bulk path (store/bulk.py) stores exactly what the event-by-event path does.

Each case reads the same agent files twice into two new stores: once through the bulk load (no
triggers or secondary indexes while loading, every rollup built by ``INSERT ... SELECT`` at the
end) and once through the incremental path the daemon uses (triggers kept row by row). Every
row of ``events``, ``sessions`` and each rollup table must be equal, and so must the schema.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.registry import load_agents
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, drain
from agenttail.paths import AppPaths
from agenttail.store import Store
from agenttail.store.rollups import rollup_tables
from tests.conftest import SAMPLES
from tests.corpus import write_corpus
from tests.helpers import agenttail_daily
from tests.test_doctor_agents import fixture_home

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import ccusage_tool  # noqa: E402
import gen_claude_corpus  # noqa: E402

# Wall-clock columns: when a row was written, not what it says.
CLOCK_COLUMNS = {"updated_at", "first_seen_at", "last_processed_at"}


def load(state: Path, *, bulk: bool) -> Path:
    """Read every agent's files into a new store under ``state``; returns the database."""
    os.environ["AGENTTAIL_HOME"] = str(state)
    paths = AppPaths.resolve()
    pipeline = Pipeline(paths, load_config(paths), load_agents(), workers=1)
    pipeline.sweep()
    if bulk:
        with pipeline.bulk_load() as loading:
            assert loading, "a new store is loaded in bulk"
            drain(pipeline)
    else:
        drain(pipeline)
    return paths.database


def table_rows(conn: sqlite3.Connection, table: str) -> list[tuple[Any, ...]]:
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    kept = [c for c in columns if c not in CLOCK_COLUMNS]
    return sorted(conn.execute(f"SELECT {', '.join(kept)} FROM {table}"), key=repr)


def assert_same_store(tmp_path: Path) -> dict[str, int]:
    """Load both ways and compare; returns the row count per compared table."""
    fast = sqlite3.connect(load(tmp_path / "bulk", bulk=True))
    slow = sqlite3.connect(load(tmp_path / "incremental", bulk=False))
    counts = {}
    for table in ["events", "sessions", *rollup_tables()]:
        rows = table_rows(slow, table)
        assert table_rows(fast, table) == rows, table
        counts[table] = len(rows)
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    assert fast.execute(schema).fetchall() == slow.execute(schema).fetchall()
    fast.close()
    slow.close()
    return counts


def test_every_agents_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, _classes = fixture_home(tmp_path)
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    counts = assert_same_store(tmp_path)
    with sqlite3.connect(tmp_path / "bulk" / "agenttail.db") as conn:
        agents = {row[0] for row in conn.execute("SELECT DISTINCT agent FROM events")}
    assert len(agents) >= 20, agents  # the fixtures really were read
    assert counts["usage_rollup"] > 0 and counts["session_runs"] > 0


def test_claude_edge_cases(tmp_path: Path, claude_dir: Path) -> None:
    """Resumed sessions, streamed and progress copies, sidechain replays, null fields, a
    100 MB line, malformed and non-UTF-8 lines and an unfinished last line."""
    size = ["--sessions", "10", "--target-mb", "2", "--seed", "5", "--huge-line-mb", "100"]
    gen_claude_corpus.main([str(claude_dir), "--quiet", *size])
    write_corpus(claude_dir, sessions=6, turns=8)
    files = sorted((claude_dir / "projects").glob("*/*.jsonl"))
    with files[0].open("ab") as handle:
        handle.write(b'{"type": "assistant", "message": {"usage": null, "id": null}}\n')
        handle.write(b"{not json\n")
        handle.write(b'{"type": "user", "message": "caf\xe9"}\n')
        handle.write(b"[1, 2]\n")
        handle.write(b'{"type": "assistant", "message": {"id": "msg_partial"')  # no newline
    counts = assert_same_store(tmp_path)
    assert counts["events"] > 100
    with sqlite3.connect(tmp_path / "bulk" / "agenttail.db") as conn:
        (oversized,) = conn.execute("SELECT sum(oversized_total) FROM sessions").fetchone()
        (malformed,) = conn.execute("SELECT sum(malformed_total) FROM sessions").fetchone()
    assert oversized == 1 and malformed >= 2


def test_public_samples(tmp_path: Path, claude_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not SAMPLES.is_dir():
        pytest.skip("shared samples not available")
    shutil.copytree(SAMPLES / "claude-code", claude_dir / "projects" / "-sample-project")
    shutil.copytree(SAMPLES / "git-ai", claude_dir / "projects" / "-git-ai")
    codex = tmp_path / "codex"
    shutil.copytree(SAMPLES / "codex", codex / "sessions" / "2026" / "02" / "23")
    monkeypatch.setenv("CODEX_HOME", str(codex))
    counts = assert_same_store(tmp_path)
    with sqlite3.connect(tmp_path / "bulk" / "agenttail.db") as conn:
        agents = {row[0] for row in conn.execute("SELECT DISTINCT agent FROM events")}
    assert agents == {"claude_code", "codex"}
    assert counts["usage_rollup"] > 0


def _loading(database: Path) -> bool:
    """Whether a bulk load is under way in ``database`` with some events stored."""
    if not database.exists():
        return False
    try:
        with sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True) as conn:
            marker = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'store_build'")
            return marker.fetchone() is not None and bool(
                conn.execute("SELECT count(*) FROM events").fetchone()[0]
            )
    except sqlite3.Error:
        return False


def test_a_scan_killed_during_the_bulk_load_is_read_again(claude_dir: Path) -> None:
    """The load writes without syncing and without rollups: a scan killed halfway leaves a
    store the next writer resets, and the next scan stores every request exactly once."""
    gen_claude_corpus.main(
        [str(claude_dir), "--quiet", "--unambiguous", "--sessions", "30", "--target-mb", "20"]
        + [arg for kind in ("spaced_json", "micro_ts") for arg in ("--omit-edge", kind)]
    )
    expected = json.loads((claude_dir / "expected.json").read_text())
    env = dict(os.environ)
    database = AppPaths.resolve().database
    scan = subprocess.Popen(
        [sys.executable, "-m", "agenttail", "scan"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while scan.poll() is None and not _loading(database) and time.monotonic() < deadline:
        time.sleep(0.01)
    scan.kill()
    scan.wait()
    assert scan.returncode == -signal.SIGKILL, "the scan ended before the test could kill it"
    assert _loading(database)

    report = agenttail_daily(env)  # scan again, then the daily report
    assert ccusage_tool.agenttail_rows(report) == ccusage_tool.ccusage_rows(expected)
    with sqlite3.connect(database) as conn:
        schema = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master"))
        (copies,) = conn.execute(
            "SELECT count(*) - count(DISTINCT event_id) FROM events"
        ).fetchone()
    with Store(AppPaths.resolve().database.with_name("fresh.db")) as fresh:
        assert schema == sorted(fresh.conn.execute("SELECT type, name, sql FROM sqlite_master"))
    assert copies == 0
