"""The first scan's bulk path (store/bulk.py) stores exactly what the event-by-event path does.

Each case reads the same agent files into new stores: through ``scan``'s bulk load (no
triggers or secondary indexes while loading, every rollup built by ``INSERT ... SELECT`` at the
end), through the daemon's first sweep (the same bulk load, started by ``Daemon.start``) where
asked, and through the incremental path the daemon's steady workers use (triggers kept row by
row). Every row of ``events``, ``sessions`` and each rollup table must be equal, and so must
the schema.
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
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any, TypeVar

import pytest

from agenttail.agents.registry import load_agents
from agenttail.config import load_config
from agenttail.daemon.background import Daemon
from agenttail.daemon.runner import Pipeline, drain
from agenttail.paths import AppPaths
from agenttail.store import Store
from agenttail.store.rollups import rollup_tables
from tests.conftest import SAMPLES
from tests.corpus import write_corpus
from tests.daemon_process import DaemonProcess, daemon_env, wait_until
from tests.helpers import ClaudeSession, agenttail_cli, agenttail_daily
from tests.test_doctor_agents import fixture_home

P = TypeVar("P")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import ccusage_tool  # noqa: E402
import gen_claude_corpus  # noqa: E402

# Wall-clock columns: when a row was written, not what it says.
CLOCK_COLUMNS = {"updated_at", "first_seen_at", "last_processed_at"}


def load(state: Path, *, bulk: bool, daemon: bool = False) -> Path:
    """Read every agent's files into a new store under ``state``; returns the database."""
    os.environ["AGENTTAIL_HOME"] = str(state)
    paths = AppPaths.resolve()
    if daemon:
        load_by_daemon(paths)
        return paths.database
    pipeline = Pipeline(paths, load_config(paths), load_agents(), workers=1)
    pipeline.sweep()
    if bulk:
        with pipeline.bulk_load() as loading:
            assert loading, "a new store is loaded in bulk"
            drain(pipeline)
    else:
        drain(pipeline)
    return paths.database


def load_by_daemon(paths: AppPaths) -> None:
    """The daemon in-process (scheduler, watcher, workers): started on a new store, stopped
    once its first sweep, a bulk load, has ended."""
    running = Daemon(Pipeline(paths, load_config(paths), load_agents()))
    running.start()
    try:
        assert running.loading is not None, "the daemon's first sweep of a new store is in bulk"
        running.loading.join(120)
        assert not running.loading.is_alive()
    finally:
        running.stop()


# A shared database's stream is read again by every sweep, and its read counters count each
# read: the daemon may sweep once more after its load before the test stops it.
REREAD_COUNTERS = {"records_total", "events_total"}


def table_rows(
    conn: sqlite3.Connection, table: str, *, reread: bool = False
) -> list[tuple[Any, ...]]:
    """``table``'s rows without wall-clock columns (``reread``: and without the read counters
    of shared streams)."""
    columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    kept = [
        f"CASE WHEN shared THEN NULL ELSE {c} END" if reread and c in REREAD_COUNTERS else c
        for c in columns
        if c not in CLOCK_COLUMNS
    ]
    return sorted(conn.execute(f"SELECT {', '.join(kept)} FROM {table}"), key=repr)


def assert_same_store(tmp_path: Path, *, daemon: bool = False) -> dict[str, int]:
    """Load each way and compare; returns the row count per compared table."""
    slow = sqlite3.connect(load(tmp_path / "incremental", bulk=False))
    fast = [sqlite3.connect(load(tmp_path / "bulk", bulk=True))]
    if daemon:
        fast.append(sqlite3.connect(load(tmp_path / "daemon", bulk=True, daemon=True)))
    counts = {}
    schema = "SELECT type, name, sql FROM sqlite_master ORDER BY type, name"
    for index, conn in enumerate(fast):
        reread = index == 1  # the daemon's store
        for table in ["events", "sessions", *rollup_tables()]:
            rows = table_rows(slow, table, reread=reread and table == "sessions")
            assert table_rows(conn, table, reread=reread and table == "sessions") == rows, table
            counts[table] = len(rows)
        assert conn.execute(schema).fetchall() == slow.execute(schema).fetchall()
        conn.close()
    slow.close()
    return counts


