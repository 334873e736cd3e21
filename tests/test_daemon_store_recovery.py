"""The store replaced, emptied or damaged under the real daemon: it follows or rebuilds it by
itself, so new usage shows without a restart, each request once; ``doctor`` names the damage;
``scan`` while the daemon runs is safe."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import DaemonProcess, counted_requests, daemon_env, wait_until
from tests.helpers import ClaudeSession, run_agenttail

pytestmark = pytest.mark.slow


def add_request(session: ClaudeSession, index: int) -> None:
    session.write(session.assistant(f"2026-11-20T10:{index:02d}:00.000Z", f"msg_{index}"))


def test_replaced_emptied_and_damaged_store_while_the_daemon_runs(
    home: Path, claude_dir: Path, tmp_path: Path
) -> None:
    env = daemon_env(AGENTTAIL_SWEEP_INTERVAL_SECONDS="86400")
    database = home / "agenttail.db"
    session = ClaudeSession(claude_dir)
    add_request(session, 1)
    with DaemonProcess(env, home, tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        assert wait_until(lambda: counted_requests(database)[0] == 1, 30), daemon.stderr()
        # The first sweep of the new store was a bulk load: its connections have closed (a file
        # moved while a connection still writes loses what it writes) and the steady sweep ran.
        assert wait_until(
            lambda: (
                daemon.log_events("first_load_done") and len(daemon.log_events("sweep_done")) > 1
            ),
            30,
        ), daemon.stderr()

        # 1. Moved aside and rebuilt by `scan` while the daemon runs (scan is safe then).
        moved = home / "moved-aside.db"
        for suffix in ("", "-wal", "-shm"):
            part = Path(f"{database}{suffix}")
            if part.exists():
                part.replace(f"{moved}{suffix}")
        scan = run_agenttail(env, "scan")
        assert scan.returncode == 0, scan.stderr
        assert counted_requests(database)[0] == 1
        add_request(session, 2)
        assert wait_until(lambda: counted_requests(database)[0] == 2, 10), (
            "the daemon kept the old file"
        )
        assert counted_requests(moved)[0] == 1, "nothing went to the file moved aside"

        # 2. Emptied to 0 bytes in place.
        os.truncate(database, 0)
        add_request(session, 3)
        assert wait_until(lambda: counted_requests(database)[0] == 3, 15), daemon.stderr()

        # 3. Overwritten with garbage (a foreign file): moved aside and rebuilt.
        database.write_bytes(b"this is not a database " * 500)
        add_request(session, 4)
        assert wait_until(lambda: counted_requests(database)[0] == 4, 15), daemon.stderr()
        assert list(home.glob("agenttail.db.damaged-*")), "the damaged file is kept aside"

        assert daemon.proc.poll() is None
        code, _seconds = daemon.terminate()
    assert code == 0
    assert "Traceback" not in daemon.stderr()
    report = json.loads(run_agenttail(env, "report", "daily", "--json", "--timezone", "UTC").stdout)
    assert report["totals"]["requests"] == 4, "each request once, none lost"


@pytest.mark.parametrize("content", [b"", b"garbage, not SQLite " * 300])
def test_doctor_reports_a_damaged_store(home: Path, content: bytes) -> None:
    home.mkdir(parents=True)
    (home / "agenttail.db").write_bytes(content)
    done = run_agenttail(daemon_env(), "doctor", "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    expected = "empty (0 bytes)" if not content else "damaged"
    assert data["database_problem"] and expected in data["database_problem"]
    human = run_agenttail(daemon_env(), "doctor")
    assert "DAMAGED" in human.stdout and "Traceback" not in human.stderr
