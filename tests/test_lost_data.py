"""Data that must never be lost or silently uncounted (issue 8, items 1, 4 and 5).

Each test drives the real CLI (``scan``, ``report``, ``status``, ``doctor``) in a subprocess,
as a user meets it, and checks the numbers against the test's own arithmetic on what it wrote.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from agenttail.readers.base import ReadLimits
from agenttail.readers.sqlite_spans import SqliteSpanReader
from scripts import gen_copilot_home as GEN
from tests.helpers import ClaudeSession, agenttail_cli

HOUR_MS = 3_600_000
T0 = 1_800_000_000_000.0  # 2027-01-15T08:00:00Z


def cli_json(*args: str) -> Any:
    return json.loads(agenttail_cli(dict(os.environ), *args, "--json"))


def trace_db(tmp_path: Path) -> GEN.TraceDb:
    user = tmp_path / "user-home" / ".config" / "Code" / "User"
    return GEN.TraceDb(user / "globalStorage" / "github.copilot-chat" / "agent-traces.db")


def chat_span(
    db: GEN.TraceDb, span_id: str, end: float, input_tokens: float = 100, start: int = 0
) -> None:
    db.span(
        span_id=span_id, trace_id="t", name="chat gpt-4o", start_time_ms=start or int(end) - 200,
        end_time_ms=end, operation_name="chat", response_model="gpt-4o",
        input_tokens=input_tokens, output_tokens=10, cached_tokens=0, chat_session_id="s1",
    )  # fmt: skip


def test_late_spans_behind_the_old_cursor_are_counted_once(tmp_path: Path) -> None:
    db = trace_db(tmp_path)
    phase1 = [T0 + i * 1000 for i in range(5)]  # the cursor ends at T0 + 4 s
    for index, end in enumerate(phase1):
        chat_span(db, f"p1-{index}", end)
    agenttail_cli(dict(os.environ), "scan")
    old_cursor = phase1[-1]
    # Phase 2: spans that end hours after the old cursor, and spans committed late whose end
    # lies 0.5-3 s before the old cursor (the exporter flushed them after the first read).
    phase2 = [old_cursor + 3 * HOUR_MS + i * 1000 for i in range(4)]
    late = [old_cursor - 500, old_cursor - 1500.5, old_cursor - 3000]
    for index, end in enumerate(phase2):
        chat_span(db, f"p2-{index}", end)
    for index, end in enumerate(late):
        chat_span(db, f"late-{index}", end)
    db.close()
    agenttail_cli(dict(os.environ), "scan")
    agenttail_cli(dict(os.environ), "scan")  # a further pass re-reads the window: no new counts
    report = cli_json("report", "daily", "--timezone", "UTC")
    spans = len(phase1) + len(phase2) + len(late)
    assert report["totals"]["requests"] == spans
    assert report["totals"]["input_tokens"] == 100 * spans
    assert report["totals"]["output_tokens"] == 10 * spans


def test_overlap_window_sits_behind_the_start_cursor_and_stays_bounded(tmp_path: Path) -> None:
    db = trace_db(tmp_path)
    path = Path(db.conn.execute("PRAGMA database_list").fetchone()[2])
    for index in range(3):
        chat_span(db, f"old-{index}", T0 - 120_000 + index)  # far behind: outside the window
    chat_span(db, "cursor", T0)
    reader = SqliteSpanReader(overlap_ms=60_000)
    first = reader.read(path, None, ReadLimits(max_batch_records=10))
    assert first.at_end
    chat_span(db, "late", T0 - 2000)
    for index in range(5):  # more new spans than one page: the read is not at its end
        chat_span(db, f"new-{index}", T0 + 3 * HOUR_MS + index)
    db.close()
    second = reader.read(path, first.watermark, ReadLimits(max_batch_records=2))
    assert not second.at_end
    overlap = [r.data["span_id"] for r in second.records if r.data.get("overlap")]
    assert overlap == ["late", "cursor"]  # within 60 s behind the old cursor, nothing older
    assert [r.data["span_id"] for r in second.records if not r.data.get("overlap")] == [
        "new-0",
        "new-1",
    ]


# -- item 4: one out-of-range value is one skipped record, never a lost session ---------------

INT_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def assert_json_integers(report: dict[str, Any]) -> None:
    for entry in [*report["daily"], report["totals"]]:
        for key in (*INT_FIELDS, "total_tokens", "requests"):
            assert type(entry[key]) is int, (key, entry[key])


def test_out_of_range_token_counts_skip_one_record_and_keep_the_session(
    claude_dir: Path,
) -> None:
    session = ClaudeSession(claude_dir)
    session.write(
        session.assistant("2027-01-15T10:00:00.000Z", "msg_ok1", input_tokens=7, output_tokens=3),
        session.assistant("2027-01-15T10:01:00.000Z", "msg_huge", input_tokens=2**63),
        session.assistant("2027-01-15T10:02:00.000Z", "msg_big1", output_tokens=2**62),
        session.assistant("2027-01-15T10:03:00.000Z", "msg_big2", output_tokens=2**62),
        session.assistant("2027-01-15T10:04:00.000Z", "msg_ok2", input_tokens=5, output_tokens=2),
    )
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert report["totals"]["requests"] == 2
    assert (report["totals"]["input_tokens"], report["totals"]["output_tokens"]) == (12, 5)
    assert_json_integers(report)
    status = cli_json("status")
    assert status["streams_failing"] == 0
    assert status["invalid_records_total"] == 3
    (stream,) = status["streams"]
    assert stream["invalid_records"] == 3 and "outside 0..2^53" in stream["last_invalid"]
    # Lines appended later are read as usual; the skipped ones are not counted twice.
    session.write(session.assistant("2027-01-15T11:00:00.000Z", "msg_ok3", input_tokens=1))
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert (report["totals"]["requests"], report["totals"]["input_tokens"]) == (3, 13)
    assert cli_json("status")["invalid_records_total"] == 3
    text = agenttail_cli(dict(os.environ), "status")
    assert "skipped 3 invalid records" in text


def test_one_bad_trace_row_is_skipped_and_counted_the_rest_read(tmp_path: Path) -> None:
    db = trace_db(tmp_path)
    for index in range(3):
        chat_span(db, f"good-{index}", T0 + index * 1000)
    chat_span(db, "huge", T0 + 500, input_tokens=float(2**63))  # a JS number: a REAL
    chat_span(db, "no-end", T0 + 600)
    db.conn.execute("UPDATE spans SET end_time_ms = 'soon' WHERE span_id = 'no-end'")
    db.close()
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert (report["totals"]["requests"], report["totals"]["input_tokens"]) == (3, 300)
    status = cli_json("status")
    assert status["streams_failing"] == 0
    (stream,) = status["streams"]
    assert stream["invalid_records"] == 1
    assert stream["notice"].startswith("1 spans skipped")


# -- item 5: silent gaps become visible ---------------------------------------------------------


def test_a_record_dated_before_1970_is_skipped_with_its_reason(claude_dir: Path) -> None:
    session = ClaudeSession(claude_dir)
    session.write(
        session.assistant("1969-12-31T23:00:00.000Z", "msg_old", input_tokens=9),
        session.assistant("2027-01-15T10:00:00.000Z", "msg_new", input_tokens=4),
    )
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert (report["totals"]["requests"], report["totals"]["input_tokens"]) == (1, 4)
    (stream,) = cli_json("status")["streams"]
    assert stream["invalid_records"] == 1 and stream["last_invalid"].endswith("dated before 1970")


def test_a_trace_database_without_spans_table_is_named(tmp_path: Path) -> None:
    user = tmp_path / "user-home" / ".config" / "Code" / "User"
    path = user / "globalStorage" / "github.copilot-chat" / "agent-traces.db"
    path.parent.mkdir(parents=True)
    sqlite3.connect(path).execute(
        "CREATE TABLE schema_version (version INTEGER)"
    ).connection.close()
    agenttail_cli(dict(os.environ), "scan")
    status = cli_json("status")
    assert [n["path"] for n in status["gaps"]["notices"]] == [str(path)]
    assert "no spans table" in agenttail_cli(dict(os.environ), "status")
    doctor = cli_json("doctor")
    assert [n["path"] for n in doctor["gaps"]["notices"]] == [str(path)]
    assert "no spans table" in agenttail_cli(dict(os.environ), "doctor")


def without_dac_override() -> list[str]:
    """As root, run the CLI without the capabilities that ignore file permissions."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]


