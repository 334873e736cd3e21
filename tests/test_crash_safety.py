"""kill -9 of a real `agenttail scan` at random points loses and duplicates nothing."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from tests.corpus import write_corpus


def agenttail(
    home: Path, claude: Path, *args: str, capture: bool = False, **env: str
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "agenttail", *args],
        env={**os.environ, "AGENTTAIL_HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude), **env},
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def report(home: Path, claude: Path) -> dict[str, Any]:
    proc = agenttail(home, claude, "report", "daily", "--json", "--timezone", "UTC", capture=True)
    out, _ = proc.communicate()
    assert proc.returncode == 0
    return orjson.loads(out)  # type: ignore[no-any-return]


def event_rows(home: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(home / "agenttail.db") as conn:
        return conn.execute(
            "SELECT event_id, output_tokens, counted FROM events ORDER BY event_id"
        ).fetchall()


def events_stored(home: Path) -> int:
    try:
        with sqlite3.connect(f"file:{home / 'agenttail.db'}?mode=ro", uri=True) as conn:
            return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])
    except sqlite3.Error:
        return 0


def test_kill_9_at_random_points_then_rerun_gives_exact_totals(tmp_path: Path) -> None:
    claude = tmp_path / "claude"
    distinct = write_corpus(claude, sessions=40, turns=60)
    reference = tmp_path / "reference"
    assert agenttail(reference, claude, "scan").wait() == 0
    expected = report(reference, claude)
    assert expected["totals"]["requests"] == distinct

    home = tmp_path / "crashy"
    # The store already holds one of the sessions, so every scan below takes the incremental
    # path (a killed first load into a new store is reset instead: tests/test_bulk_load.py).
    files = sorted(claude.glob("projects/*/*.jsonl"))
    aside = tmp_path / "aside"
    for path in files[1:]:
        (aside / path.relative_to(claude)).parent.mkdir(parents=True, exist_ok=True)
        path.rename(aside / path.relative_to(claude))
    assert agenttail(home, claude, "scan").wait() == 0
    for path in files[1:]:
        (aside / path.relative_to(claude)).rename(path)
    rng = random.Random(1234)
    kills = 0
    for _ in range(40):
        before = events_stored(home)
        # Many small commits, so kills land between and inside transactions.
        proc = agenttail(home, claude, "scan", AGENTTAIL_MAX_BATCH_RECORDS="11")
        while proc.poll() is None and events_stored(home) <= before:
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.08))
        if proc.poll() is not None:
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
    assert kills >= 3, "the scan finished before it could be killed: grow the corpus"
    assert agenttail(home, claude, "scan").wait() == 0
    assert report(home, claude) == expected
    assert event_rows(home) == event_rows(reference)
