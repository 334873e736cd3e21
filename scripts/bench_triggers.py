"""What the analytics rollup triggers cost at insert: the same events into a store migrated up
to m006 (no analytics rollups) and one with m007, in batches of 500 as the daemon commits
them. CPU time of the inserting process (the machine may be shared), best of --runs,
interleaved.

    python scripts/bench_triggers.py --events 30000

A benchmark, not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from agenttail.events import EventKind, MetricEvent, stable_id

START_MS = 1_764_000_000_000


def events(count: int) -> list[MetricEvent]:
    """Two requests for each tool call, 200 events a session, 20 a run."""
    out = []
    for n in range(count):
        request = n % 3 != 0
        out.append(
            MetricEvent(
                event_id=stable_id("bench", n),
                kind=EventKind.LLM_REQUEST if request else EventKind.TOOL_CALL,
                agent="claude_code",
                session_id=f"session-{n // 200}",
                ts_ms=START_MS + n * 20_000,
                run_id=f"run-{n // 20}",
                project=f"/home/dev/project-{n // 2000}",
                model="claude-sonnet-4-20250514" if request else None,
                input_tokens=10,
                output_tokens=100,
                cache_read_tokens=1000,
                cost_nusd=12_345 if request else None,
                tool_name=None if request else "Bash",
                ok=None if request else True,
                duration_ms=None if request else 123.0,
                context_tokens=1010 if request else None,
            )
        )
    return out


def insert_seconds(stop_before: str | None, batch: list[MetricEvent]) -> float:
    from sqlite_utils import Database

    from agenttail.store.events import upsert_events
    from agenttail.store.migrations import migrations

    path = Path(tempfile.mkdtemp()) / "bench.db"
    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    if stop_before is None:
        migrations.apply(db)
    else:
        migrations.apply(db, stop_before=stop_before)
    db.close()
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    conn.execute("PRAGMA synchronous = NORMAL")
    started = time.process_time()
    for start in range(0, len(batch), 500):
        conn.execute("BEGIN IMMEDIATE")
        upsert_events(conn, batch[start : start + 500], "bench", 0)
        conn.execute("COMMIT")
    elapsed = time.process_time() - started
    conn.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=30_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    batch = events(args.events)
    schemas = {"m006: no analytics rollups": "m007_analytics_rollups", "m007: rollups": None}
    times: dict[str, list[float]] = {label: [] for label in schemas}
    for _ in range(args.runs):
        for label, stop in schemas.items():
            times[label].append(insert_seconds(stop, batch))
    print("| schema | insert CPU time (best of runs) | events/s |\n|---|---|---|")
    for label, found in times.items():
        best = min(found)
        print(f"| {label} | {best:.2f} s | {len(batch) / best:,.0f} |")


if __name__ == "__main__":
    main()
