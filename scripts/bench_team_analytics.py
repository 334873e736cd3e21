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
from bench_analytics import DAY_MS, synthetic_events, timed  # noqa: E402
from bench_server import _database as server_database  # noqa: E402

DEVELOPERS = 50
# The team table's columns beyond the local store's: 50 developers on 50 machines.
_TEAM_COLUMNS = {
    "revision": "1",
    "cache_write_5m_tokens": "h1 % 3000",
    "cache_write_1h_tokens": "0",
    "reasoning_tokens": "0",
    "tokens_known": "1",
    "estimated": "0",
    "is_sidechain": "0",
    "counted": "1",
    "attrs": "'{}'",
    "user_name": f"'dev' || (hs % {DEVELOPERS})",
    "machine_id": f"'machine-' || (hs % {DEVELOPERS})",
    "batch_id": "'bench'",
    "received_at": "0",
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
    statement = synthetic_events("team_events", count, _TEAM_COLUMNS, engine)
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
