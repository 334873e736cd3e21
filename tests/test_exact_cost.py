"""Cost is exact: integer nanodollars summed in any order, and old stores migrate to it."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

from sqlite_utils import Database

from agenttail.money import nusd_from_usd
from agenttail.store import Store
from agenttail.store import migrations as schema
from tests.helpers import ClaudeSession, agenttail_cli


def _cli_env(home: Path, claude: Path) -> dict[str, str]:
    import os

    return {**os.environ, "AGENTTAIL_HOME": str(home), "CLAUDE_CONFIG_DIR": str(claude)}


def _daily(env: dict[str, str]) -> dict[str, object]:
    data = json.loads(agenttail_cli(env, "report", "daily", "--json", "--timezone", "UTC"))
    assert isinstance(data, dict)
    return data


def test_incremental_and_fresh_ingest_give_identical_cost(tmp_path: Path) -> None:
    """Prices with many decimals, ingested line by line vs at once: the same dollars exactly."""
    claude = tmp_path / "claude"
    session = ClaudeSession(claude)
    rng = random.Random(7)
    lines = [
        session.assistant(
            f"2026-11-0{1 + i % 3}T10:{i % 60:02d}:00.000Z",
            f"msg_{i}",
            request_id=f"req_{i}",
            model=rng.choice(["claude-sonnet-4-20250514", "claude-3-5-haiku-20241022"]),
            input_tokens=rng.randrange(1, 5000),
            output_tokens=rng.randrange(1, 5000),
            cache_read=rng.randrange(0, 90_000),
            cache_write_5m=rng.randrange(0, 3000),
        )
        for i in range(40)
    ]
    incremental = _cli_env(tmp_path / "incremental", claude)
    for start in range(0, len(lines), 7):  # several scans, each seeing a few new lines
        session.write(*lines[start : start + 7])
        agenttail_cli(incremental, "scan")
    fresh = _cli_env(tmp_path / "fresh", claude)
    agenttail_cli(fresh, "scan")
    assert _daily(incremental) == _daily(fresh)
    with Store(tmp_path / "fresh" / "agenttail.db", readonly=True) as store:
        costs = [row["cost_nusd"] for row in store.query("SELECT cost_nusd FROM events")]
    assert all(isinstance(cost, int) and cost > 0 for cost in costs)
    totals = _daily(fresh)["totals"]
    assert isinstance(totals, dict)
    assert totals["cost_usd"] == sum(costs) / 1e9


def test_recorded_dollars_become_exact_nanodollars() -> None:
    assert nusd_from_usd(0.1) == 100_000_000
    assert nusd_from_usd(1.234567891) == 1_234_567_891
    assert nusd_from_usd(3) == 3_000_000_000
    assert nusd_from_usd(-1.0) is None
    assert nusd_from_usd(float("nan")) is None
    assert nusd_from_usd(True) is None
    assert nusd_from_usd("0.5") is None


def test_a_store_of_the_first_schema_migrates_its_costs_and_metric_attrs(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.isolation_level = None
    old = Database(conn)
    first_schema = (
        schema.m001_sessions_and_events,
        schema.m002_usage_rollup,
        schema.m003_upload_outbox,
        schema.m003_dedup_precedence_index,
        schema.m004_drop_unused_indexes,
    )
    for step in first_schema:
        step(old)
    conn.execute(
        "CREATE TABLE _sqlite_migrations (id INTEGER PRIMARY KEY, migration_set TEXT,"
        " name TEXT, applied_at TEXT)"
    )
    for step in first_schema:
        conn.execute(
            "INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
            " VALUES ('agenttail', ?, '2026-11-22')",
            [step.__name__],
        )
    attrs = json.dumps({"context_tokens": 1234, "history_len": 7, "reported_cost_usd": 0.25})
    conn.execute(
        "INSERT INTO events (event_id, kind, agent, session_id, model, ts_ms, input_tokens,"
        " output_tokens, total_tokens, cost_usd, attrs, updated_at)"
        " VALUES ('a', 'llm_request', 'claude_code', 's', 'm', 1000, 10, 20, 30, 0.000123,"
        " ?, 0)",
        [attrs],
    )
    conn.close()
    with Store(path) as store:
        (row,) = store.query("SELECT * FROM events")
        (rollup,) = store.query("SELECT * FROM usage_rollup")
    assert "cost_usd" not in row
    assert row["cost_nusd"] == 123_000
    assert row["recorded_cost_nusd"] == 250_000_000
    assert (row["context_tokens"], row["history_len"]) == (1234, 7)
    assert (rollup["cost_nusd"], rollup["requests"], rollup["input_tokens"]) == (123_000, 1, 10)