def test_an_unreadable_project_folder_is_named(claude_dir: Path) -> None:
    readable = ClaudeSession(claude_dir, cwd="/home/dev/ok")
    readable.write(readable.assistant("2027-01-15T10:00:00.000Z", "msg_a", input_tokens=3))
    locked = ClaudeSession(claude_dir, cwd="/home/dev/locked")
    locked.write(locked.assistant("2027-01-15T10:00:00.000Z", "msg_b", input_tokens=5))
    folder = locked.path.parent
    folder.chmod(0)
    try:

        def run(*args: str) -> str:
            done = subprocess.run(
                [*without_dac_override(), sys.executable, "-m", "agenttail", *args],
                capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            return done.stdout

        run("scan")
        status = json.loads(run("status", "--json"))
        assert [f["path"] for f in status["gaps"]["unreadable_folders"]] == [str(folder)]
        assert f"cannot read folder {folder}" in run("status")
        doctor = json.loads(run("doctor", "--json"))
        assert [f["path"] for f in doctor["gaps"]["unreadable_folders"]] == [str(folder)]
        assert json.loads(run("report", "daily", "--json"))["totals"]["input_tokens"] == 3
        folder.chmod(0o755)  # readable again: counted, and no longer named
        run("scan")
        assert json.loads(run("status", "--json"))["gaps"]["unreadable_folders"] == []
        assert json.loads(run("report", "daily", "--json"))["totals"]["input_tokens"] == 8
    finally:
        folder.chmod(0o755)


def test_a_trace_row_ending_in_the_far_future_does_not_stall_the_cursor(tmp_path: Path) -> None:
    db = trace_db(tmp_path)
    chat_span(db, "good-0", T0)
    chat_span(db, "year-3000", 32_503_680_000_000.0)
    chat_span(db, "inf", float("inf"), start=int(T0))
    agenttail_cli(dict(os.environ), "scan")
    for index in range(1, 4):  # spans that end later than the first read's good span
        chat_span(db, f"good-{index}", T0 + index * 60_000)
    db.close()
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert (report["totals"]["requests"], report["totals"]["input_tokens"]) == (4, 400)
    (stream,) = cli_json("status")["streams"]
    assert stream["notice"].startswith("2 spans skipped")
