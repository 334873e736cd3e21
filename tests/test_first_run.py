"""What a new user meets (issue 8, item 19): ``agenttail run`` on a terminal says what it found
and what to do next, and every command the README shows works as written after its quick
start (the venv activated, so ``agenttail`` is on PATH)."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from agenttail.cli import main
from tests.helpers import ClaudeSession, agenttail_cli

README = Path(__file__).resolve().parents[1] / "README.md"
NEXT_STEP = "now try `agenttail report daily`"


def run_on_terminal(timeout: float = 60) -> str:
    """``agenttail run`` with stdout and stderr on a pty, stopped by SIGTERM once it is ready;
    returns what the terminal showed."""
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenttail", "run"],
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200"},
    )
    os.close(slave)
    seen = b""
    deadline = time.monotonic() + timeout
    try:
        while b"daemon_ready" not in seen and time.monotonic() < deadline:
            seen += os.read(master, 65536)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            status = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:  # reaped here, so a hang fails this test only
                proc.kill()
                proc.wait()
            os.close(master)
    assert status == 0
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", seen.decode(errors="replace"))


def test_run_on_a_terminal_says_what_it_found_and_what_next(claude_dir: Path) -> None:
    for day in ("2026-11-01", "2026-11-02"):
        session = ClaudeSession(claude_dir)
        session.write(session.assistant(f"{day}T10:00:00Z", f"msg_{day}"))
    screen = run_on_terminal()
    assert f"found 2 Claude Code sessions under {claude_dir / 'projects'}" in screen
    assert "reading that history first: reports show it when this load ends" in screen
    assert NEXT_STEP in screen
    agenttail_cli(dict(os.environ), "scan")
    screen = run_on_terminal()  # the store now holds their requests: no load to wait for
    assert f"found 2 Claude Code sessions under {claude_dir / 'projects'}" in screen
    assert "reading that history first" not in screen


def test_run_with_nothing_to_read_points_at_doctor(claude_dir: Path) -> None:
    screen = run_on_terminal()
    assert f"no Claude Code sessions under {claude_dir / 'projects'}" in screen
    assert "run `agenttail doctor`" in screen


def documented_commands() -> list[str]:
    """Every ``agenttail ...`` line of the README's indented command blocks."""
    lines = []
    for raw in README.read_text().splitlines():
        if raw.startswith("    agenttail "):
            lines.append(raw.split("#", 1)[0].strip())
    return lines


def test_quick_start_puts_agenttail_on_path() -> None:
    text = README.read_text()
    install = next(line for line in text.splitlines() if "python3 -m venv .venv &&" in line)
    assert ". .venv/bin/activate" in install  # every later bare `agenttail` then resolves


def test_every_documented_command_parses(claude_dir: Path) -> None:
    commands = documented_commands()
    assert len(commands) >= 10
    for line in commands:
        words = shlex.split(line)[1:]
        command: click.Command = main
        while isinstance(command, click.Group) and words:
            sub = command.get_command(click.Context(command), words[0])
            if sub is None:
                break
            command, words = sub, words[1:]
        command.make_context(line, list(words))  # raises on an unknown option or value


def test_documented_read_commands_work_as_written_on_the_venv_path(claude_dir: Path) -> None:
    # A session whose id starts with the prefix the README's `report session ID` example shows.
    prefixes = [
        line.split()[3]
        for line in documented_commands()
        if line.count(" ") == 3 and line.startswith("agenttail report session ")
    ]
    session_id = (prefixes[0] if prefixes else "") + "-0000-4000-8000-000000000000"
    session = ClaudeSession(claude_dir, session_id=session_id)
    session.write(session.assistant("2026-11-10T10:00:00Z", "msg_1"))
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "agenttail").exists()  # the console script an install provides
    env = {**os.environ, "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"}
    safe = ("agenttail scan", "agenttail report", "agenttail status", "agenttail config show")
    ran = 0
    for line in documented_commands():
        if not line.startswith(safe) and line != "agenttail doctor":
            continue
        if "--database" in line:  # a team server's store: tests/server/test_team_reports.py
            continue
        done = subprocess.run(
            line, shell=True, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, (line, done.stderr)
        ran += 1
    assert ran >= 8


def test_ci_runs_the_readme_test_command() -> None:
    """``.ci/run`` runs the tests exactly as the README tells a developer to (nothing weaker,
    no other options)."""
    readme = README.read_text(encoding="utf-8")
    documented = next(line for line in readme.splitlines() if "-m pytest" in line)
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    ran = next(line for line in ci.splitlines() if "-m pytest" in line)
    test_command = re.compile(r"\S*python -m pytest.*$")
    assert test_command.search(ran)[0] == test_command.search(documented.strip())[0]  # type: ignore[index]
