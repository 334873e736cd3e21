"""Every event arrives through every fault; nothing but metrics leaves the machine."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path

import orjson

from agenttail.store import Store
from agenttail.upload.status import status_section
from tests.upload.receiver import Fault, Receiver
from tests.upload.support import (
    BASE,
    VALIDATOR,
    FakeClock,
    database,
    scan,
    settings,
    stored_events,
    uploader,
)
from tests.upload.transcripts import CANARY, Session, write_sessions


def _pending() -> int:
    with Store(database()) as store:
        return int(status_section(store)["pending_events"])


def test_every_fault_is_survived_and_every_event_arrives(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=3, turns=4)
    scan()
    expected = stored_events()
    assert len(expected) >= 20
    http_date = format_datetime(BASE + timedelta(seconds=40), usegmt=True)
    receiver.script(
        Fault(503, {"Retry-After": "7"}),
        Fault(429, {"Retry-After": http_date}),
        Fault(502),
        Fault(504),
        Fault(500),
        Fault(408),
        Fault(drop=True),
        Fault(delay=1.0),  # longer than the 0.5 s client timeout
        Fault(store_then_drop=True),  # stored, ack lost
    )
    clock = FakeClock()
    up = uploader(settings(receiver.url, batch_max_events=4), clock)
    try:
        report = up.flush(3600)
    finally:
        up.close()

    assert report.drained
    assert set(receiver.events) == set(expected), "every event arrives"
    assert all(receiver.events[e]["revision"] == r for e, r in expected.items())
    assert len(receiver.deliveries) > len(expected), "the lost ack was re-sent"
    # The retried batch after the lost ack carries the same Idempotency-Key.
    lost = next(i for i, c in enumerate(receiver.requests) if c.fault.store_then_drop)
    assert (
        receiver.requests[lost + 1].headers["Idempotency-Key"]
        == (receiver.requests[lost].headers["Idempotency-Key"])
    )
    # Retry-After is honoured in both forms (the backoff may ask for longer, never shorter).
    assert clock.sleeps[0] >= 7
    assert clock.sleeps[1] >= 40 - 7 - 1
    for captured in receiver.requests:
        assert CANARY.encode() not in captured.body
        assert captured.headers["Authorization"] == "Bearer tok-secret-123"
        assert captured.headers["Content-Encoding"] == "gzip"
        body = orjson.loads(captured.body)
        VALIDATOR.validate(body)
        assert captured.headers["Idempotency-Key"] == body["batch_id"]
    with Store(database()) as store:
        status = status_section(store)
    assert status["pending_events"] == 0
    assert status["sent_events"] >= len(expected)
    assert status["failures"] == {
        "connection": 2,
        "timeout": 1,
        "http_4xx": 1,
        "http_5xx": 4,
        "rate_limited": 1,
    }
    assert status["last_success_at"] is not None
    assert status["queue_pressure"] == "ok"


def test_streaming_update_is_resent_with_a_higher_revision(
    receiver: Receiver, tmp_path: Path
) -> None:
    session = Session(tmp_path / "claude")
    session.write(session.prompt())
    session.write(session.assistant("msg_stream", [{"type": "text", "text": "x"}], 2))
    scan()
    clock = FakeClock()
    up = uploader(settings(receiver.url), clock)
    try:
        assert up.flush(60).drained
        [event_id] = [e for e, v in receiver.events.items() if v["kind"] == "llm_request"]
        assert receiver.events[event_id]["output_tokens"] == 2
        session.write(session.assistant("msg_stream", [{"type": "text", "text": "y"}], 500))
        scan()
        assert up.flush(60).drained
    finally:
        up.close()
    final = receiver.events[event_id]
    assert final["output_tokens"] == 500
    assert final["revision"] == stored_events()[event_id] > 1
    assert _pending() == 0


def test_a_revision_bumped_while_in_flight_stays_pending(
    receiver: Receiver, tmp_path: Path
) -> None:
    session = Session(tmp_path / "claude")
    session.write(session.assistant("msg_race", [{"type": "text", "text": "x"}], 2))
    scan()
    receiver.script(Fault(503))
    clock = FakeClock()
    up = uploader(settings(receiver.url), clock)
    try:
        up.flush(1)  # claimed revision 1, failed, waits for its backoff
        session.write(session.assistant("msg_race", [{"type": "text", "text": "y"}], 900))
        scan()  # revision 2 lands while revision 1 is in flight
        assert up.flush(3600).drained
    finally:
        up.close()
    event_id = next(iter(receiver.events))
    assert receiver.events[event_id]["revision"] == 2
    assert receiver.events[event_id]["output_tokens"] == 900
    assert _pending() == 0


def test_413_splits_the_batch(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=4)
    scan()
    expected = stored_events()
    receiver.script(Fault(413), Fault(413))
    up = uploader(settings(receiver.url, batch_max_events=50), FakeClock())
    try:
        assert up.flush(60).drained
    finally:
        up.close()
    assert set(receiver.events) == set(expected)
    sizes = [len(orjson.loads(c.body)["events"]) for c in receiver.requests]
    assert sizes[0] == len(expected)
    assert sizes[1] == len(expected) // 2
    assert sum(sizes[2:]) == len(expected)


def test_4xx_is_set_aside_visible_and_sent_again_on_request(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=3)
    scan()
    expected = stored_events()
    receiver.script(Fault(400, body=b'{"error": "bad field"}'))
    clock = FakeClock()
    up = uploader(settings(receiver.url, batch_max_events=5), clock)
    try:
        report = up.flush(60)
        assert report.drained and report.set_aside == 1
        assert clock.sleeps == [], "a 4xx is never retried"
        with Store(database()) as store:
            status = status_section(store)
        assert status["set_aside_batches"] == 1
        assert status["set_aside_events"] == 5
        assert "HTTP 400" in status["set_aside"][0]["reason"]
        assert "bad field" in status["set_aside"][0]["reason"]
        assert len(receiver.events) == len(expected) - 5
        assert up.flush(60, retry_set_aside=True).drained
    finally:
        up.close()
    assert set(receiver.events) == set(expected)
    with Store(database()) as store:
        assert status_section(store)["set_aside_batches"] == 0


def test_401_stops_the_flush_without_burning_every_batch(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=3)
    scan()
    receiver.script(Fault(401))
    up = uploader(settings(receiver.url, batch_max_events=5), FakeClock())
    try:
        report = up.flush(60)
    finally:
        up.close()
    assert report.stopped is not None and "401" in report.stopped
    assert len(receiver.requests) == 1
    assert not report.drained


def test_retry_schedule_survives_a_restart(receiver: Receiver, tmp_path: Path) -> None:
    write_sessions(tmp_path / "claude", sessions=1, turns=1)
    scan()
    receiver.script(Fault(503, {"Retry-After": "120"}))
    clock = FakeClock()
    first = uploader(settings(receiver.url), clock)
    try:
        report = first.flush(10)  # the retry is due after the deadline: give up for now
    finally:
        first.close()
    assert not report.drained and report.retries == 1
    # A new process 30 s later: the persisted schedule says wait ~90 s more, not 0.
    restarted_clock = FakeClock(offset=30)
    restarted_clock.sleeps.clear()
    second = uploader(settings(receiver.url), restarted_clock, seed=2)
    try:
        assert second.flush(600).drained
    finally:
        second.close()
    assert 85 <= restarted_clock.sleeps[0] <= 91
    assert len(receiver.requests) == 2
    with Store(database()) as store:
        assert store.conn.execute("SELECT count(*) FROM upload_batches").fetchone()[0] == 0


def test_superseded_copies_never_sent_are_skipped(receiver: Receiver, tmp_path: Path) -> None:
    """A lower-precedence copy in a dedup group is counted=0: the receiver never needs it."""
    session = Session(tmp_path / "claude")
    session.write(session.assistant("msg_dup", [{"type": "text", "text": "x"}], 50))
    scan()
    with Store(database()) as store, store.transaction():
        # The same request seen by a second source (as multi-source agents produce).
        columns = [
            c
            for c in store.db["events"].columns_dict
            if c not in ("event_id", "precedence", "counted")
        ]
        store.conn.execute(
            f"INSERT INTO events (event_id, precedence, counted, {', '.join(columns)}) "
            f"SELECT '{'f' * 32}', 0, 0, {', '.join(columns)} FROM events"
        )
        counted = dict(store.conn.execute("SELECT event_id, counted FROM events").fetchall())
    assert sorted(counted.values()) == [0, 1]
    up = uploader(settings(receiver.url), FakeClock())
    try:
        assert up.flush(60).drained
    finally:
        up.close()
    assert set(receiver.events) == {e for e, c in counted.items() if c}
    with Store(database()) as store:
        assert status_section(store)["skipped_superseded"] == 1
