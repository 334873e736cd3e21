"""Forge: ``.forge.db`` conversations (schema from Forge's Diesel migrations, context JSON from
its ``conversation_record.rs``): per-message usage with cache reads inside prompt tokens,
``approx`` counts as estimates, recorded cost, tool results, a conversation saved again."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from collections import defaultdict
from pathlib import Path
from typing import Any

from tests.helpers import agenttail_cli

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "forge"
NANOS = 1_000_000_000


def environment(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(HOME=str(tmp_path / "user-home"), AGENTTAIL_HOME=str(tmp_path / "state"))
    return env


def home_with_fixture(tmp_path: Path) -> tuple[dict[str, str], Path]:
    base = tmp_path / "user-home" / ".forge"
    shutil.copytree(FIXTURES / "root", base)
    return environment(tmp_path), base / ".forge.db"


def test_fixture_requests_per_day_and_estimates_apart(tmp_path: Path) -> None:
    env, _db = home_with_fixture(tmp_path)
    want = json.loads((FIXTURES / "expected.json").read_text())
    agenttail_cli(env, "scan")
    report = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))
    days: dict[str, dict[str, Any]] = defaultdict(lambda: defaultdict(int))
    estimated = 0
    for request in want["requests"]:
        if request["estimated"]:
            estimated += 1
            continue
        day = days[request["day"]]
        for key in ("input_tokens", "output_tokens", "cache_read_tokens"):
            day[key] += request[key]
        day["requests"] += 1
        day["recorded_cost_usd"] += request["cost_usd"] or 0
    got = {
        row["date"]: {k: row[k] for k in ("input_tokens", "output_tokens", "cache_read_tokens")}
        | {"requests": row["requests"]}
        for row in report["daily"]
    }
    assert got == {
        d: {k: v for k, v in day.items() if k != "recorded_cost_usd"} for d, day in days.items()
    }
    assert report["notes"] == [{"agent": "forge", "estimated_requests": estimated}]
    with sqlite3.connect(tmp_path / "state" / "agenttail.db") as store:
        recorded = store.execute(
            "SELECT sum(recorded_cost_nusd) FROM events WHERE agent = 'forge' AND counted = 1"
        ).fetchone()[0]
        tools = store.execute(
            "SELECT t.tool_name, t.ok, t.run_id = r.run_id FROM events AS t JOIN events AS r"
            " ON r.session_id = t.session_id AND r.kind = 'llm_request'"
            " AND r.run_id = t.run_id WHERE t.kind = 'tool_call' GROUP BY t.event_id"
            " ORDER BY t.ok DESC"
        ).fetchall()
        notices = store.execute("SELECT notice FROM sessions WHERE agent = 'forge'").fetchall()
    store.close()
    assert notices == [(None,)]  # a conversation without messages yet is not "skipped"
    assert recorded == round(sum(r["cost_usd"] or 0 for r in want["requests"]) * NANOS)
    assert tools == [(t["name"], int(t["ok"]), 1) for t in want["tools"]]  # in their turn


def test_a_conversation_saved_again_adds_its_new_message_only(tmp_path: Path) -> None:
    env, db = home_with_fixture(tmp_path)
    agenttail_cli(env, "scan")
    before = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))["totals"]
    with sqlite3.connect(db) as forge:
        (context,) = forge.execute(
            "SELECT context FROM conversations WHERE conversation_id = 'conv-a'"
        ).fetchone()
        data = json.loads(context)
        data["messages"].append(
            {
                "message": {"text": {"role": "Assistant", "content": "CANARY-more"}},
                "usage": {
                    "prompt_tokens": {"actual": 15000},
                    "completion_tokens": {"actual": 60},
                    "total_tokens": {"actual": 15060},
                    "cached_tokens": {"actual": 14000},
                },
            }
        )
        forge.execute(
            "UPDATE conversations SET context = ?, updated_at = '2026-03-05 09:30:00'"
            " WHERE conversation_id = 'conv-a'",
            (json.dumps(data),),
        )
    forge.close()  # Forge stamps every save with the current time: later than any before
    agenttail_cli(env, "scan")
    after = json.loads(agenttail_cli(env, "report", "daily", "--json", "-z", "UTC"))["totals"]
    assert after["requests"] - before["requests"] == 1
    assert after["input_tokens"] - before["input_tokens"] == 15000 - 14000
    assert after["cache_read_tokens"] - before["cache_read_tokens"] == 14000
    assert after["output_tokens"] - before["output_tokens"] == 60
