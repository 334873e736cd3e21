"""Live tailing survives an agent's root folder being deleted and created again (the real
``agenttail run``), and ``doctor`` says what is really watched meanwhile."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_process import DaemonProcess, wait_until
from tests.helpers import ClaudeSession

pytestmark = pytest.mark.slow


def counted(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            row = conn.execute("SELECT count(*) FROM events WHERE counted = 1").fetchone()
    except sqlite3.Error:
        return -1
    return int(row[0])


def doctor_watches(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", "doctor", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data: dict[str, Any] = json.loads(done.stdout)
    return {w["path"]: w["state"] for w in data["daemon"]["watches"]}


def test_deleted_and_recreated_root_is_watched_again(
    home: Path, claude_dir: Path, tmp_path: Path
) -> None:
    root = claude_dir / "projects"
    session = ClaudeSession(claude_dir)
    session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1"))
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["AGENTTAIL_SWEEP_INTERVAL_SECONDS"] = "86400"  # after start-up only watches see writes
    database = home / "agenttail.db"
    with DaemonProcess(env, home, tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        assert wait_until(lambda: counted(database) == 1, 30), daemon.stderr()
        assert doctor_watches(env).get(str(root)) == "watching"

        shutil.rmtree(root)
        # doctor stops claiming a watch on a folder that is gone
        assert wait_until(lambda: doctor_watches(env).get(str(root)) != "watching", 10)

        again = ClaudeSession(claude_dir)  # the folder comes back with a new session in it
        again.write(again.assistant("2026-11-20T11:00:00.000Z", "msg_2"))
        assert wait_until(lambda: counted(database) == 2, 10), "the new session was never read"
        assert wait_until(lambda: doctor_watches(env).get(str(root)) == "watching", 10)

        # live tailing works again: an append arrives by the watch (no sweep for a day)
        for index in range(3, 6):
            again.write(again.assistant(f"2026-11-20T11:0{index}:00.000Z", f"msg_{index}"))
            assert wait_until(lambda n=index: counted(database) == n, 5), f"append {index} lost"
        assert daemon.log_events("watch_lost") and daemon.log_events("watch_rearmed")
        code, _seconds = daemon.terminate()
    assert code == 0
    assert "Traceback" not in daemon.stderr()
