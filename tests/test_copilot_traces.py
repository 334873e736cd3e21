"""agent-traces.db: keyset paging, ties, REAL end times, late spans, replacement, accounting."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import StreamRef, discover
from agenttail.agents.copilot import CopilotAgent
from agenttail.daemon.worker import StreamProcessor
from agenttail.readers.base import ReadLimits
from agenttail.readers.sqlite_spans import SpanKeysetWatermark, SqliteSpanReader
from agenttail.store import Store
from agenttail.watermarks import parse_watermark
from scripts import gen_copilot_home as GEN

DB_REL = Path("globalStorage/github.copilot-chat/agent-traces.db")


def chat(db: Any, span_id: str, end: float, session: str | None = "s1", **extra: Any) -> None:
    columns: dict[str, Any] = {
        "span_id": span_id,
        "trace_id": "t",
        "name": "chat gpt-4o",
        "start_time_ms": int(end) - 100,
        "end_time_ms": end,
        "operation_name": "chat",
        "response_model": "gpt-4o",
        "input_tokens": 100,
        "output_tokens": 10,
        "cached_tokens": 40,
        "chat_session_id": session,
    }
    columns.update(extra)
    attributes = columns.pop("attributes", None)
    db.span(attributes, **columns)


def read_all(reader: SqliteSpanReader, path: Path, mark: Any, batch: int) -> tuple[list[str], Any]:
    ids: list[str] = []
    limits = ReadLimits(max_batch_records=batch)
    while True:
        result = reader.read(path, mark, limits)
        ids += [r.data["span_id"] for r in result.records if not r.data.get("overlap")]
        mark = result.watermark
        if result.at_end:
            return ids, mark


@pytest.fixture
def user(tmp_path: Path) -> Path:
    return tmp_path / "Code" / "User"


def trace_db(user: Path) -> Any:
    return GEN.TraceDb(user / DB_REL)


def process_all(user: Path, store: Store, batch: int = 1000) -> StreamProcessor:
    agent = CopilotAgent(roots=[user])
    processor = StreamProcessor(store, {agent.name: agent}, ReadLimits(max_batch_records=batch))
    for ref in discover(agent):
        while not processor.process(ref).finished:
            pass
    return processor


def counted(store: Store, kind: str = "llm_request") -> list[dict[str, Any]]:
    return list(
        store.db.query(
            "SELECT * FROM events WHERE kind = ? AND counted = 1 ORDER BY event_id", [kind]
        )
    )


def test_ties_and_real_end_times_page_exactly_once(user: Path) -> None:
    db = trace_db(user)
    # Twelve spans share one REAL end time, others are integral or fractional around it.
    for n in range(12):
        chat(db, f"tie-{n:02d}", 1780519329188.35)
    chat(db, "before", 1780519329188.0)
    chat(db, "after", 1780519329188.5)
    chat(db, "int", 1780519329189)
    db.close()
    ids, mark = read_all(SqliteSpanReader(), user / DB_REL, None, batch=5)
    assert sorted(ids) == sorted(["before", *[f"tie-{n:02d}" for n in range(12)], "after", "int"])
    assert len(ids) == len(set(ids))
    assert mark.end_time_ms == 1780519329189.0
    # Persisted as a string and parsed back losslessly; an unchanged DB then yields nothing new.
    text = mark.to_string()
    assert "1780519329189.0|int" in text
    again = parse_watermark(SpanKeysetWatermark.KIND, text)
    assert again == mark
    more, _ = read_all(SqliteSpanReader(), user / DB_REL, again, batch=5)
    assert more == []


def test_fractional_watermark_survives_string_round_trip(user: Path) -> None:
    db = trace_db(user)
    chat(db, "a", 1780519329188.35)
    db.close()
    result = SqliteSpanReader().read(user / DB_REL, None, ReadLimits())
    mark = parse_watermark("span_keyset", result.watermark.to_string())
    assert isinstance(mark, SpanKeysetWatermark)
    assert mark.end_time_ms == 1780519329188.35
    second = SqliteSpanReader().read(user / DB_REL, mark, ReadLimits())
    assert [r.data["span_id"] for r in second.records if not r.data.get("overlap")] == []


def test_late_span_with_earlier_end_time_is_read_once(user: Path, tmp_path: Path) -> None:
    db = trace_db(user)
    chat(db, "s-1", 1_000_000.0)
    chat(db, "s-3", 1_003_000.0)
    with Store(tmp_path / "store.db") as store:
        process_all(user, store)
        chat(db, "s-2-late", 1_002_000.5)  # committed after the cursor passed its end time
        chat(db, "s-4", 1_004_000.0)
        process_all(user, store)
        process_all(user, store)  # the overlap re-read emits nothing again
        spans = store.db.execute(
            "SELECT json_extract(attrs, '$.span_id') FROM events WHERE counted = 1 ORDER BY 1"
        ).fetchall()
        assert [s for (s,) in spans] == ["s-1", "s-2-late", "s-3", "s-4"]
        events_total = store.db.execute(
            "SELECT events_total FROM sessions WHERE stream = 'otel_traces'"
        ).fetchone()[0]
        assert events_total == 4
    db.close()


def test_replaced_and_emptied_database_are_read_from_start(user: Path, tmp_path: Path) -> None:
    path = user / DB_REL
    db = trace_db(user)
    chat(db, "old-1", 5_000_000.0)
    chat(db, "old-2", 5_000_100.0)
    db.close()
    reader = SqliteSpanReader()
    _, mark = read_all(reader, path, None, batch=10)
    # Emptied (retention purge, manual clear): a span older than the cursor must still be read.
    db = trace_db(user)
    db.conn.execute("DELETE FROM spans")
    chat(db, "new-older", 4_000_000.0)
    db.close()
    result = reader.read(path, mark, ReadLimits())
    assert result.reset and result.reset_reason == "rewritten"
    assert [r.data["span_id"] for r in result.records] == ["new-older"]
    # Replaced by another file (new inode): read again from the start.
    mark = result.watermark
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = trace_db(user)
    chat(db, "other-1", 3_000_000.0)
    chat(db, "other-2", 9_000_000.0)
    db.close()
    result = reader.read(path, mark, ReadLimits())
    assert result.reset_reason in ("replaced", "rewritten")  # inode numbers may be reused
    assert sorted(r.data["span_id"] for r in result.records) == ["other-1", "other-2"]
    # Empty spans table with a cursor: flagged, and nothing is lost when spans come back.
    db = trace_db(user)
    db.conn.execute("DELETE FROM spans")
    db.close()
    empty = reader.read(path, result.watermark, ReadLimits())
    assert empty.reset_reason == "emptied" and empty.records == []


def test_database_without_schema_yet_is_empty_not_an_error(user: Path) -> None:
    path = user / DB_REL
    path.parent.mkdir(parents=True)
    import sqlite3

    sqlite3.connect(path).close()
    result = SqliteSpanReader().read(path, None, ReadLimits())
    assert result.at_end and result.records == []


def test_accounting_invoke_agent_unknown_session_and_cache_split(
    user: Path, tmp_path: Path
) -> None:
    db = trace_db(user)
    chat(db, "c1", 2_000_000.0, attributes={"gen_ai.usage.cache_creation.input_tokens": 7})
    chat(db, "c2", 2_000_500.0, session=None)  # no chat_session_id nor conversation_id
    chat(db, "c3", 2_000_600.0, session=None, conversation_id="conv-1")
    db.span(
        span_id="agent",
        trace_id="t",
        name="invoke_agent",
        start_time_ms=1_999_000,
        end_time_ms=2_001_000.0,
        operation_name="invoke_agent",
        input_tokens=300,
        output_tokens=30,
        cached_tokens=120,
        chat_session_id="s1",
    )
    db.span(
        span_id="tool",
        trace_id="t",
        name="execute_tool",
        start_time_ms=2_000_100,
        end_time_ms=2_000_200.0,
        operation_name="execute_tool",
        tool_name="read_file",
        status_code=2,
        chat_session_id="s1",
    )
    db.close()
    with Store(tmp_path / "store.db") as store:
        process_all(user, store)
        rows = {r["session_id"]: r for r in counted(store)}
        assert set(rows) == {"s1", "unknown", "conv-1"}
        s1 = rows["s1"]
        assert (s1["input_tokens"], s1["cache_read_tokens"], s1["cache_write_tokens"]) == (
            53,
            40,
            7,
        )
        assert s1["output_tokens"] == 10
        total = store.db.execute(
            "SELECT sum(input_tokens + cache_read_tokens + cache_write_tokens), "
            "sum(output_tokens) FROM events WHERE counted = 1"
        ).fetchone()
        assert total == (300, 30)  # the invoke_agent span's repeated tokens are not added
        (turn,) = counted(store, "turn")
        assert turn["input_tokens"] == 0 and turn["session_id"] == "s1"
        (tool,) = counted(store, "tool_call")
        assert tool["tool_name"] == "read_file" and tool["ok"] == 0


def test_concurrent_writer_every_span_stored_exactly_once(user: Path, tmp_path: Path) -> None:
    path = user / DB_REL
    trace_db(user).close()
    total = 400
    stop = threading.Event()

    def write() -> None:
        writer = GEN.TraceDb(path)
        for n in range(total):
            # Bursts share an end time; REAL times; some spans end before earlier-written ones.
            end = 10_000_000 + (n // 4) * 1.25 - (0.5 if n % 7 == 0 else 0.0)
            chat(writer, f"w-{n:05d}", end, session=f"s{n % 5}")
        writer.close()
        stop.set()

    thread = threading.Thread(target=write)
    agent = CopilotAgent(roots=[user])
    with Store(tmp_path / "store.db") as store:
        processor = StreamProcessor(store, {agent.name: agent}, ReadLimits(max_batch_records=7))
        ref = StreamRef(agent.name, agent.streams[3], path, "__shared__")
        thread.start()
        rounds = 0
        while not stop.is_set() or rounds < 2:
            processor.process(ref)
            rounds += 1 if stop.is_set() else 0
        thread.join()
        processor.process(ref)
        rows = store.db.execute(
            "SELECT count(*), count(DISTINCT event_id) FROM events WHERE kind = 'llm_request'"
        ).fetchone()
        assert rows == (total, total)
        summed = store.db.execute(
            "SELECT sum(input_tokens), sum(cache_read_tokens) FROM events WHERE counted = 1"
        ).fetchone()
        assert summed == (60 * total, 40 * total)
        (events_total,) = store.db.execute(
            "SELECT events_total FROM sessions WHERE stream = 'otel_traces'"
        ).fetchone()
        assert events_total == total
