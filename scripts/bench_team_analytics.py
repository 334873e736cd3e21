"""Team analytics at scale: N synthetic events (default 10 million) in a team store, every question
timed through ``TeamAnalytics``, on SQLite or PostgreSQL.

    python scripts/bench_team_analytics.py --engine sqlite --events 10000000
    python scripts/bench_team_analytics.py --engine postgresql      # a throwaway cluster of its own

Events are generated in SQL straight into ``team_events`` (one year, 50 developers on 50
machines, 50,000 sessions of 200 events, 4 agents, 20 projects, 8 models, 12 tools; 60%
requests, 32% tool calls, 2% API errors), then the team store is opened as ``agenttail server``
opens a store without rollups: it builds them from the events (its duration is printed). Each
question runs five times through ``open_team_analytics`` (what ``report --database`` uses); the
median is printed. A benchmark, not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import bench_analytics  # noqa: E402 - the local benchmark's questions, asked of the team store
from bench_analytics import DAY_MS, EVENTS_PER_SESSION, START_MS, YEAR_MS, timed  # noqa: E402
from bench_server import _database as server_database  # noqa: E402

DEVELOPERS = 50

# One row per event number n; h(k) is a cheap deterministic hash of (n, k). Portable SQL: the
# numbers come from a recursive CTE (SQLite) or generate_series (PostgreSQL).
_GENERATE = """
WITH {numbers},
r AS (
  SELECT n, n / {per} AS s,
    ((n * 2654435761 + 97) % 1000003) AS h1,
    ((n * 40503 + 12345) % 999983) AS h2,
    (((n / {per}) * 2246822519 + 7) % 1000033) AS hs
  FROM c
)
INSERT INTO team_events (event_id, revision, kind, agent, session_id, run_id, project, model,
    ts_ms, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
    cache_write_5m_tokens, cache_write_1h_tokens, reasoning_tokens, total_tokens, cost_nusd,
    recorded_cost_nusd, tokens_known, estimated, tool_name, ok, duration_ms, ttft_ms,
    context_tokens, error_class, is_sidechain, counted, attrs, user_name, machine_id, batch_id,
    received_at)
SELECT 'e' || n, 1,
  CASE WHEN h1 % 100 < 60 THEN 'llm_request' WHEN h1 % 100 < 92 THEN 'tool_call'
       WHEN h1 % 100 < 94 THEN 'api_error' WHEN h1 % 100 < 95 THEN 'compaction' ELSE 'turn' END,
  CASE WHEN hs % 10 < 6 THEN 'claude_code' WHEN hs % 10 < 8 THEN 'copilot'
       WHEN hs % 10 < 9 THEN 'codex' ELSE 'gemini' END,
  'session-' || s, 'run-' || s || '-' || ((n % {per}) / 20),
  '/home/dev/project-' || (hs % 20),
  CASE WHEN h1 % 100 < 60 OR h1 % 100 BETWEEN 92 AND 93 THEN
    CASE (hs + 3 * (CASE WHEN h2 % 10 = 0 THEN 1 ELSE 0 END)) % 8
      WHEN 0 THEN 'claude-sonnet-4-20250514' WHEN 1 THEN 'claude-opus-4-1-20250805'
      WHEN 2 THEN 'claude-haiku-4-5-20251001' WHEN 3 THEN 'gpt-4o' WHEN 4 THEN 'gpt-5'
      WHEN 5 THEN 'gemini-2.5-pro' WHEN 6 THEN 'claude-sonnet-4-5-20250929'
      ELSE 'local-model' END END,
  {start} + (hs * 31536) % {year} + (n % {per}) * 20000,
  h2 % 500, h1 % 2000, (h2 * 7) % 150000, h1 % 3000, h1 % 3000, 0, 0,
  h2 % 500 + h1 % 2000 + (h2 * 7) % 150000 + h1 % 3000,
  CASE WHEN h2 % 8 = 7 THEN NULL ELSE h1 * 13 END,
  CASE WHEN hs % 10 = 9 THEN h1 * 11 END,
  1, 0,
  CASE WHEN h1 % 100 BETWEEN 60 AND 91 THEN
    CASE h2 % 12 WHEN 0 THEN 'Bash' WHEN 1 THEN 'Read' WHEN 2 THEN 'Edit' WHEN 3 THEN 'Write'
      WHEN 4 THEN 'Grep' WHEN 5 THEN 'Glob' WHEN 6 THEN 'Task' WHEN 7 THEN 'WebFetch'
      WHEN 8 THEN 'TodoWrite' WHEN 9 THEN 'MultiEdit' WHEN 10 THEN 'LS' ELSE 'NotebookEdit' END
  END,
  CASE WHEN h1 % 100 BETWEEN 60 AND 91 THEN (CASE WHEN h2 % 10 != 0 THEN 1 ELSE 0 END)
       WHEN h1 % 100 < 60 THEN NULL ELSE 0 END,
  CASE WHEN h1 % 100 BETWEEN 60 AND 91 OR hs % 10 >= 6 THEN 5 + (h1 * h2) % 20000 END,
  CASE WHEN hs % 10 >= 6 AND h1 % 100 < 60 THEN 50 + h2 % 3000 END,
  (h2 * 7) % 150000 + h2 % 500 + h1 % 3000,
  CASE WHEN h1 % 100 BETWEEN 92 AND 93 THEN
    CASE h2 % 4 WHEN 0 THEN 'rate_limit' WHEN 1 THEN 'overloaded' WHEN 2 THEN 'server_error'
      ELSE 'context_too_long' END END,
  0, 1, '{{}}', 'dev' || (hs % {developers}), 'machine-' || (hs % {developers}), 'bench', 0
