"""Two developers' daemons upload through a faulty network to one team server.

Each developer has their own state folder, Claude sessions and token; every request crosses a
proxy that injects 503s, 429s, dropped connections and lost acks. The team store ends up with
exactly the two corpora's totals, per user, whatever the engine.
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


def _corpus(config_dir: Path, seed: int, requests: int) -> dict[str, int]:
    """Writes one developer's sessions; returns their totals by the test's own arithmetic."""
    totals = {"input_tokens": 0, "output_tokens": 0, "cache_read_tokens": 0, "requests": 0}
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
            totals["input_tokens"] += tokens["input"]
            totals["output_tokens"] += tokens["output"]
            totals["cache_read_tokens"] += tokens["read"]
            totals["requests"] += 1
    return totals


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
    assert got == {name: expected for name, (_env, expected) in developers.items()}
