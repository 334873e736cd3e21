"""The team receiver on both engines: exactly-once effect, identity, and input hygiene."""

from __future__ import annotations

import gzip
import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from agenttail.store.team import open_team_store
from agenttail.store.team.engine import SqlTeamStore
from tests.server.conftest import RunningServer, cli


def event(number: int, revision: int = 1, **values: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "event_id": hashlib.sha256(str(number).encode()).hexdigest()[:32],
        "revision": revision,
        "kind": "llm_request",
        "agent": "claude_code",
        "session_id": "s1",
        "ts_ms": 1_764_000_000_000 + number,
        "model": "claude-sonnet-4-20250514",
        "input_tokens": 10,
        "output_tokens": 20,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 30,
        "cost_nusd": 330_000,
        "is_sidechain": False,
        "counted": True,
        "attrs": {},
    }
    row.update(values)
    return row


def batch(events: list[dict[str, Any]], user: str | None = None, host: str = "m1") -> bytes:
    pairs = sorted(f"{e['event_id']}:{e['revision']}" for e in events)
    source: dict[str, Any] = {
        "name": "agenttail",
        "version": "test",
        "host_id": host,
        "exporter": "http",
    }
    if user is not None:
        source["user"] = user
    body = {
        "schema": "agenttail.batch/v1",
        "batch_id": hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:32],
        "sent_at": "2026-12-02T10:00:00.000+00:00",
        "source": source,
        "events": events,
    }
    return orjson.dumps(body)


def post(server: RunningServer, body: bytes, token: str | None, **headers: str) -> httpx.Response:
    sent = {"Content-Encoding": "gzip", "Content-Type": "application/json", **headers}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    key = orjson.loads(body).get("batch_id") if body.startswith(b"{") else None
    if key and "Idempotency-Key" not in headers:
        sent["Idempotency-Key"] = key
    return httpx.post(server.url, content=gzip.compress(body), headers=sent, timeout=30)


def stored(server: RunningServer) -> list[dict[str, Any]]:
    store = open_team_store(server.database)
    assert isinstance(store, SqlTeamStore)
    try:
        return list(
            store.rows(
                "SELECT event_id, revision, user_name, machine_id, input_tokens, output_tokens,"
                " cost_nusd FROM team_events ORDER BY event_id"
            )
        )
    finally:
        store.close()


def test_a_retried_batch_and_a_lost_ack_store_each_event_once(server: RunningServer) -> None:
    token = server.token("alice")
    body = batch([event(1), event(2), event(3)])
    first = post(server, body, token)
    assert first.status_code == 200, first.text
    assert first.json()["stored"] == 3 and first.json()["duplicate"] is False
    again = post(server, body, token)  # the exporter retries after a lost ack
    assert again.status_code == 200 and again.json()["duplicate"] is True
    rows = stored(server)
    assert len(rows) == 3
    assert {r["user_name"] for r in rows} == {"alice"}
    assert sum(r["input_tokens"] for r in rows) == 30


def test_an_event_is_kept_at_its_highest_revision(server: RunningServer) -> None:
    token = server.token("alice")
    assert post(server, batch([event(1, revision=2, output_tokens=500)]), token).status_code == 200
    late_old = post(server, batch([event(1, revision=1, output_tokens=20)]), token)
    assert late_old.status_code == 200 and late_old.json()["stored"] == 0
    assert post(server, batch([event(1, revision=3, output_tokens=900)]), token).status_code == 200
    (row,) = stored(server)
    assert (row["revision"], row["output_tokens"]) == (3, 900)


def test_two_machines_uploading_the_same_events_never_double_count(
    server: RunningServer,
) -> None:
    token = server.token("alice")
    events = [event(n) for n in range(50)]
    assert post(server, batch(events, host="laptop"), token).status_code == 200
    assert post(server, batch(events[25:], host="desktop"), token).status_code == 200
    rows = stored(server)
    assert len(rows) == 50
    assert sum(r["cost_nusd"] for r in rows) == 50 * 330_000


