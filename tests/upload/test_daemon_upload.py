"""The daemon's uploads as a user meets them (a real ``agenttail run`` and a real receiver on
127.0.0.1): the first flush comes soon after start, SIGTERM never waits on a slow receiver, and
SIGHUP applies changed ``upload.*`` settings."""

from __future__ import annotations

import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess, daemon_env, wait_until
from tests.upload.receiver import Fault, Receiver
from tests.upload.support import database, stored_events
from tests.upload.transcripts import write_sessions

pytestmark = pytest.mark.slow


def home() -> Path:
    return Path(os.environ["AGENTTAIL_HOME"])


def pending_batches() -> list[str]:
    with sqlite3.connect(f"file:{database()}?mode=ro", uri=True) as conn:
        return [str(row[0]) for row in conn.execute("SELECT batch_id FROM upload_batches")]


def test_first_flush_comes_soon_after_start_not_after_the_interval(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=2, turns=3)
    env = daemon_env(
        AGENTTAIL_UPLOAD_URL=receiver.url,
        AGENTTAIL_UPLOAD_TOKEN="tok",
        AGENTTAIL_UPLOAD_INTERVAL_SECONDS="3600",
    )
    with DaemonProcess(env, home(), tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        assert wait_until(lambda: database().exists() and len(stored_events()) > 0, 30)
        # Every stored event reaches the receiver long before the one-hour interval.
        arrived = wait_until(lambda: set(receiver.events) == set(stored_events()), 30)
        assert arrived, daemon.stderr()
        assert daemon.terminate()[0] == 0


def test_sigterm_abandons_a_slow_request_and_keeps_its_batch(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=3, turns=4)
    # The receiver takes 8 s per request; the client would wait up to 60 s for it.
    receiver.script(*(Fault(delay=8.0) for _ in range(50)))
    env = daemon_env(
        AGENTTAIL_UPLOAD_URL=receiver.url,
        AGENTTAIL_UPLOAD_TOKEN="tok",
        AGENTTAIL_UPLOAD_BATCH_MAX_EVENTS="2",
        AGENTTAIL_UPLOAD_TIMEOUT_SECONDS="60",
    )
    with DaemonProcess(env, home(), tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        assert wait_until(lambda: len(receiver.requests) == 1, 30), daemon.stderr()
        in_flight_key = receiver.requests[0].headers["Idempotency-Key"]
        code, seconds = daemon.terminate()
    assert code == 0, daemon.stderr()
    assert seconds < 10, f"stop took {seconds:.1f}s (systemd's TimeoutStopSec is 20)"
    time.sleep(1.0)
    assert len(receiver.requests) == 1, "no request started after SIGTERM"
    assert "Traceback" not in daemon.stderr()
    assert daemon.log_events("upload_abandoned_in_flight")

    # The abandoned batch is still in the outbox and goes again, with the same key.
    assert pending_batches(), "the claimed batch stayed in the outbox"
    receiver.faults.clear()
    with DaemonProcess(env, home(), tmp_path / "daemon2.stderr") as again:
        again.wait_ready()
        assert wait_until(lambda: set(receiver.events) == set(stored_events()), 60)
        assert again.terminate()[0] == 0
    resent = [r for r in receiver.requests[1:] if r.headers["Idempotency-Key"] == in_flight_key]
    assert len(resent) == 1


def test_sighup_applies_changed_upload_settings(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=3)
    env = daemon_env(AGENTTAIL_UPLOAD_INTERVAL_SECONDS="3600")
    with DaemonProcess(env, home(), tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        assert wait_until(lambda: database().exists() and len(stored_events()) > 0, 30)
        time.sleep(3)  # past the first flush: without a URL nothing may leave
        assert not receiver.requests

        (home() / "config.toml").write_text(f'[upload]\nurl = "{receiver.url}"\ntoken = "t"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: daemon.log_events("config_reloaded"), 15), daemon.stderr()
        assert daemon.log_events("config_reloaded")[-1]["restart_needed_for"] == []
        arrived = wait_until(lambda: set(receiver.events) == set(stored_events()), 20)
        assert arrived, "the new upload.url was used without a restart"

        # A key that does need a restart is named as such.
        (home() / "config.toml").write_text(
            f'workers = 3\n[upload]\nurl = "{receiver.url}"\ntoken = "t"\n'
        )
        daemon.proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: len(daemon.log_events("config_reloaded")) == 2, 15)
        assert daemon.log_events("config_reloaded")[-1]["restart_needed_for"] == ["workers"]
        assert daemon.terminate()[0] == 0