FROM r
"""
_NUMBERS = {
    "sqlite": "RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < {last})",
    "postgresql": "c(n) AS (SELECT generate_series(0, {last})::bigint)",
}


@contextlib.contextmanager
def _database(engine: str, folder: Path) -> Iterator[str]:
    with server_database(engine, folder) as url:
        # Aggregates over millions of rows: the default 4 MB of work memory spills to disk.
        yield url if engine == "sqlite" else url + "?options=-c%20work_mem%3D256MB"


def build(url: str, engine: str, count: int) -> None:
    from agenttail.store.team import open_team_store, sql
    from agenttail.store.team.engine import SqlTeamStore

    dialect = sql.SQLITE if engine == "sqlite" else sql.POSTGRES
    statement = _GENERATE.format(
        numbers=_NUMBERS[engine].format(last=count - 1),
        per=EVENTS_PER_SESSION,
        start=START_MS,
        year=YEAR_MS,
        developers=DEVELOPERS,
    )
    started = time.perf_counter()
    _events_only(url, engine, sql.schema(dialect), statement)
    print(f"generated {count:,} events in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    store = open_team_store(url)  # no rollups yet: they are built from the events
    assert isinstance(store, SqlTeamStore)
    store.close()
    print(f"rollups built from the events: {time.perf_counter() - started:.1f} s", flush=True)


def _events_only(url: str, engine: str, schema: list[str], generate: str) -> None:
    """The team tables without rollups, filled by one INSERT ... SELECT."""
    if engine == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url[len("sqlite:///") :])
        conn.execute("PRAGMA journal_mode = WAL")
        with conn:
            for statement in schema:
                conn.execute(statement)
            conn.execute(generate)
        conn.close()
        return
    import psycopg

    with psycopg.connect(url) as conn:
        for statement in schema:
            conn.execute(statement)
        conn.execute(generate)
        conn.commit()
        conn.execute("ANALYZE team_events")
        conn.commit()


def questions(url: str) -> None:
    from agenttail.analytics import Bucket, Dimension, Query
    from agenttail.report import ReportOptions, Window, daily_report
    from agenttail.store.team.analytics import open_team_analytics

    with open_team_analytics(url) as analytics:
        last = next(analytics._rows("SELECT max(ts_ms) AS t FROM team_events"))["t"]
        session = next(
            analytics._rows(
                "SELECT session_id FROM team_events WHERE ts_ms >= ? LIMIT 1", [last - DAY_MS]
            )
        )["session_id"]
        bench_analytics.questions(analytics, last, session)  # the local store's questions
        month = last - 30 * DAY_MS
        timed(
            "report daily --by user, all time, UTC",
            lambda: daily_report(analytics, ReportOptions(Window(UTC)), Dimension.USER),
        )
        timed(
            "usage per week by user, last 30 days",
            lambda: analytics.usage(Query(since_ms=month), (Dimension.USER,), Bucket.WEEK),
        )
        timed(
            "one developer's usage by model, all time",
            lambda: analytics.usage(Query(users=("dev7",)), (Dimension.MODEL,)),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument(
        "--folder", type=Path, help="where the SQLite file goes (default: a temp folder)"
    )
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(dir=args.folder) as tmp,
        _database(args.engine, Path(tmp)) as url,
    ):
        build(url, args.engine, args.events)
        questions(url)


if __name__ == "__main__":
    main()
