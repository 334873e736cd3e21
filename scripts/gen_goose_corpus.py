#!/usr/bin/env python3
"""Generate a Goose ``sessions.db`` (schema v13, as Goose 1.x writes it) for parity tests.

Usage::

    python scripts/gen_goose_corpus.py OUT_DIR [--sessions N] [--days D] [--seed S]

Writes ``OUT_DIR/root/sessions.db`` (``root``: a ``<data dir>/sessions`` folder) and
``OUT_DIR/expected.json``. Session rows hold running totals (``accumulated_*``), the last
request's counts, ``model_config_json``, ``provider_name`` and UTC ``YYYY-MM-DD HH:MM:SS``
times; some are sub-agent sessions, one older row has no running totals (only the last
request's), some have a total above input + output. Names, messages and tool calls hold CANARY
strings. ``expected.json``: per UTC day of ``created_at``, ``daily``/``totals`` as agenttail
reports them (a total above the parts counted as output) and ``ccusage`` as ccusage 20.0.24 does
(that surplus only in ``totalTokens``).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP DEFAULT
    CURRENT_TIMESTAMP);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY, name TEXT NOT NULL DEFAULT '', description TEXT NOT NULL DEFAULT '',
    user_set_name BOOLEAN DEFAULT FALSE, session_type TEXT NOT NULL DEFAULT 'user',
    working_dir TEXT NOT NULL, created_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP DEFAULT CURRENT_TIMESTAMP, extension_data TEXT DEFAULT '{}',
    total_tokens INTEGER, input_tokens INTEGER, output_tokens INTEGER,
    accumulated_total_tokens INTEGER, accumulated_input_tokens INTEGER,
    accumulated_output_tokens INTEGER, accumulated_cost REAL, schedule_id TEXT,
    recipe_json TEXT, user_recipe_values_json TEXT, provider_name TEXT, model_config_json TEXT,
    goose_mode TEXT NOT NULL DEFAULT 'auto', archived_at TIMESTAMP, project_id TEXT);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, message_id TEXT,
    session_id TEXT NOT NULL REFERENCES sessions(id), role TEXT NOT NULL,
    content_json TEXT NOT NULL, created_timestamp INTEGER NOT NULL,
    timestamp TIMESTAMP DEFAULT CURRENT_TIMESTAMP, tokens INTEGER, metadata_json TEXT);
CREATE INDEX idx_messages_session ON messages(session_id);
CREATE INDEX idx_sessions_updated ON sessions(updated_at DESC);
"""
MODELS = (("anthropic", "claude-sonnet-4-5"), ("openai", "gpt-5"), ("google", "gemini-2.5-pro"))
FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def sql_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=12)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    root = args.out / "root"
    root.mkdir(parents=True, exist_ok=True)
    ours: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    theirs: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys((*FIELDS, "total_tokens"), 0)
    )
    with sqlite3.connect(root / "sessions.db") as db:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO schema_version (version) VALUES (?)", [(v,) for v in range(1, 14)]
        )
        start = datetime(2026, 11, 1, 8, tzinfo=UTC)
        for index in range(args.sessions):
            created = start + timedelta(hours=24 * args.days * index / args.sessions)
            created += timedelta(minutes=rng.randint(0, 600))
            updated = created + timedelta(minutes=rng.randint(5, 900))  # may pass midnight
            provider, model = MODELS[index % len(MODELS)]
            sid = f"{created:%Y%m%d}_{index + 1}"
            input_tokens, output = rng.randint(2000, 400_000), rng.randint(100, 40_000)
            surplus = rng.randint(1, 5000) if index % 5 == 2 else 0
            total = input_tokens + output + surplus
            legacy = index % 7 == 6  # an older row: only the last request's counts
            row: dict[str, Any] = {
                "id": sid,
                "name": f"CANARY-NAME session {index}",
                "description": "CANARY-DESCRIPTION",
                "session_type": "sub_agent" if index % 4 == 3 else "user",
                "working_dir": f"/home/dev/project-{index % 3}",
                "created_at": sql_time(created),
                "updated_at": sql_time(updated),
                "extension_data": json.dumps({"todo": "CANARY-EXTENSION"}),
                "total_tokens": total if legacy else rng.randint(1000, 9000),
                "input_tokens": input_tokens if legacy else rng.randint(800, 8000),
                "output_tokens": output if legacy else rng.randint(10, 900),
                "accumulated_total_tokens": None if legacy else total,
                "accumulated_input_tokens": None if legacy else input_tokens,
                "accumulated_output_tokens": None if legacy else output,
                "accumulated_cost": round(rng.uniform(0.01, 3), 4),
                "provider_name": provider,
                "model_config_json": json.dumps(
                    {
                        "model_name": model,
                        "context_limit": None,
                        "temperature": None,
                        "max_tokens": None,
                        "toolshim": False,
                        "toolshim_model": None,
                    }
                ),
            }
            columns = ", ".join(row)
            db.execute(
                f"INSERT INTO sessions ({columns}) VALUES ({', '.join('?' for _ in row)})",
                list(row.values()),
            )
            for turn in range(3):
                moment = int((created + timedelta(minutes=turn)).timestamp())
                content = [{"type": "text", "text": f"CANARY-PROMPT-{turn}"}]
                reply = [
                    {
                        "type": "toolRequest",
                        "id": f"toolu_{index}_{turn}",
                        "toolCall": {
                            "status": "success",
                            "value": {
                                "name": "developer__shell",
                                "arguments": {"command": "CANARY-TOOL-INPUT"},
                            },
                        },
                    }
                ]
                for role, body in (("user", content), ("assistant", reply)):
                    db.execute(
                        "INSERT INTO messages (message_id, session_id, role, content_json, "
                        "created_timestamp) VALUES (?, ?, ?, ?, ?)",
                        (f"msg_{sid}_{turn}_{role}", sid, role, json.dumps(body), moment),
                    )
            day = created.date().isoformat()
            ours[day]["input_tokens"] += input_tokens
            ours[day]["output_tokens"] += output + surplus
            theirs[day]["input_tokens"] += input_tokens
            theirs[day]["output_tokens"] += output
            theirs[day]["total_tokens"] += total

    def rows(days: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
        return [
            {
                "date": d,
                **days[d],
                "total_tokens": days[d].get("total_tokens", sum(days[d].values())),
            }
            for d in sorted(days)
        ]

    daily, ccusage = rows(ours), rows(theirs)
    keys = (*FIELDS, "total_tokens")
    expected = {
        "daily": daily,
        "totals": {k: sum(r[k] for r in daily) for k in keys},
        "ccusage": {"daily": ccusage, "totals": {k: sum(r[k] for r in ccusage) for k in keys}},
    }
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
