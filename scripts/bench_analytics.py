"""Build a store of N synthetic events (default 10 million) and time every analytics question.

    python scripts/bench_analytics.py --events 10000000 --db /tmp/bench-analytics.db

Events are generated in SQL into a store migrated up to m006, then migration m007 builds the
rollups from them, exactly as it does on a user's existing store (its duration is reported).
Each question then runs through ``SqliteAnalytics`` five times; the median is printed.
A benchmark, not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

YEAR_MS = 365 * 24 * 3600 * 1000
START_MS = int(datetime(2025, 12, 1, tzinfo=UTC).timestamp() * 1000)
EVENTS_PER_SESSION = 200
DAY_MS = 86_400_000

# One row per event number n; h(k) is a cheap deterministic hash of (n, k). Portable SQL (the
# team benchmark runs it on PostgreSQL too): the numbers come from a recursive CTE (SQLite) or
# generate_series (PostgreSQL).
_NUMBERS = {
    "sqlite": "RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {last})",
    "postgresql": "c(n) AS (SELECT generate_series(0, {last})::bigint)",
}
_COLUMNS = {
    "event_id": "'e' || n",
    "kind": """CASE WHEN h1 % 100 < 60 THEN 'llm_request' WHEN h1 % 100 < 92 THEN 'tool_call'
       WHEN h1 % 100 < 94 THEN 'api_error' WHEN h1 % 100 < 95 THEN 'compaction' ELSE 'turn' END""",
    "agent": """CASE WHEN hs % 10 < 6 THEN 'claude_code' WHEN hs % 10 < 8 THEN 'copilot'
       WHEN hs % 10 < 9 THEN 'codex' ELSE 'gemini' END""",
    "session_id": "'session-' || s",
    "run_id": "'run-' || s || '-' || ((n % {per}) / 20)",
    "project": "'/home/dev/project-' || (hs % 20)",
    "model": """CASE WHEN h1 % 100 < 60 OR h1 % 100 BETWEEN 92 AND 93 THEN
    CASE (hs + 3 * (CASE WHEN h2 % 10 = 0 THEN 1 ELSE 0 END)) % 8
      WHEN 0 THEN 'claude-sonnet-4-20250514' WHEN 1 THEN 'claude-opus-4-1-20250805'
      WHEN 2 THEN 'claude-haiku-4-5-20251001' WHEN 3 THEN 'gpt-4o' WHEN 4 THEN 'gpt-5'
      WHEN 5 THEN 'gemini-2.5-pro' WHEN 6 THEN 'claude-sonnet-4-5-20250929'
      ELSE 'local-model' END END""",
    "ts_ms": "{start} + (hs * 31536) % {year} + (n % {per}) * 20000",
    "input_tokens": "h2 % 500",
    "output_tokens": "h1 % 2000",
    "cache_read_tokens": "(h2 * 7) % 150000",
    "cache_write_tokens": "h1 % 3000",
    "total_tokens": "h2 % 500 + h1 % 2000 + (h2 * 7) % 150000 + h1 % 3000",
    "cost_nusd": "CASE WHEN h2 % 8 = 7 THEN NULL ELSE h1 * 13 END",
    "recorded_cost_nusd": "CASE WHEN hs % 10 = 9 THEN h1 * 11 END",
    "tool_name": """CASE WHEN h1 % 100 BETWEEN 60 AND 91 THEN
    CASE h2 % 12 WHEN 0 THEN 'Bash' WHEN 1 THEN 'Read' WHEN 2 THEN 'Edit' WHEN 3 THEN 'Write'
      WHEN 4 THEN 'Grep' WHEN 5 THEN 'Glob' WHEN 6 THEN 'Task' WHEN 7 THEN 'WebFetch'
      WHEN 8 THEN 'TodoWrite' WHEN 9 THEN 'MultiEdit' WHEN 10 THEN 'LS' ELSE 'NotebookEdit' END
  END""",
    "ok": """CASE WHEN h1 % 100 BETWEEN 60 AND 91 THEN (CASE WHEN h2 % 10 != 0 THEN 1 ELSE 0 END)
       WHEN h1 % 100 < 60 THEN NULL ELSE 0 END""",
    "duration_ms": (
        "CASE WHEN h1 % 100 BETWEEN 60 AND 91 OR hs % 10 >= 6 THEN 5 + (h1 * h2) % 20000 END"
    ),
    "ttft_ms": "CASE WHEN hs % 10 >= 6 AND h1 % 100 < 60 THEN 50 + h2 % 3000 END",
    "context_tokens": "(h2 * 7) % 150000 + h2 % 500 + h1 % 3000",
    "error_class": """CASE WHEN h1 % 100 BETWEEN 92 AND 93 THEN
    CASE h2 % 4 WHEN 0 THEN 'rate_limit' WHEN 1 THEN 'overloaded' WHEN 2 THEN 'server_error'
      ELSE 'context_too_long' END END""",
}


def synthetic_events(table: str, count: int, more: dict[str, str], engine: str = "sqlite") -> str:
    """One ``INSERT ... SELECT`` of ``count`` events into ``table``: a year from START_MS,
    sessions of EVENTS_PER_SESSION events, 4 agents, 20 projects, 8 models, 12 tools; 60%
    requests, 32% tool calls, 2% API errors. ``more``: the table's other columns (name -> SQL
    over n, s, h1, h2, hs)."""
    columns = {
        name: expr.format(per=EVENTS_PER_SESSION, start=START_MS, year=YEAR_MS)
        for name, expr in _COLUMNS.items()
    } | more
    return f"""WITH {_NUMBERS[engine].format(last=count - 1)},