def test_every_agents_fixture(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env, _classes = fixture_home(tmp_path)
    for name in list(os.environ):
        if name not in env:
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    counts = assert_same_store(tmp_path, daemon=True)
    with sqlite3.connect(tmp_path / "daemon" / "agenttail.db") as conn:
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
    counts = assert_same_store(tmp_path, daemon=True)
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


def _loading(database: Path, *, stored: bool = True) -> bool:
    """Whether a bulk load is under way in ``database`` (``stored``: with some events stored)."""
    if not database.exists():
        return False
    try:
        with closing(sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True)) as conn:
            marker = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'store_build'")
            if marker.fetchone() is None:
                return False
            return not stored or bool(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return False


def _stopped(pid: int) -> bool:
    """Whether every thread of ``pid`` has stopped (state T in /proc; a thread gone counts)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            continue
        if state != "T":
            return False
    return True


def freeze_mid_load(proc: subprocess.Popen[bytes], database: Path) -> bool:
    """SIGSTOP ``proc`` (a scan or daemon) at a moment its bulk load has stored events and not
    ended.

    A small corpus loads in well under a second, with one commit just before the load ends:
    so the process runs a few milliseconds at a time and the store is looked at while it is
    frozen. False when the load still ended between two looks (a loaded machine can run the
    process far longer than one step): ``started_frozen_mid_load`` then starts it again.
    """
    started = wait_until(
        lambda: _loading(database, stored=False) or proc.poll() is not None, 120, 0.002
    )
    assert started and proc.poll() is None, "the load never began"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        os.kill(proc.pid, signal.SIGSTOP)
        assert wait_until(lambda: _stopped(proc.pid), 10, 0.001)
        if _loading(database):
            return True
        if not _loading(database, stored=False):
            return False
        os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.003)
    raise AssertionError("the bulk load stored nothing in 120 s")


def started_frozen_mid_load(
    start: Callable[[], P], process: Callable[[P], Any], database: Path
) -> P:
    """``start()`` a scan or daemon and SIGSTOP it mid-load (``freeze_mid_load``); when its load
    ends between two looks, kill it and start again on a new store (and log), up to 5 times."""
    for _ in range(5):
        started = start()
        proc = process(started)
        if freeze_mid_load(proc, database):
            return started
        proc.kill()
        proc.wait()
        for suffix in ("", "-wal", "-shm", "-journal"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)
        AppPaths.resolve().log_file.unlink(missing_ok=True)
    raise AssertionError("the load ended between two looks in 5 starts")


def unambiguous_corpus(claude_dir: Path) -> Any:
    """A 20 MB Claude corpus whose totals ccusage's rules and ours agree on; its expected.json."""
    gen_claude_corpus.main(
        [str(claude_dir), "--quiet", "--unambiguous", "--sessions", "30", "--target-mb", "20"]
        + [arg for kind in ("spaced_json", "micro_ts") for arg in ("--omit-edge", kind)]
    )
    return json.loads((claude_dir / "expected.json").read_text())


def assert_stored_once_with_a_fresh_schema(database: Path) -> None:
    """No event stored twice, and the schema (triggers and indexes back) is a new store's."""
    with sqlite3.connect(database) as conn:
        schema = sorted(conn.execute("SELECT type, name, sql FROM sqlite_master"))
        (copies,) = conn.execute(
            "SELECT count(*) - count(DISTINCT event_id) FROM events"
        ).fetchone()
    with Store(database.with_name("fresh.db")) as fresh:
        assert schema == sorted(fresh.conn.execute("SELECT type, name, sql FROM sqlite_master"))
    assert copies == 0


def test_a_scan_killed_during_the_bulk_load_is_read_again(claude_dir: Path) -> None:
    """The load writes without syncing and without rollups: a scan killed halfway leaves a
    store the next writer resets, and the next scan stores every request exactly once."""
    expected = unambiguous_corpus(claude_dir)
    env = dict(os.environ)
    database = AppPaths.resolve().database

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "agenttail", "scan"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    scan = started_frozen_mid_load(start, lambda proc: proc, database)
    scan.kill()
    scan.wait()
    assert scan.returncode == -signal.SIGKILL
    assert _loading(database)

    report = agenttail_daily(env)  # scan again, then the daily report
    assert ccusage_tool.agenttail_rows(report) == ccusage_tool.ccusage_rows(expected)
    assert_stored_once_with_a_fresh_schema(database)


def daily(env: dict[str, str]) -> Any:
    return json.loads(agenttail_cli(env, "report", "daily", "--json", "--timezone", "UTC"))


def test_a_daemon_killed_during_its_first_load_reads_everything_again(
    tmp_path: Path, claude_dir: Path
) -> None:
    """`agenttail run` on a new store (the README's quick start) loads in bulk too: killed
    halfway, the next start resets the store and reads every request exactly once."""
    expected = unambiguous_corpus(claude_dir)
    env = daemon_env()
    paths = AppPaths.resolve()
    first = started_frozen_mid_load(
        lambda: DaemonProcess(env, paths.state_dir, tmp_path / "killed.err"),
        lambda daemon: daemon.proc,
        paths.database,
    )
    with first as daemon:
        daemon.kill()
        assert daemon.proc.returncode == -signal.SIGKILL, daemon.stderr()
    assert _loading(paths.database)

    with DaemonProcess(env, paths.state_dir, tmp_path / "again.err") as daemon:
        assert wait_until(lambda: daemon.log_events("first_load_done"), 120), daemon.stderr()
        report = daily(env)
        assert daemon.terminate()[0] == 0
    assert ccusage_tool.agenttail_rows(report) == ccusage_tool.ccusage_rows(expected)
    assert_stored_once_with_a_fresh_schema(paths.database)


def test_during_the_first_load_reports_show_nothing_and_appends_are_read_after(
    tmp_path: Path, claude_dir: Path
) -> None:
    """Frozen halfway through its first load (SIGSTOP), the daemon has stored some events:
    `status` counts them and says the load runs, reports show no usage (the rollups are built
    when it ends). A request appended to a file the load has already read and a new session
    written meanwhile are both stored after the load, once."""
    expected = unambiguous_corpus(claude_dir)
    env = daemon_env()
    paths = AppPaths.resolve()

    def status_now() -> Any:
        return json.loads(agenttail_cli(env, "status", "--json"))

    frozen = started_frozen_mid_load(
        lambda: DaemonProcess(env, paths.state_dir, tmp_path / "daemon.err"),
        lambda daemon: daemon.proc,
        paths.database,
    )
    with frozen as daemon:
        try:
            report = daily(env)
            status = status_now()
            said = agenttail_cli({**env, "COLUMNS": "300"}, "status")
            with sqlite3.connect(f"{paths.database.as_uri()}?mode=ro", uri=True) as conn:
                (read,) = conn.execute(
                    "SELECT path FROM sessions WHERE file_size IS NOT NULL LIMIT 1"
                ).fetchone()
            appended = ClaudeSession(claude_dir, session_id=Path(read).stem)
            line = appended.assistant(
                "2026-11-30T12:00:00.000Z",
                "msg_appended_during_load",
                request_id="req_appended",
                input_tokens=1000,
                output_tokens=2000,
                cache_read=3000,
                cache_write_5m=400,
            )
            with open(read, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")
            new = ClaudeSession(claude_dir, cwd="/home/dev/started-during-load")
            new.write(
                new.assistant(
                    "2026-11-30T13:00:00.000Z",
                    "msg_new_session",
                    request_id="req_new",
                    input_tokens=7,
                    output_tokens=11,
                )
            )
        finally:
            os.kill(daemon.pid, signal.SIGCONT)
        assert report["daily"] == [] and report["totals"]["total_tokens"] == 0
        assert status["events_total"] > 0
        # Published when the load starts (its progress every 15 s): present means it runs.
        assert set(status["daemon"]["first_load"]) == {"streams", "streams_done"}
        assert "the daemon is loading the agents' history" in said

        # The two requests by hand: 1000 + 7 input, 2000 + 11 output, 400 written, 3000 read.
        added = {
            "input_tokens": 1007,
            "output_tokens": 2011,
            "cache_write_tokens": 400,
            "cache_read_tokens": 3000,
            "total_tokens": 6418,
        }
        days, totals = ccusage_tool.ccusage_rows(expected)
        want = (
            ccusage_tool.add_rows(days, {"2026-11-30": added}),
            {field: totals[field] + added[field] for field in totals},
        )
        assert wait_until(lambda: daemon.log_events("first_load_done"), 120), daemon.stderr()
        assert wait_until(lambda: ccusage_tool.agenttail_rows(daily(env)) == want, 60, 0.5)
        assert wait_until(lambda: status_now()["daemon"]["first_load"] is None, 30, 0.5)
        assert daemon.terminate()[0] == 0
    assert_stored_once_with_a_fresh_schema(paths.database)
