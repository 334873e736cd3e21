"""The real ``agenttail run`` process: READY over a test-owned NOTIFY_SOCKET, a hint-driven
append within 2 s, a refused second instance, SIGHUP reload and a clean SIGTERM exit."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import ClaudeSession

STARTUP_S = 60.0  # generous: a loaded 2-core CI box imports slowly


class NotifySocket:
    """A datagram socket the test owns, standing in for systemd (which reads promptly, so
    a reader thread drains it; an unread socket would fill and drop messages)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.1)
        self.messages: list[str] = []
        self._closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue

    def wait_for(self, line: str, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            if any(line in m.splitlines() for m in list(self.messages)):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    def close(self) -> None:
        self._closed.set()
        self._reader.join(5)
        self.sock.close()


def counted_events(database: Path) -> int:
    if not database.exists():
        return 0
    uri = f"file:{database}?mode=ro"
    try:
        with sqlite3.connect(uri, uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM events WHERE counted = 1").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def wait_until(predicate: object, timeout: float, step: float = 0.02) -> float | None:
    """Seconds until ``predicate()`` held, or None."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - start
        time.sleep(step)
    return None


@pytest.fixture
def notify(tmp_path: Path) -> Iterator[NotifySocket]:
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


def daemon_env(home: Path, notify_path: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["AGENTTAIL_SWEEP_INTERVAL_SECONDS"] = "86400"  # only the watch hint can see the append
    if notify_path is not None:
        env["NOTIFY_SOCKET"] = str(notify_path)
        env["WATCHDOG_USEC"] = "2000000"
    return env


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=STARTUP_S,
        check=False,
    )


@pytest.mark.slow
def test_daemon_lifecycle(
    home: Path, claude_dir: Path, notify: NotifySocket, tmp_path: Path
) -> None:
    session = ClaudeSession(claude_dir)
    session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1", request_id="req_1"))
    env = daemon_env(home, notify.path)
    stderr_path = tmp_path / "daemon.stderr"
    with open(stderr_path, "w") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "agenttail", "run"], env=env, stderr=stderr)
    try:
        assert notify.wait_for("READY=1", STARTUP_S), stderr_path.read_text()
        database = home / "agenttail.db"
        assert wait_until(lambda: counted_events(database) == 1, STARTUP_S) is not None
        assert notify.wait_for("WATCHDOG=1", 10), "the healthy main loop pings the watchdog"

        # an append to a watched file is picked up from the watch hint, not a sweep
        session.write(session.assistant("2026-11-20T10:01:00.000Z", "msg_2", request_id="req_2"))
        elapsed = wait_until(lambda: counted_events(database) == 2, 10)
        assert elapsed is not None, "append never reached the store"
        assert elapsed < 2.0, f"append took {elapsed:.2f}s"

        # a second instance refuses to start and names the running pid
        second = run_cli(env, "run")
        assert second.returncode != 0
        assert f"already running (pid {proc.pid}" in second.stderr
        assert proc.poll() is None, "the first daemon keeps running"

        # SIGHUP with a broken config keeps the old one and says which key is wrong
        (home / "config.toml").write_text("workers = 99\n")
        os.kill(proc.pid, signal.SIGHUP)
        log = home / "log" / "agenttail.log"
        assert wait_until(lambda: "config_reload_failed" in log.read_text(), 15) is not None
        assert "workers" in next(
            line for line in log.read_text().splitlines() if "config_reload_failed" in line
        )
        (home / "config.toml").write_text("sweep_interval_seconds = 600\n")
        os.kill(proc.pid, signal.SIGHUP)
        assert wait_until(lambda: "config_reloaded" in log.read_text(), 15) is not None
        assert proc.poll() is None

        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
        assert time.monotonic() - started < 20
        assert notify.wait_for("STOPPING=1", 1)
        assert "Traceback" not in stderr_path.read_text()
        assert not (home / "daemon.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_bad_config_exits_78_without_traceback(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('workers = "many"\n')
    result = run_cli(daemon_env(home, None), "run")
    assert result.returncode == 78  # RestartPreventExitStatus: no restart loop
    assert "workers" in result.stderr
    assert "Traceback" not in result.stderr