def test_tokens_are_per_user_and_revocable(server: RunningServer) -> None:
    alice = server.token("alice")
    server.token("bob")
    body = batch([event(1)], user="bob")
    refused = post(server, body, alice)  # alice's token may not write as bob
    assert refused.status_code == 403
    assert "bob" not in refused.text and alice not in refused.text
    missing = post(server, batch([event(2)]), None)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert post(server, batch([event(2)]), "att_not-a-token").status_code == 401
    listed = cli("server", "token", "list", "--database", server.database)
    assert "alice\tactive" in listed and "bob\tactive" in listed
    assert alice not in listed  # only hashes are stored
    cli("server", "token", "revoke", "alice", "--database", server.database)
    assert post(server, batch([event(3)]), alice).status_code == 401
    assert stored(server) == []


def test_bad_bodies_are_refused_with_a_reason_and_store_nothing(server: RunningServer) -> None:
    token = server.token("alice")
    wrong_type = post(server, batch([event(1, input_tokens="ten")]), token)
    assert wrong_type.status_code == 400
    assert wrong_type.json()["error"]["field"] == "$.events[0].input_tokens"
    content = post(server, batch([event(1, prompt="please refactor my secrets")]), token)
    assert content.status_code == 400  # a content field is rejected, not stored
    for huge in (2**63, 2**53 + 1):  # beyond any real count; PostgreSQL's BIGINT ends at 2^63
        out_of_range = post(server, batch([event(1, input_tokens=huge)]), token)
        assert out_of_range.status_code == 400, out_of_range.text
    negative = post(server, batch([event(1, cost_nusd=-5)]), token)
    assert negative.status_code == 400
    leaky_attr = post(server, batch([event(1, attrs={"stop_reason": "said: hello world"})]), token)
    assert leaky_attr.status_code == 400
    not_json = httpx.post(
        server.url,
        content=gzip.compress(b"{nope"),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
    )
    assert not_json.status_code == 400
    brotli = httpx.post(
        server.url,
        content=batch([event(1)]),
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "br"},
    )
    assert brotli.status_code == 415
    mismatched = post(server, batch([event(1)]), token, **{"Idempotency-Key": "0" * 32})
    assert mismatched.status_code == 400
    assert stored(server) == []


def test_oversize_bodies_and_gzip_bombs_get_413(server: RunningServer) -> None:
    token = server.token("alice")
    bomb = gzip.compress(b"[" + b" " * (80 * 1024 * 1024) + b"]")  # 80 MiB of nothing
    assert len(bomb) < 1024 * 1024
    response = httpx.post(
        server.url,
        content=bomb,
        headers={"Authorization": f"Bearer {token}", "Content-Encoding": "gzip"},
        timeout=60,
    )
    assert response.status_code == 413
    huge = b"x" * (17 * 1024 * 1024)
    response = httpx.post(
        server.url,
        content=huge,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 413


def test_openapi_describes_the_batch_endpoint(server: RunningServer) -> None:
    document = httpx.get(server.url.replace("/v1/batches", "/openapi.json")).json()
    post_op = document["paths"]["/v1/batches"]["post"]
    assert set(post_op["responses"]) >= {"200", "400", "401", "403", "413", "429"}
    batch_schema = document["components"]["schemas"]["Batch"]
    assert batch_schema["properties"]["events"]["items"]["$ref"] == "#/components/schemas/Event"


@pytest.mark.parametrize("url", ["mysql://x", "sqlite:relative.db"])
def test_an_unsupported_database_url_is_a_clear_message(url: str) -> None:
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "agenttail", "server", "token", "list", "--database", url],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 69
    assert "unsupported database URL" in done.stderr and "Traceback" not in done.stderr


def test_the_server_unit_verifies_with_systemd(tmp_path: Path) -> None:
    unit = cli("server", "unit", "--database", "postgresql://agenttail@db/agenttail")
    assert "--listen 0.0.0.0:8787" in unit
    assert 'Environment="AGENTTAIL_SERVER_DATABASE=postgresql://agenttail@db/agenttail"' in unit
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze not found")
    path = tmp_path / "agenttail-server.service"
    path.write_text(unit)
    done = subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, check=False
    )
    problems = [line for line in done.stderr.splitlines() if str(path) in line]
    assert done.returncode == 0 and not problems, done.stderr
