"""kill -9 during ``agenttail upload``, then rerun: the outbox drains completely."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from tests.upload.receiver import Fault, Receiver
from tests.upload.support import stored_events
from tests.upload.transcripts import write_sessions


def test_sigkill_mid_flight_then_rerun_drains(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=3, turns=4)
    env = {
        **os.environ,
        "AGENTTAIL_UPLOAD_URL": receiver.url,
        "AGENTTAIL_UPLOAD_TOKEN": "tok",
        "AGENTTAIL_UPLOAD_BATCH_MAX_EVENTS": "3",
    }
    command = [sys.executable, "-m", "agenttail"]
    subprocess.run([*command, "scan"], env=env, check=True, capture_output=True, timeout=60)
    expected = stored_events()
    # Every request is slow; the third one is stored but its ack never comes back.
    receiver.script(*(Fault(delay=0.2) for _ in range(2)), Fault(delay=0.2, store_then_drop=True))
    receiver.script(*(Fault(delay=1.5) for _ in range(3)))
    proc = subprocess.Popen(
        [*command, "upload", "--deadline", "60"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while len(receiver.requests) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(receiver.requests) >= 4, "the upload made progress before the kill"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    assert set(receiver.events) < set(expected), "killed mid-flight, not after the end"
    receiver.faults.clear()
    rerun = subprocess.run(
        [*command, "upload", "--json", "--deadline", "60"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert orjson.loads(rerun.stdout)["pending_events"] == 0
    assert set(receiver.events) == set(expected), "every event_id arrived"
    assert all(receiver.events[e]["revision"] == r for e, r in expected.items())
