"""Data that must never be lost or silently uncounted (issue 8, items 1, 4 and 5).

Each test drives the real CLI (``scan``, ``report``, ``status``, ``doctor``) in a subprocess,
as a user meets it, and checks the numbers against the test's own arithmetic on what it wrote.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agenttail.readers.base import ReadLimits
from agenttail.readers.sqlite_spans import SqliteSpanReader
from scripts import gen_copilot_home as GEN
from tests.helpers import agenttail_cli

HOUR_MS = 3_600_000
T0 = 1_800_000_000_000.0  # 2027-01-15T08:00:00Z


def cli_json(*args: str) -> Any:
    return json.loads(agenttail_cli(dict(os.environ), *args, "--json"))


def trace_db(tmp_path: Path) -> GEN.TraceDb:
    user = tmp_path / "user-home" / ".config" / "Code" / "User"
    return GEN.TraceDb(user / "globalStorage" / "github.copilot-chat" / "agent-traces.db")


def chat_span(db: GEN.TraceDb, span_id: str, end: float, input_tokens: int = 100) -> None:
    db.span(
        span_id=span_id, trace_id="t", name="chat gpt-4o", start_time_ms=int(end) - 200,
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
