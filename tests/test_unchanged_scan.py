"""A ``scan`` with nothing changed answers from the last sweep's manifest, before the plugins
load; every kind of change makes the next ``scan`` sweep in full and read it.

Real ``agenttail scan --json`` subprocesses on real files. Whether the fast path answered is
read from the debug log (``scan_unchanged``), never from timing. Files and folders are aged an
hour (as a user's history is): a folder changed within seconds of a sweep cannot vouch for it
(tested on its own below).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from agenttail.discovery_trace import DiscoveryTrace
from tests.helpers import ClaudeSession, agenttail_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOUR_AGO = time.time() - 3600


def age(root: Path, when: float = HOUR_AGO) -> None:
    """Give ``root`` and everything under it the modification time ``when``."""
    for path in [*sorted(root.rglob("*"), reverse=True), root]:
        os.utime(path, (when, when), follow_symlinks=False)


def set_back(*paths: Path, when: float) -> None:
    for path in paths:
        os.utime(path, (when, when))


def debug_env() -> dict[str, str]:
    return {**os.environ, "AGENTTAIL_LOG_LEVEL": "debug"}


def scan(env: dict[str, str]) -> tuple[dict[str, Any], bool]:
    """``agenttail scan --json``'s summary, and whether the manifest answered it."""
    log = Path(env["AGENTTAIL_HOME"]) / "log" / "agenttail.log"

    def answered() -> int:
        lines = log.read_text().splitlines() if log.exists() else []
        return sum(json.loads(line).get("event") == "scan_unchanged" for line in lines)

    before = answered()
    summary = json.loads(agenttail_cli(env, "scan", "--json"))
    return summary, answered() > before


def answered(env: dict[str, str]) -> None:
    """The scan after one that read a change is answered by the manifest that one recorded."""
    _, fast = scan(env)
    assert fast, "the manifest did not answer"


def claude_copy(target: Path) -> int:
    """The Claude fixture under ``target``, aged; returns how many session files it holds."""
    shutil.copytree(FIXTURES / "claude-code", target, symlinks=False)
    (target / "expected.json").unlink()
    age(target)
    return len(list((target / "projects").rglob("*.jsonl")))


def test_unchanged_scan_answers_with_the_full_sweeps_summary(claude_dir: Path) -> None:
    files = claude_copy(claude_dir)
    env = debug_env()
    first, fast = scan(env)
    assert not fast and first["discovered"] == files and first["processed"] == files
    answer, fast = scan(env)  # the cold scan's manifest answers
    assert fast
    set_back(claude_dir / "projects", when=HOUR_AGO - 1)  # not a change of any stream:
    full, fast = scan(env)  # a full sweep that queues nothing
    assert not fast
    assert (
        answer
        == full
        == {
            "discovered": files,
            "processed": 0,
            "records": 0,
            "events": 0,
            "bytes_read": 0,
            "errors": 0,
            "failed_streams": 0,
            "per_agent": {**{name: 0 for name in full["per_agent"]}, "claude_code": files},
        }
    )
    line = f"scanned {files} streams (0 changed): 0 records, 0 events, 0 streams failed\n"
    assert agenttail_cli(env, "scan") == line
    quiet = {k: v for k, v in env.items() if k != "AGENTTAIL_LOG_LEVEL"}  # logs nothing: exits
    assert agenttail_cli(quiet, "scan") == agenttail_cli(quiet, "scan") == line  # at once


def test_every_kind_of_change_makes_the_next_scan_read_it(tmp_path: Path, claude_dir: Path) -> None:
    files = claude_copy(claude_dir)
    env = debug_env()
    scan(env)
    answered(env)
    project = claude_dir / "projects" / "-Users-alex-code-docs"

    # A new session file in an existing project folder.
    new = ClaudeSession(claude_dir, cwd="/Users/alex/code/docs")
    new.write(new.prompt("hi", "2026-11-20T10:00:00Z"), new.assistant("2026-11-20T10:00:05Z", "m1"))
    set_back(new.path, project, when=HOUR_AGO + 1)
    summary, fast = scan(env)
    assert not fast and (summary["processed"], summary["records"]) == (1, 2)
    answered(env)

    # A session in a new project folder.
    other = ClaudeSession(claude_dir, cwd="/home/dev/brand-new")
    other.write(
        other.prompt("hi", "2026-11-21T10:00:00Z"), other.assistant("2026-11-21T10:00:05Z", "m2")
    )
    set_back(other.path, other.path.parent, claude_dir / "projects", when=HOUR_AGO + 2)
    summary, fast = scan(env)
    assert not fast and (summary["processed"], summary["records"]) == (1, 2)
    assert summary["discovered"] == files + 2
    answered(env)

    # A line appended to a session (its mtime set back: only the size tells).
    new.write(new.assistant("2026-11-20T10:01:00Z", "m3"))
    set_back(new.path, when=HOUR_AGO + 3)
    summary, fast = scan(env)
    assert not fast and (summary["processed"], summary["records"]) == (1, 1)
    answered(env)

    # A session truncated and rewritten to the same size (its lines swapped): read again.
    lines = new.path.read_bytes().splitlines(keepends=True)
    size = new.path.stat().st_size
    new.path.write_bytes(b"".join([lines[1], lines[0], *lines[2:]]))
    assert new.path.stat().st_size == size
    set_back(new.path, when=HOUR_AGO + 4)
    summary, fast = scan(env)
    assert not fast and (summary["processed"], summary["records"]) == (1, len(lines))
    answered(env)

    # A new agent home appears (Codex's default ~/.codex).
    codex = Path(env["HOME"]) / ".codex"
    shutil.copytree(FIXTURES / "codex" / "root", codex)
    age(codex)
    rollouts = len(list(codex.rglob("*.jsonl")))
    summary, fast = scan(env)
    assert not fast and summary["per_agent"]["codex"] == rollouts > 0
    answered(env)

    # An environment variable points discovery elsewhere.
    elsewhere = tmp_path / "claude-elsewhere"
    other_files = claude_copy(elsewhere)
    shutil.rmtree(elsewhere / "projects" / "-Users-alex-code-canary")
    set_back(elsewhere / "projects", when=HOUR_AGO)
    moved = {**env, "CLAUDE_CONFIG_DIR": str(elsewhere)}
    summary, fast = scan(moved)
    assert not fast and summary["per_agent"]["claude_code"] == other_files - 1
    answered(moved)

    # The configuration enables fewer agents.
    (Path(env["AGENTTAIL_HOME"]) / "config.toml").write_text('agents = ["claude_code"]\n')
    summary, fast = scan(moved)
    assert not fast and summary["per_agent"] == {"claude_code": other_files - 1}


