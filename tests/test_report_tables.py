"""Report tables on a real terminal (a pty): readable at 80 columns, whole when wider, plain
full numbers when piped (issue 8, item 17)."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from tests.helpers import ClaudeSession, run_agenttail

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
DAYS = ("2026-11-01", "2026-11-02", "2026-11-03")


def on_terminal(columns: int, *args: str) -> str:
    """Run the CLI with its stdout on a pseudo-terminal ``columns`` wide; return the screen."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {**os.environ, "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenttail", *args], stdout=slave, stderr=subprocess.PIPE, env=env
    )
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return ANSI.sub("", b"".join(chunks).decode()).replace("\r\n", "\n")


@pytest.fixture
def heavy_usage(claude_dir: Path) -> dict[str, object]:
    """Three days of large numbers: the full table needs more than 80 columns."""
    for index, day in enumerate(DAYS):
        session = ClaudeSession(claude_dir)
        for turn in range(3):
            session.write(
                session.assistant(
                    f"{day}T1{turn}:00:00Z",
                    f"msg_{index}_{turn}",
                    model="claude-opus-4-20250514",
                    input_tokens=1_234_567 + index,
                    output_tokens=654_321,
                    cache_read=98_765_432,
                    cache_write_5m=12_345_678,
                )
            )
    assert run_agenttail(dict(os.environ), "scan").returncode == 0
    done = run_agenttail(dict(os.environ), "report", "daily", "--json", "-z", "UTC")
    return dict(json.loads(done.stdout))


def test_daily_table_at_80_columns_keeps_dates_and_costs_whole(
    heavy_usage: dict[str, object],
) -> None:
    screen = on_terminal(80, "report", "daily", "-z", "UTC")
    lines = screen.splitlines()
    assert all(len(line) <= 80 for line in lines), screen
    assert "…" not in screen
    assert "claude_code" not in screen  # the agent column gives way at 80 columns
    days = heavy_usage["daily"]
    assert isinstance(days, list)
    for day in days:
        (line,) = [line for line in lines if line.lstrip().startswith(day["date"])]
        cells = line.split()
        assert cells[0] == day["date"]
        assert cells[-1] == f"{day['cost_usd']:,.2f}"  # the cost, whole
        # Three requests of 1,234,567+ input tokens: compact, e.g. 3.7M.
        assert cells[1] == f"{day['input_tokens'] / 1e6:.1f}M"
        assert cells[-2] == "3"
    (total,) = [line for line in lines if line.lstrip().startswith("total ")]
    totals = heavy_usage["totals"]
    assert isinstance(totals, dict)
    assert total.split()[-1] == f"{totals['cost_usd']:,.2f}"


def test_session_table_at_80_columns_uses_unique_prefixes(heavy_usage: dict[str, object]) -> None:
    sessions = json.loads(
        run_agenttail(dict(os.environ), "report", "session", "--json", "-z", "UTC").stdout
    )["sessions"]
    screen = on_terminal(80, "report", "session", "-z", "UTC")
    assert all(len(line) <= 80 for line in screen.splitlines()), screen
    first_cells = [line.split() for line in screen.splitlines() if line.strip()]
    for session in sessions:
        (cells,) = [
            c for c in first_cells if len(c[0]) >= 8 and session["session_id"].startswith(c[0])
        ]
        assert cells[-1] == f"{session['cost_usd']:,.2f}"
    shown = [c[0] for c in first_cells if any(s["session_id"].startswith(c[0]) for s in sessions)]
    assert len(shown) == len(set(shown)) == 3


def test_wide_terminal_and_pipe_show_whole_numbers(heavy_usage: dict[str, object]) -> None:
    days = heavy_usage["daily"]
    assert isinstance(days, list)
    expected = [
        f"{days[0]['input_tokens']:,}",
        f"{days[0]['output_tokens']:,}",
        f"{days[0]['cache_read_tokens']:,}",
        f"{days[0]['cache_write_tokens']:,}",
        f"{days[0]['total_tokens']:,}",
        "3",
        f"{days[0]['cost_usd']:,.2f}",
    ]
    wide = on_terminal(200, "report", "daily", "-z", "UTC")
    (line,) = [line for line in wide.splitlines() if DAYS[0] in line]
    assert line.split()[1:] == ["claude_code", *expected]  # the agent column, then the sums
    assert "cache write" in wide
    piped = run_agenttail({**os.environ, "COLUMNS": "80"}, "report", "daily", "-z", "UTC").stdout
    (line,) = [line for line in piped.splitlines() if DAYS[0] in line]
    assert line.split()[1:] == ["claude_code", *expected]