r AS (
  SELECT n, n / {EVENTS_PER_SESSION} AS s,
    ((n * 2654435761 + 97) % 1000003) AS h1,
    ((n * 40503 + 12345) % 999983) AS h2,
    (((n / {EVENTS_PER_SESSION}) * 2246822519 + 7) % 1000033) AS hs
  FROM c
)
INSERT INTO {table} ({", ".join(columns)})
SELECT {", ".join(columns.values())}
FROM r"""


def build(path: Path, count: int) -> None:
    from sqlite_utils import Database

    from agenttail.store import Store
    from agenttail.store.migrations import migrations

    db = Database(path)
    db.execute("PRAGMA journal_mode = WAL")
    migrations.apply(db, stop_before="m007_analytics_rollups")
    for trigger in ("events_rollup_insert", "events_rollup_update", "events_rollup_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")  # m007 replaces them
    started = time.perf_counter()
    with db.conn:
        db.execute(synthetic_events("events", count, {"updated_at": "0"}))
    print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s")
    db.close()
    started = time.perf_counter()
    Store(path).close()  # applies m007: rollups filled from the events
    print(f"migration m007 (rollups from existing events): {time.perf_counter() - started:.1f} s")
    # Report notes: one agent without tokens on disk, ~1% of one agent's requests estimated.
    started = time.perf_counter()
    with sqlite3.connect(path) as conn:
        conn.execute(
            "INSERT INTO agent_tokens VALUES ('claude_code', 1), ('copilot', 1), ('codex', 1),"
            " ('gemini', 0)"
        )
        conn.execute(
            "UPDATE events SET estimated = 1 WHERE agent = 'copilot' AND kind = 'llm_request'"
            " AND CAST(substr(event_id, 2) AS INTEGER) % 100 = 0"
        )
    conn.close()
    print(f"estimates marked: {time.perf_counter() - started:.1f} s")


def timed(name: str, run: Callable[[], Any]) -> None:
    samples = []
    result: Any = None
    for _ in range(5):
        started = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - started) * 1000)
    size = len(result) if isinstance(result, list | dict) else 1
    print(f"| {name} | {statistics.median(samples):.1f} ms | {size} rows |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, default=Path("/tmp/bench-analytics.db"))
    parser.add_argument("--reuse", action="store_true", help="query an existing --db")
    args = parser.parse_args()
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.db}{suffix}").unlink(missing_ok=True)
        build(args.db, args.events)

    from agenttail.store import Store
    from agenttail.store.analytics import SqliteAnalytics

    with Store(args.db, readonly=True) as store:
        analytics = SqliteAnalytics(store)
        last = next(store.query("SELECT max(ts_ms) AS t FROM events"))["t"]
        session = next(
            store.query("SELECT session_id FROM events WHERE ts_ms >= ? LIMIT 1", [last - DAY_MS])
        )
        print(f"{store.events_total():,} events; queries (median of 5):")
        questions(analytics, last, session["session_id"])


def questions(analytics: Any, last: int, session_id: str) -> None:
    """Times every question on any ``Analytics`` (the team benchmark asks them too)."""
    from agenttail.analytics import Bucket, Dimension, Query
    from agenttail.report import ReportOptions, Window, blocks_report, daily_report

    day, week, month = last - DAY_MS, last - 7 * DAY_MS, last - 30 * DAY_MS
    paris = ZoneInfo("Europe/Paris")
    print("| question | latency | result |\n|---|---|---|")
    timed("usage summary, all time", lambda: analytics.usage(Query()))
    timed("usage per day, all time (UTC)", lambda: analytics.usage(Query(), (), Bucket.DAY))
    timed(
        "usage per day x agent x model, all time, Europe/Paris (report daily)",
        lambda: daily_report(analytics, ReportOptions(Window(paris))),
    )
    timed(
        "usage per week by project, last 30 days",
        lambda: analytics.usage(Query(since_ms=month), (Dimension.PROJECT,), Bucket.WEEK),
    )
    timed("model stats (p50/p95, error rate), all time", lambda: analytics.model_stats(Query()))
    timed("tool stats (p50/p95), all time", lambda: analytics.tool_stats(Query()))
    timed(
        "latency p50-p99 by model, all time",
        lambda: analytics.latency(Query(), Dimension.MODEL),
    )
    timed("errors by model, all time", lambda: analytics.errors(Query(), Dimension.MODEL))
    timed(
        "report notes (no tokens on disk, estimates), all time",
        lambda: analytics.token_notes(Query()),
    )
    timed("report notes, last 7 days", lambda: analytics.token_notes(Query(since_ms=week)))
    timed("sessions active in the last 7 days", lambda: analytics.sessions(Query(since_ms=week)))
    timed("sessions, all time", lambda: analytics.sessions(Query()))
    timed(
        "one session's timeline",
        lambda: analytics.session_timeline(session_id),
    )
    timed(
        "usage per hour by session, last day",
        lambda: analytics.usage(Query(since_ms=day), (Dimension.SESSION,), Bucket.HOUR),
    )
    timed(
        "blocks, last 30 days",
        lambda: blocks_report(
            analytics,
            ReportOptions(Window(UTC, datetime.fromtimestamp(month / 1000, UTC).date())),
            last,
            "max",
        ),
    )
    timed(
        "usage, one agent and one project, all time",
        lambda: analytics.usage(
            Query(agents=("codex",), projects=("/home/dev/project-8",)), (Dimension.MODEL,)
        ),
    )


if __name__ == "__main__":
    main()