def test_a_database_written_through_its_wal_is_read_again(tmp_path: Path) -> None:
    """Goose commits into ``sessions.db-wal``: the database file's own stat stays the same."""
    folder = tmp_path / "goose" / "data" / "sessions"
    folder.mkdir(parents=True)
    database = folder / "sessions.db"
    shutil.copyfile(FIXTURES / "goose" / "root" / "sessions.db", database)
    with sqlite3.connect(database) as conn:
        conn.execute("PRAGMA journal_mode = wal")
    conn.close()
    age(tmp_path / "goose")
    env = {**debug_env(), "GOOSE_PATH_ROOT": str(tmp_path / "goose")}
    first, _ = scan(env)
    assert first["per_agent"]["goose"] == 1 and first["events"] > 0
    wal = Path(f"{database}-wal")  # made by the first reader: not a change of the database
    set_back(wal, when=HOUR_AGO)
    scan(env)  # the first read made the WAL: that sweep could not vouch for it, this one can
    answered(env)

    before = database.stat()
    writer = sqlite3.connect(database)
    try:
        latest = writer.execute(
            "SELECT id, accumulated_input_tokens FROM sessions ORDER BY updated_at DESC LIMIT 1"
        ).fetchone()
        writer.execute(
            "UPDATE sessions SET accumulated_input_tokens = ?, updated_at = '2026-11-04 09:00:00'"
            " WHERE id = ?",
            (latest[1] + 1000, latest[0]),
        )
        writer.commit()
        after = database.stat()
        assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
        summary, fast = scan(env)
    finally:
        writer.close()
    assert not fast and summary["processed"] == 1 and summary["records"] == 1
    assert summary["events"] >= 1


def test_a_folder_changed_moments_before_the_sweep_cannot_vouch_for_it(tmp_path: Path) -> None:
    """A name added in the same clock tick as the listing leaves the folder's mtime as it was,
    so a folder modified within seconds of the sweep records no manifest."""
    old, recent = tmp_path / "old", tmp_path / "recent"
    old.mkdir()
    recent.mkdir()
    age(old)
    trace = DiscoveryTrace()
    trace.list_folder(str(old))
    assert trace.settled() is None
    trace.list_folder(str(recent))
    assert trace.settled() == f"modified too recently to vouch for: {recent}"


def test_aider_history_in_a_project_first_stored_by_this_scan_is_read_and_vouched_for(
    tmp_path: Path, claude_dir: Path
) -> None:
    """Aider's history lives in the project folder, which discovery learns from the store: a
    scan that stores a project's first session looks there before recording its manifest."""
    project = tmp_path / "work" / "shop"
    project.mkdir(parents=True)
    shutil.copyfile(
        FIXTURES / "aider" / "root" / ".aider.chat.history.md", project / ".aider.chat.history.md"
    )
    session = ClaudeSession(claude_dir, cwd=str(project))
    session.write(
        session.prompt("hi", "2026-11-20T10:00:00Z"),
        session.assistant("2026-11-20T10:00:05Z", "m1"),
    )
    age(tmp_path)
    env = debug_env()
    first, fast = scan(env)
    assert not fast and first["per_agent"]["aider"] == 1 and first["per_agent"]["claude_code"] == 1
    assert first["processed"] == 2  # the Claude session, then the history in its folder
    history = (project / ".aider.chat.history.md").read_text()
    report = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))
    estimated = [{"agent": "aider", "estimated_requests": history.count("> Tokens:")}]
    assert report["notes"] == estimated
    answered(env)
