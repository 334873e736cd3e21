"""The real daemon as a user meets it: ``agenttail run`` in a subprocess, waited on and stopped
like a service manager does."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.05) -> bool:
    """True as soon as ``predicate()`` holds, False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(step)


class DaemonProcess:
    """A real ``agenttail run`` subprocess with its stderr in a file, stopped like systemd."""

    STARTUP_S = 60.0  # generous: a loaded 2-core CI box imports slowly

    def __init__(self, env: dict[str, str], home: Path, stderr_path: Path) -> None:
        self.env = env
        self.home = home
        self.stderr_path = stderr_path
        with open(stderr_path, "ab") as stderr:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "agenttail", "run"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self) -> None:
        """The daemon wrote its runtime state, which it does once it is started."""
        ready = wait_until(
            lambda: (self.home / "daemon.json").exists() or self.proc.poll() is not None,
            self.STARTUP_S,
        )
        assert ready and self.proc.poll() is None, self.stderr()

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log(self) -> str:
        path = self.home / "log" / "agenttail.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_events(self, name: str) -> list[dict[str, Any]]:
        """Every JSON line of the log file whose event is ``name``."""
        found = []
        for line in self.log().splitlines():
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and data.get("event") == name:
                found.append(data)
        return found

    def terminate(self, timeout: float = 30.0) -> tuple[int, float]:
        """SIGTERM; returns the exit status and the seconds it took."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.kill()


def daemon_env(**settings: str) -> dict[str, str]:
    """This test's environment for a daemon not started by systemd, plus ``settings``."""
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env.update(settings)
    return env


def counted_requests(database: Path) -> tuple[int, int]:
    """Counted requests and their output tokens read straight from a store (-1 when unreadable)."""
    import sqlite3

    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=2) as conn:
            row = conn.execute(
                "SELECT count(*), coalesce(sum(output_tokens), 0) FROM events"
                " WHERE counted = 1 AND kind = 'llm_request'"
            ).fetchone()
    except sqlite3.Error:
        return (-1, -1)
    return int(row[0]), int(row[1])
