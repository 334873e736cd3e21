"""Two developers' daemons upload through a faulty network to one team server.

Each developer has their own state folder, Claude sessions and token; every request crosses a
proxy that injects 503s, 429s, dropped connections and lost acks. The team store ends up with
exactly the two corpora's totals, per user, whatever the engine, and ``agenttail report daily
--json --database`` (a real CLI process) says so, per day and per user.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from agenttail.store.team import open_team_store
from agenttail.store.team.engine import SqlTeamStore
from tests.helpers import ClaudeSession
from tests.server.conftest import RunningServer
from tests.server.proxy import FaultProxy

TOTALS = ("input_tokens", "output_tokens", "cache_read_tokens", "requests")


def _corpus(config_dir: Path, seed: int, requests: int) -> dict[str, dict[str, int]]:
    """Writes one developer's sessions; returns their totals per UTC day by the test's own
    arithmetic."""
    days: dict[str, dict[str, int]] = {}
    for session_number in range(3):
        session = ClaudeSession(config_dir, cwd=f"/home/dev{seed}/project{session_number}")
        for n in range(requests):
            ident = f"{seed}-{session_number}-{n}"
            tokens = {"input": seed + n, "output": 10 * n + seed, "read": 100 * (n % 4)}
            session.write(
                session.prompt(f"secret prompt {ident}", f"2026-11-0{1 + n % 5}T10:00:{n:02d}Z"),
                session.assistant(
                    f"2026-11-0{1 + n % 5}T10:00:{n:02d}.500Z",
                    f"msg_{ident}",
                    request_id=f"req_{ident}",
                    input_tokens=tokens["input"],
                    output_tokens=tokens["output"],
                    cache_read=tokens["read"],
                ),
            )
            totals = days.setdefault(f"2026-11-0{1 + n % 5}", dict.fromkeys(TOTALS, 0))
            totals["input_tokens"] += tokens["input"]
            totals["output_tokens"] += tokens["output"]
            totals["cache_read_tokens"] += tokens["read"]
            totals["requests"] += 1
    return days


def _sum(days: list[dict[str, int]]) -> dict[str, int]:
    return {name: sum(day[name] for day in days) for name in TOTALS}


def _on_team(database: str) -> tuple[str, ...]:
    return ("-z", "UTC", "--database", database)


def _daily(database: str, *args: str) -> Any:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "agenttail",
            "report",
            "daily",
            "--json",
            *args,
            *_on_team(database),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return orjson.loads(done.stdout)


def _developer(tmp: Path, name: str, seed: int, server: RunningServer, url: str) -> Any:
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp / name / "state"),
        "CLAUDE_CONFIG_DIR": str(tmp / name / "claude"),
        "AGENTTAIL_UPLOAD_URL": url,
        "AGENTTAIL_UPLOAD_TOKEN": server.token(name),
        "AGENTTAIL_UPLOAD_USER": name,
        "AGENTTAIL_UPLOAD_BATCH_MAX_EVENTS": "5",
        "AGENTTAIL_UPLOAD_MAX_BACKOFF_SECONDS": "1",
        "AGENTTAIL_UPLOAD_TIMEOUT_SECONDS": "5",
    }
    expected = _corpus(tmp / name / "claude", seed, requests=12)
    subprocess.run(
        [sys.executable, "-m", "agenttail", "scan"], env=env, check=True, capture_output=True
    )
    return env, expected


def test_two_daemons_through_a_faulty_network_sum_exactly(
    server: RunningServer, tmp_path: Path
) -> None:
    with FaultProxy(f"http://127.0.0.1:{server.port}") as proxy:
        url = proxy.url + "/v1/batches"
        developers = {
            name: _developer(tmp_path, name, seed, server, url)
            for name, seed in (("alice", 1), ("bob", 2))
        }
        uploads = {
            name: subprocess.Popen(
                [sys.executable, "-m", "agenttail", "upload", "--json", "--deadline", "240"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for name, (env, _expected) in developers.items()
        }
        for name, process in uploads.items():
            out, err = process.communicate(timeout=300)
            assert process.returncode == 0, (name, err)
            assert orjson.loads(out)["pending_events"] == 0
    assert {"503", "429", "drop", "lost_ack"} <= set(proxy.seen), proxy.seen
    store = open_team_store(server.database)
    assert isinstance(store, SqlTeamStore)
    try:
        rows = list(
            store.rows(
                "SELECT user_name, sum(input_tokens) AS input_tokens,"
                " sum(output_tokens) AS output_tokens,"
                " sum(cache_read_tokens) AS cache_read_tokens, count(*) AS requests"
                " FROM team_events WHERE kind = 'llm_request' AND counted = 1"
                " GROUP BY user_name ORDER BY user_name"
            )
        )
    finally:
        store.close()
    got = {row.pop("user_name"): {k: int(v) for k, v in row.items()} for row in rows}
    expected = {name: _sum(list(days.values())) for name, (_env, days) in developers.items()}
    assert got == expected

    report = _daily(server.database)
    assert {k: report["totals"][k] for k in TOTALS} == _sum(list(expected.values()))
    for row in report["daily"]:
        same_day = [days[row["date"]] for _env, days in developers.values() if row["date"] in days]
        assert {k: row[k] for k in TOTALS} == _sum(same_day), row["date"]
    per_user = _daily(server.database, "--by", "user")
    for row in per_user["daily"]:
        _env, days = developers[row["user"]]
        assert {k: row[k] for k in TOTALS} == days[row["date"]], (row["user"], row["date"])
    assert len(per_user["daily"]) == sum(len(days) for _env, days in developers.values())
