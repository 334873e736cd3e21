"""A full disk under the real daemon: its state folder on a 2 MiB tmpfs that the test fills.

The daemon stays up, says "disk full" once (in ``status`` and in its log, without flooding
stderr), ``scan`` exits non-zero, and once space returns everything appended meanwhile is
stored within one retry interval, each request exactly once.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sqlite3
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.registry import load_agents
from agenttail.config import load_config
from agenttail.daemon.lifecycle import read_runtime_state, write_runtime_state
from agenttail.daemon.pause import RETRY_S, DiskFullPause
from agenttail.daemon.runner import Pipeline, drain
from agenttail.errors import AgenttailError
from agenttail.paths import AppPaths
from tests.daemon_process import DaemonProcess, counted_requests, daemon_env, wait_until
from tests.helpers import ClaudeSession, agenttail_cli, run_agenttail

pytestmark = pytest.mark.slow
OUTPUT_TOKENS = 100  # per request, as ClaudeSession.assistant writes it


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (needs root, as the test suite runs here), unmounted afterwards."""
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        check=True,
        capture_output=True,
    )
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False, capture_output=True)


def fill(disk: Path) -> Path:
    """Write a filler file until the filesystem has no block left."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as handle:
        chunk = b"\0" * 4096
        with contextlib.suppress(OSError):
            while True:
                handle.write(chunk)
    with pytest.raises(OSError) as full, open(disk / "probe", "wb", buffering=0) as probe:
        probe.write(chunk)
    assert full.value.errno == errno.ENOSPC
    (disk / "probe").unlink(missing_ok=True)
    return filler


def disk_usage(disk: Path) -> str:
    """What fills ``disk`` and what is left: for a failure's message."""
    stat = os.statvfs(disk)
    files = {str(p.relative_to(disk)): p.stat().st_size for p in disk.rglob("*") if p.is_file()}
    return f"{stat.f_bavail * stat.f_frsize} bytes free, files {files}"


def conditions(env: dict[str, str], *, from_daemon: bool = False) -> list[str]:
    """The conditions ``status --json`` shows; ``from_daemon``: only those the daemon itself
    reported (with its error and retry interval), not what ``status`` saw on its own."""
    done = run_agenttail(env, "status", "--json")
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    found = data["daemon"]["conditions"]
    return [c["condition"] for c in found if not from_daemon or "retry_seconds" in c]


def write_requests(session: ClaudeSession, first: int, count: int) -> None:
    session.write(
        *(
            session.assistant(f"2026-11-20T10:{i // 60 % 60:02d}:{i % 60:02d}.000Z", f"msg_{i}")
            for i in range(first, first + count)
        )
    )


