"""kill -9 of the team server 20 times while a real daemon uploads: nothing lost or doubled."""

from __future__ import annotations

import os
import random
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from agenttail.store import Store
from agenttail.store.team import open_team_store
from agenttail.store.team.engine import SqlTeamStore
from tests.server.conftest import RunningServer
from tests.upload.transcripts import write_sessions

KILLS = 20


def _upload(env: dict[str, str], deadline: float) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agenttail", "upload", "--deadline", str(deadline)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _sent(database: Path) -> int:
    """Events the daemon has seen acknowledged so far (its own outbox counter)."""
    conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        return int(conn.execute("SELECT sent_events FROM upload_state").fetchone()[0])
    finally:
        conn.close()


def _wait_for_progress(database: Path, timeout: float = 30.0) -> None:
    """Until the running upload has had a batch acknowledged: the kill then lands mid-upload."""
    before = _sent(database)
    deadline = time.monotonic() + timeout
    while _sent(database) == before and time.monotonic() < deadline:
        time.sleep(0.02)


def _team_rows(url: str) -> list[dict[str, Any]]:
    store = open_team_store(url)
    assert isinstance(store, SqlTeamStore)
    try:
        return list(store.rows("SELECT event_id, revision, input_tokens FROM team_events"))
    finally:
        store.close()


def test_kill_nine_of_the_server_during_uploads_loses_and_doubles_nothing(
    server: RunningServer, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=24, turns=50)
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp_path / "dev"),
        "CLAUDE_CONFIG_DIR": str(tmp_path / "claude"),
        "AGENTTAIL_UPLOAD_URL": server.url,
        "AGENTTAIL_UPLOAD_TOKEN": server.token("alice"),
        "AGENTTAIL_UPLOAD_USER": "alice",
        "AGENTTAIL_UPLOAD_BATCH_MAX_EVENTS": "3",
        "AGENTTAIL_UPLOAD_MAX_BACKOFF_SECONDS": "1",
        "AGENTTAIL_UPLOAD_TIMEOUT_SECONDS": "2",
    }
    subprocess.run(
        [sys.executable, "-m", "agenttail", "scan"], env=env, check=True, capture_output=True
    )
    with Store(tmp_path / "dev" / "agenttail.db", readonly=True) as local:
        expected = {
            row["event_id"]: (row["revision"], row["input_tokens"])
            for row in local.query("SELECT event_id, revision, input_tokens FROM events")
        }
    assert len(expected) > 100
    rng = random.Random(20)
    for _ in range(KILLS):
        if server.process is None or server.process.poll() is not None:
            server.start()
        uploading = _upload(env, deadline=30)
        _wait_for_progress(tmp_path / "dev" / "agenttail.db")
        time.sleep(rng.uniform(0.0, 0.02))
        server.kill()  # mid-batch, mid-transaction or between requests
        uploading.kill()  # and the uploader with it: its last ack may be lost
        uploading.wait(timeout=60)
        assert _sent(tmp_path / "dev" / "agenttail.db") < len(expected), "killed mid-upload"
    before = len(_team_rows(server.database))
    assert 0 < before < len(expected), "the kills landed while uploads were under way"
    server.start()
    final = subprocess.run(
        [sys.executable, "-m", "agenttail", "upload", "--json", "--deadline", "120"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert final.returncode == 0, final.stderr
    assert orjson.loads(final.stdout)["pending_events"] == 0
    rows = _team_rows(server.database)
    assert len(rows) == len({row["event_id"] for row in rows})
    assert {row["event_id"]: (row["revision"], row["input_tokens"]) for row in rows} == expected
