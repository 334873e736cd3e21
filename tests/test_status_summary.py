"""``status`` for people with thousands of sessions: a summary per agent by default, every
stream with ``--streams``, ids that never look alike, and only current errors shown as current
(issue 8, item 18). Driven through the real CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.helpers import ClaudeSession, run_agenttail

# Two sessions whose ids share their first 14 characters, each with a subagent file.
SESSIONS = ("0f3c9a2e-7b1d-4c55-9a0e-1d2f3a4b5c6d", "0f3c9a2e-7b1d-4e77-8b1f-2e3f4a5b6c7d")


def write_sessions(claude_dir: Path) -> list[ClaudeSession]:
    files = []
    for index, session_id in enumerate(SESSIONS):
        main = ClaudeSession(claude_dir, session_id=session_id)
        main.write(main.assistant(f"2026-11-0{index + 1}T10:00:00Z", f"msg_main_{index}"))
        sub = ClaudeSession(claude_dir, session_id=session_id, agent_id=f"sub{index}")
        sub.sidechain = True
        sub.write(sub.assistant(f"2026-11-0{index + 1}T10:05:00Z", f"msg_sub_{index}"))
        files += [main, sub]
    return files


def status(*args: str) -> str:
    done = run_agenttail({**os.environ, "COLUMNS": "120"}, "status", *args)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_status_summarizes_per_agent_and_shows_only_current_errors(claude_dir: Path) -> None:
    files = write_sessions(claude_dir)
    broken = files[3]
    broken.path.chmod(0)
    try:
        failed = run_agenttail(dict(os.environ), "scan", as_user=True)
        assert failed.returncode == 1
        summary = run_agenttail({**os.environ, "COLUMNS": "120"}, "status", as_user=True).stdout
    finally:
        broken.path.chmod(0o644)
    agent_line, failing_line = [x for x in summary.splitlines() if x.startswith(" claude_code")]
    # streams, sessions, events (3 readable files), behind, failing
    assert agent_line.split()[1:7] == ["4", "2", "3", "0", "B", "1"]
    assert failing_line.split()[1:3] == ["0f3c9a2e-7b1d-4e", "agent-sub1.jsonl"]
    assert "1 streams failing now" in summary
    assert "PermissionError" in summary
    assert "agent-sub0.jsonl" not in summary  # healthy streams are not listed by default

    assert run_agenttail(dict(os.environ), "scan").returncode == 0
    recovered = status()
    (agent_line,) = [line for line in recovered.splitlines() if line.startswith(" claude_code")]
    assert agent_line.split()[1:7] == ["4", "2", "4", "0", "B", "0"]
    assert "PermissionError" not in recovered and "failing now" not in recovered

    data = json.loads(status("--json"))
    (agent,) = data["agents"]
    assert (agent["agent"], agent["streams"], agent["sessions"], agent["events"]) == (
        "claude_code",
        4,
        2,
        4,
    )
    assert agent["last_event_at"].startswith("2026-11-02T10:05:00")
    stream = next(s for s in data["streams"] if s["path"] == str(broken.path))
    assert "Permission denied" in stream["last_error"]  # the history is kept ...
    assert stream["current_error"] is None  # ... but it is not a current error
    assert stream["error_count"] == 0
    assert data["streams_failing"] == 0

    every = status("--streams")
    rows = [line.split() for line in every.splitlines() if line.startswith(" claude_code  ")]
    assert len(rows) == 1 + 4  # the agent summary, then every stream
    shown = {row[1] for row in rows[1:]}
    assert shown == {"0f3c9a2e-7b1d-4c", "0f3c9a2e-7b1d-4e"}  # unique prefixes
    assert {row[2] for row in rows[1:]} >= {"agent-sub0.jsonl", "agent-sub1.jsonl"}