def test_full_disk_pauses_then_catches_up_once(
    small_disk: Path, claude_dir: Path, tmp_path: Path
) -> None:
    home = small_disk / "home"
    env = daemon_env(AGENTTAIL_HOME=str(home))
    database = home / "agenttail.db"
    sessions = [ClaudeSession(claude_dir) for _ in range(3)]
    for index, session in enumerate(sessions):
        write_requests(session, index * 10_000, 5)
    with DaemonProcess(env, home, tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        # The first load ended (its rollups built) and the steady workers swept: the fill
        # below meets them (tests below cover a first load that meets a full disk).
        assert wait_until(
            lambda: (
                daemon.log_events("first_load_done") and len(daemon.log_events("sweep_done")) > 1
            ),
            30,
        ), daemon.stderr()
        assert counted_requests(database)[0] == 15
        stderr_before = len(daemon.stderr().splitlines())

        filler = fill(small_disk)
        # Blocks the store frees after the fill (an idle checkpoint cutting the WAL) give the
        # daemon slack of varying size: append rounds until it meets the full disk.
        per_session = 5
        for _ in range(8):
            for index, session in enumerate(sessions):
                write_requests(session, index * 10_000 + per_session, 400)
            per_session += 400
            if wait_until(lambda: conditions(env, from_daemon=True) == ["disk_full"], 20):
                break
        else:
            raise AssertionError(
                f"no disk_full after {per_session} requests per session; "
                f"{disk_usage(small_disk)}; status: {conditions(env)}\n{daemon.stderr()[-3000:]}"
            )
        expected = (3 * per_session, 3 * per_session * OUTPUT_TOKENS)

        scan = run_agenttail(env, "scan")
        assert scan.returncode != 0 and "disk is full" in scan.stderr
        assert "Traceback" not in scan.stderr
        assert wait_until(lambda: False, 5) is False  # let the daemon meet the full disk a while
        assert daemon.proc.poll() is None, "the daemon stays up"
        flood = daemon.stderr().splitlines()[stderr_before:]
        assert len(flood) < 20, f"{len(flood)} stderr lines on a full disk:\n" + "\n".join(flood)
        assert "Traceback" not in daemon.stderr()
        assert counted_requests(database) != expected

        filler.unlink()  # space comes back: caught up within one retry interval, once
        assert wait_until(lambda: counted_requests(database) == expected, RETRY_S + 15), (
            f"{counted_requests(database)} stored, {expected} expected\n{daemon.stderr()[-3000:]}"
        )
        assert wait_until(lambda: conditions(env) == [], 10)
        assert daemon.terminate()[0] == 0
    assert counted_requests(database) == expected


def test_daemon_started_on_a_full_disk_waits_for_space(
    small_disk: Path, claude_dir: Path, tmp_path: Path
) -> None:
    home = small_disk / "home"
    (home / "log").mkdir(parents=True)
    env = daemon_env(AGENTTAIL_HOME=str(home))
    session = ClaudeSession(claude_dir)
    write_requests(session, 0, 20)
    filler = fill(small_disk)
    with DaemonProcess(env, home, tmp_path / "daemon.stderr") as daemon:
        assert wait_until(lambda: conditions(env) == ["disk_full"], 30), daemon.stderr()
        assert daemon.proc.poll() is None, "the daemon waits instead of dying"
        assert "Traceback" not in daemon.stderr()
        filler.unlink()
        database = home / "agenttail.db"
        expected = (20, 20 * OUTPUT_TOKENS)
        assert wait_until(lambda: counted_requests(database) == expected, RETRY_S + 20), (
            daemon.stderr()
        )
        assert daemon.terminate()[0] == 0
    assert "Traceback" not in daemon.stderr()


def test_a_first_load_whose_rollups_meet_a_full_disk_are_built_once_there_is_space(
    small_disk: Path, claude_dir: Path
) -> None:
    os.environ["AGENTTAIL_HOME"] = str(small_disk / "home")
    paths = AppPaths.resolve()
    sessions = [ClaudeSession(claude_dir) for _ in range(3)]
    for index, session in enumerate(sessions):
        write_requests(session, index * 10_000, 5)
    pipeline = Pipeline(paths, load_config(paths), load_agents())
    pause, stop = DiskFullPause(retry_s=0.3), threading.Event()
    tries: list[str] = []

    def on_full(exc: Exception) -> bool:
        tries.append(str(exc))
        if len(tries) == 3:  # space comes back after two retries
            filler.unlink()
        return pause.hold(str(exc), stop)

    with pipeline.bulk_load(on_full=on_full) as bulk:
        assert bulk
        pipeline.sweep()
        drain(pipeline)  # every batch committed: only the rollups are left to build
        filler = fill(small_disk)
    assert len(tries) == 3 and "full" in tries[0]
    assert pipeline.totals.events == 15  # each request read once
    assert counted_requests(paths.database) == (15, 15 * OUTPUT_TOKENS)
    daily = json.loads(
        agenttail_cli(daemon_env(), "report", "daily", "--json", "--timezone", "UTC")
    )
    assert [day["output_tokens"] for day in daily["daily"]] == [15 * OUTPUT_TOKENS]
    with sqlite3.connect(paths.database) as conn:
        names = {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}
    assert "store_build" not in names  # its triggers and indexes are back


def test_a_scan_whose_rollups_meet_a_full_disk_says_so_and_the_next_reads_it_all(
    small_disk: Path, claude_dir: Path
) -> None:
    os.environ["AGENTTAIL_HOME"] = str(small_disk / "home")
    paths = AppPaths.resolve()
    session = ClaudeSession(claude_dir)
    write_requests(session, 0, 5)
    pipeline = Pipeline(paths, load_config(paths), load_agents())
    with pytest.raises(AgenttailError, match="the disk is full"), pipeline.bulk_load() as bulk:
        assert bulk
        pipeline.sweep()
        drain(pipeline)
        filler = fill(small_disk)
    filler.unlink()
    agenttail_cli(daemon_env(), "scan")
    assert counted_requests(paths.database) == (5, 5 * OUTPUT_TOKENS)


def test_a_state_that_grows_on_a_full_disk_still_shows_its_conditions(small_disk: Path) -> None:
    # A longer state folder path made the "disk full" state outgrow the file (CI flake).
    path = small_disk / "daemon.json"
    watched = [str(small_disk / f"projects-{index:03d}") for index in range(20)]
    write_runtime_state(path, {"watched": watched, "conditions": []})
    filler = fill(small_disk)
    condition = {"condition": "disk_full", "error": "e" * 3000, "retry_seconds": RETRY_S}
    write_runtime_state(path, {"watched": watched, "conditions": [condition]})
    assert read_runtime_state(path) == {"watched": watched, "conditions": [condition]}
    # Larger than the file even written compact: the conditions stay, the watch list goes.
    write_runtime_state(path, {"watched": watched * 50, "conditions": [condition], "pid": 7})
    assert read_runtime_state(path) == {"conditions": [condition], "pid": 7}
    filler.unlink()
