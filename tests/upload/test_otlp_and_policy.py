"""OTLP export decoded with opentelemetry-proto; retry rules; privacy; bounds; config."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import orjson
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from agenttail.config import ConfigError, load_config
from agenttail.store import Store
from agenttail.upload.outbox import WAITING, WAITING_INDEX, pressure
from agenttail.upload.retry import Backoff, parse_retry_after
from agenttail.upload.settings import upload_settings
from agenttail.upload.status import status_section
from tests.upload.receiver import Fault, Receiver, otlp_attrs
from tests.upload.support import FakeClock, database, scan, settings, stored_events, uploader
from tests.upload.transcripts import CANARY, write_sessions


def test_otlp_logs_and_token_metric(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=2, turns=2)
    scan()
    expected = stored_events()
    receiver.script(Fault(503, {"Retry-After": "3"}), Fault(200), Fault(502))
    up = uploader(settings(receiver.url, exporter="otlp", user="dev-alice"), FakeClock())
    try:
        assert up.flush(600).drained
    finally:
        up.close()
    assert set(receiver.events) == set(expected)
    paths = [c.path for c in receiver.requests]
    assert paths == ["/v1/logs", "/v1/logs", "/v1/metrics", "/v1/metrics"], (
        "a retry re-sends only the part that was not acknowledged"
    )
    assert all(c.headers["Content-Type"] == "application/x-protobuf" for c in receiver.requests)
    assert all(CANARY.encode() not in c.body for c in receiver.requests)
    llm = [
        e["attrs"]
        for e in receiver.events.values()
        if e["attrs"]["agenttail.kind"] == "llm_request"
    ]
    assert llm and all(a["gen_ai.provider.name"] == "anthropic" for a in llm)
    assert all(a["gen_ai.operation.name"] == "chat" for a in llm)
    assert {a["gen_ai.usage.input_tokens"] for a in llm} == {12 + 5000 + 300}
    [request] = receiver.metrics
    [metric] = request.resource_metrics[0].scope_metrics[0].metrics
    assert metric.name == "gen_ai.client.token.usage" and metric.unit == "{token}"
    points = {otlp_attrs(p)["gen_ai.token.type"]: p for p in metric.histogram.data_points}
    assert set(points) == {"input", "output"}
    assert points["input"].count == len(llm)
    assert points["input"].sum == sum(a["gen_ai.usage.input_tokens"] for a in llm)
    assert points["output"].sum == sum(a["gen_ai.usage.output_tokens"] for a in llm)
    assert otlp_attrs(points["input"])["gen_ai.request.model"] == "claude-sonnet-4-20250514"
    # What a Collector -> ClickHouse/Prometheus pipeline keys on: the event id on every record,
    # the session as gen_ai.conversation.id, cache reads and writes, and who sent it.
    assert all(a["agenttail.event_id"] in expected for a in llm)
    assert all(a["gen_ai.conversation.id"] for a in llm)
    assert {a["gen_ai.usage.cache_read.input_tokens"] for a in llm} == {5000}
    assert {a["gen_ai.usage.cache_write.input_tokens"] for a in llm} == {300}
    logs = ExportLogsServiceRequest.FromString(receiver.requests[-3].body)
    resource = otlp_attrs(logs.resource_logs[0].resource)
    assert resource["service.name"] == "agenttail"
    assert resource["host.id"] and resource["user.name"] == "dev-alice"


def test_otlp_does_not_retry_what_the_spec_forbids(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=1)
    scan()
    receiver.script(Fault(500))
    clock = FakeClock()
    up = uploader(settings(receiver.url, exporter="otlp"), clock)
    try:
        report = up.flush(60)
    finally:
        up.close()
    assert report.set_aside == 1 and clock.sleeps == []


def test_retry_after_both_forms() -> None:
    now = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("99999999", now) == 900, "a hostile value is capped"


def test_backoff_grows_with_jitter_up_to_the_cap() -> None:
    backoff = Backoff(initial=5, multiplier=1.5, maximum=30)
    for attempt, base in ((1, 5.0), (2, 7.5), (3, 11.25)):
        waits = {backoff.delay(attempt) for _ in range(50)}
        assert all(base * 0.5 <= w <= base * 1.5 for w in waits)
        assert len(waits) > 1, "jittered"
    assert all(backoff.delay(20) <= 30 for _ in range(50))
    assert backoff.wait(1, retry_after=60) == 60, "a longer Retry-After wins"


def test_project_modes_and_allow_deny(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=3, turns=1)  # /home/dev/project0..2
    scan()
    config = settings(receiver.url, project_mode="hash", projects_deny=("project1",))
    up = uploader(config, FakeClock())
    try:
        assert up.flush(60).drained
    finally:
        up.close()
    projects = {e["project"] for e in receiver.events.values()}
    assert len(projects) == 2 and all(len(p) == 16 for p in projects)
    bodies = b"".join(c.body for c in receiver.requests)
    assert b"project0" not in bodies and b"/home/dev" not in bodies
    assert b"git_branch" not in bodies, "branch names stay local unless enabled"
    with Store(database()) as store:
        status = status_section(store)
    assert status["filtered_events"] > 0 and status["pending_events"] == 0


def test_allow_list_and_basename_default(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=2, turns=1)
    scan()
    up = uploader(settings(receiver.url, projects_allow=("/home/dev/project0",)), FakeClock())
    try:
        up.flush(60)
    finally:
        up.close()
    assert {e["project"] for e in receiver.events.values()} == {"project0"}


def test_backlog_cap_drops_oldest_and_counts(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=2, turns=3)
    scan()
    total = len(stored_events())
    up = uploader(settings(receiver.url, max_pending_events=5), FakeClock())
    try:
        report = up.flush(60)
    finally:
        up.close()
    assert report.dropped == total - 5
    assert len(receiver.events) == 5
    with Store(database()) as store:
        assert status_section(store)["dropped_events"] == total - 5


def test_age_retention_drops_and_counts(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=2)
    scan()
    clock = FakeClock(offset=40 * 86400.0)  # the uploader runs 40 days after the scan
    clock.offset += (datetime.now(UTC) - datetime(2026, 5, 2, 12, 0, tzinfo=UTC)).total_seconds()
    up = uploader(settings(receiver.url, retention_days=30), clock)
    try:
        report = up.flush(60)
    finally:
        up.close()
    assert report.dropped == len(stored_events()) and not receiver.requests


def indexes() -> set[str]:
    with Store(database(), readonly=True) as store:
        return {
            r["name"] for r in store.query("SELECT name FROM sqlite_master WHERE type = 'index'")
        }


def test_without_upload_no_row_is_indexed_for_it_and_history_is_sent_once_configured(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=2)
    scan()  # no upload.url: every commit skips the outbox's index
    assert WAITING_INDEX not in indexes()
    with Store(database()) as store:
        assert status_section(store)["pending_events"] == 0  # nothing would send them

    up = uploader(settings(receiver.url), FakeClock())  # configured later
    try:
        assert up.flush(60).drained
    finally:
        up.close()
    assert set(receiver.events) == set(stored_events())  # everything stored meanwhile
    assert WAITING_INDEX in indexes()
    with Store(database()) as store:  # the uploader's pending query reads that index
        plan = store.conn.execute(
            f"EXPLAIN QUERY PLAN SELECT event_id FROM events WHERE {WAITING} "
            "ORDER BY updated_at, event_id LIMIT 10"
        ).fetchall()
    text = " ".join(str(row) for row in plan)
    assert f"USING INDEX {WAITING_INDEX}" in text or f"USING COVERING INDEX {WAITING_INDEX}" in text

    from agenttail.upload.loop import UploadLoop

    idle = UploadLoop(database(), None)  # the daemon started again without upload.url
    idle.start()
    idle.stop()
    assert WAITING_INDEX not in indexes()


def test_queue_pressure_levels() -> None:
    assert [pressure(n, 100) for n in (0, 49, 50, 80, 100, 500)] == [
        "ok",
        "ok",
        "elevated",
        "high",
        "saturated",
        "saturated",
    ]


def test_config_refuses_plain_http_and_loose_token_files(tmp_path: Path) -> None:
    env = {"AGENTTAIL_HOME": str(tmp_path), "AGENTTAIL_UPLOAD_URL": "http://metrics.example.com"}
    with pytest.raises(ConfigError, match="unencrypted"):
        upload_settings(load_config(env=env))
    ok = upload_settings(load_config(env={**env, "AGENTTAIL_UPLOAD_ALLOW_INSECURE_HTTP": "1"}))
    assert ok is not None
    token = tmp_path / "token"
    token.write_text("file-token\n")
    token.chmod(0o644)
    env = {
        "AGENTTAIL_HOME": str(tmp_path),
        "AGENTTAIL_UPLOAD_URL": "https://m.example.com",
        "AGENTTAIL_UPLOAD_TOKEN_FILE": str(token),
    }
    with pytest.raises(ConfigError, match="chmod 600"):
        upload_settings(load_config(env=env))
    token.chmod(0o600)
    loaded = upload_settings(load_config(env=env))
    assert loaded is not None and loaded.token == "file-token"
    assert "file-token" not in repr(loaded)
    (tmp_path / "config.toml").write_text('[upload]\nurl = "https://file.example.com"\n')
    loaded = upload_settings(load_config(env={**env, "AGENTTAIL_UPLOAD_TOKEN": "env-token"}))
    assert loaded is not None and loaded.token == "env-token"
    assert loaded.url == "https://m.example.com", "the environment wins over the file"
    assert upload_settings(load_config(env={"AGENTTAIL_HOME": str(tmp_path / "x")})) is None


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_upload_and_status(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=2)
    env = dict(os.environ)
    assert _cli("scan", env=env).returncode == 0
    unconfigured = _cli("upload", env=env)
    assert unconfigured.returncode == 0 and "stay local" in unconfigured.stdout
    env.update(AGENTTAIL_UPLOAD_URL=receiver.url, AGENTTAIL_UPLOAD_TOKEN="tok-never-logged")
    done = _cli("upload", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["pending_events"] == 0
    status = _cli("status", "--json", env=env)
    upload = orjson.loads(status.stdout)["upload"]
    assert upload["configured"] and upload["sent_events"] == len(receiver.events)
    assert upload["failures"]["connection"] == 0 and upload["queue_pressure"] == "ok"
    for out in (done.stdout, done.stderr, status.stdout, status.stderr):
        assert "tok-never-logged" not in out
    bad = _cli("upload", env={**env, "AGENTTAIL_UPLOAD_URL": "http://10.1.2.3/x"})
    assert bad.returncode == 78 and "unencrypted" in bad.stderr


def test_upload_loop_is_idle_without_a_url_and_flushes_soon_after_start(
    receiver: Receiver, tmp_path: Path
) -> None:
    from agenttail.upload.loop import UploadLoop

    write_sessions(tmp_path / "claude", sessions=1, turns=1)
    scan()
    idle = UploadLoop(database(), None)
    idle.start()
    idle.stop()
    assert idle.flushes == 0, "no URL: nothing is sent, events stay local"
    loop = UploadLoop(database(), settings(receiver.url), first_delay_s=0.1)
    loop.start()  # the interval is 60 s: only the first flush can send within the test
    try:
        deadline = time.monotonic() + 10
        while set(receiver.events) != set(stored_events()) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        loop.stop()
    assert set(receiver.events) == set(stored_events())
    assert loop.flushes == 1
