"""The readers agents share: SQLite rows by keyset, a SQLite key-value store, JSON documents."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson

from agenttail.readers.base import ReadLimits, ReadResult
from agenttail.readers.json_document import HEADER_POSITION, JsonDocumentReader
from agenttail.readers.sqlite_kv import BucketDigestWatermark, SqliteKeyValueReader
from agenttail.readers.sqlite_rows import RowKeysetWatermark, RowQuery, SqliteRowReader
from agenttail.watermarks import Watermark, parse_watermark


def message_db(path: Path, rows: list[tuple[Any, ...]]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS message (id TEXT, session_id TEXT, time_created, data)"
        )
        conn.executemany("INSERT INTO message VALUES (?, ?, ?, ?)", rows)
    conn.close()


def messages(n: int, start: int = 0, t0: int = 1000) -> list[tuple[Any, ...]]:
    return [(f"m{i:03d}", "s1", t0 + i * 10, f'{{"n": {i}}}') for i in range(start, start + n)]


def reader(overlap: float = 0, **options: Any) -> SqliteRowReader:
    columns = ("t.id AS id", "t.session_id AS session_id", "t.data AS data")
    query = RowQuery(
        "message", columns, ("time_created", "id"), overlap=overlap, key_types=("number", "text")
    )
    return SqliteRowReader(query, **options)


def read_all(
    r: Any, path: Path, mark: Watermark | None, batch: int = 1000
) -> tuple[list[dict[str, Any]], Watermark | None, list[ReadResult]]:
    results: list[ReadResult] = []
    rows: list[dict[str, Any]] = []
    while True:
        result = r.read(path, mark, ReadLimits(max_batch_records=batch))
        results.append(result)
        rows += [rec.data for rec in result.records]
        mark = parse_watermark(r.watermark_kind.KIND, result.watermark.to_string())
        if result.at_end:
            return rows, mark, results


def test_keyset_pages_every_row_once_and_resumes(tmp_path: Path) -> None:
    db = tmp_path / "opencode.db"
    message_db(db, messages(10))
    rows, mark, results = read_all(reader(), db, None, batch=3)
    assert [r["id"] for r in rows] == [f"m{i:03d}" for i in range(10)]
    assert len(results) == 4  # 3 + 3 + 3 + 1
    assert isinstance(mark, RowKeysetWatermark) and mark.key == (1090, "m009")
    again, _, _ = read_all(reader(), db, mark)
    assert again == []
    message_db(db, messages(2, start=10))
    more, _, _ = read_all(reader(), db, mark)
    assert [r["id"] for r in more] == ["m010", "m011"]


def test_keyset_overlap_returns_late_rows_behind_the_start_cursor(tmp_path: Path) -> None:
    db = tmp_path / "traces.db"
    message_db(db, messages(5))  # times 1000..1040
    _, mark, _ = read_all(reader(overlap=25), db, None)
    # Committed late: ends 5 before the cursor (inside the window) and 100 before (outside).
    message_db(db, [("late-in", "s1", 1035, "{}"), ("late-out", "s1", 940, "{}")])
    rows, _, _ = read_all(reader(overlap=25), db, mark)
    assert {r["id"] for r in rows if r.get("overlap")} == {"m002", "m003", "late-in", "m004"}
    assert "late-out" not in {r["id"] for r in rows}
    assert [r for r in rows if not r.get("overlap")] == []


def test_keyset_bad_rows_are_skipped_and_counted_not_the_page(tmp_path: Path) -> None:
    db = tmp_path / "bad.db"
    message_db(db, messages(3))
    with sqlite3.connect(db) as conn:
        conn.execute("INSERT INTO message VALUES ('null-time', 's1', NULL, '{}')")
        conn.execute("INSERT INTO message VALUES ('text-time', 's1', 'yesterday', '{}')")
        conn.execute(
            "INSERT INTO message VALUES ('bad-utf8', 's1', 1500, CAST(X'7B22C3282022' AS TEXT))"
        )
    conn.close()
    rows, mark, results = read_all(reader(), db, None)
    assert [row["id"] for row in rows] == ["m000", "m001", "m002", "bad-utf8"]
    assert "\ufffd" in rows[-1]["data"]  # decoded with a replacement character
    assert results[-1].notes == ["2 rows skipped: ordering columns NULL or mistyped"]
    # The text time sorts after every number in SQLite: it must not rewind the cursor either.
    message_db(db, messages(1, start=50, t0=1000))
    assert [row["id"] for row in read_all(reader(), db, mark)[0]] == ["m050"]


def test_keyset_replaced_emptied_and_missing_table(tmp_path: Path) -> None:
    db = tmp_path / "goose.db"
    sqlite3.connect(db).close()  # no table yet: nothing written
    empty = reader().read(db, None, ReadLimits())
    assert empty.records == [] and empty.at_end
    message_db(db, messages(3))
    _, mark, _ = read_all(reader(), db, None)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM message")
    conn.close()
    assert reader().read(db, mark, ReadLimits()).reset_reason == "rewound"
    replacement = tmp_path / "new.db"
    message_db(replacement, messages(2))
    replacement.replace(db)
    result = reader().read(db, mark, ReadLimits())
    assert result.reset_reason == "replaced"
    assert [rec.data["id"] for rec in result.records] == ["m000", "m001"]


def test_keyset_with_a_join_and_watermark_round_trip(tmp_path: Path) -> None:
    db = tmp_path / "joined.db"
    message_db(db, messages(3))
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE session (id TEXT, directory TEXT)")
        conn.execute("INSERT INTO session VALUES ('s1', '/home/me/proj')")
    conn.close()
    columns = ("t.id AS id", "s.directory AS directory")
    joins = "JOIN session AS s ON s.id = t.session_id"
    query = RowQuery("message", columns, ("time_created", "id"), joins=joins, overlap=0)
    r = SqliteRowReader(query)
    rows, _, _ = read_all(r, db, None, batch=2)
    assert [(row["id"], row["directory"]) for row in rows] == [
        ("m000", "/home/me/proj"),
        ("m001", "/home/me/proj"),
        ("m002", "/home/me/proj"),
    ]
    mark = RowKeysetWatermark((1234.125, "id|with|bars"), 5, 6)
    assert RowKeysetWatermark.parse(mark.to_string()) == mark


def kv_db(path: Path, items: dict[str, Any]) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS cursorDiskKV (key TEXT UNIQUE, value BLOB)")
        conn.executemany(
            "INSERT OR REPLACE INTO cursorDiskKV VALUES (?, ?)",
            [(k, v if isinstance(v, bytes) else orjson.dumps(v)) for k, v in items.items()],
        )
    conn.close()


def test_key_value_store_emits_changed_entries_only(tmp_path: Path) -> None:
    db = tmp_path / "state.vscdb"
    bubbles = {f"bubbleId:c1:{i:04d}": {"n": i} for i in range(600)}
    kv_db(db, {**bubbles, "composerData:c1": {"x": 1}, "other:1": {"y": 2}})
    kv = SqliteKeyValueReader("cursorDiskKV", ("bubbleId:",))
    rows, mark, _ = read_all(kv, db, None)
    assert sorted(r["key"] for r in rows) == sorted(bubbles)
    assert rows[0]["value"] == {"n": 0}
    assert read_all(kv, db, mark)[0] == []  # unchanged: nothing
    kv_db(db, {"bubbleId:c1:0007": {"n": 7, "tokenCount": {"inputTokens": 5}}})
    changed, mark, _ = read_all(kv, db, mark)
    assert {"key": "bubbleId:c1:0007", "value": {"n": 7, "tokenCount": {"inputTokens": 5}}} in (
        changed
    )
    assert len(changed) < 20  # only the changed entry's bucket (600 / 256 on average)
    kv_db(db, {"other:1": {"y": 3}})  # outside the prefixes: no change seen
    assert read_all(kv, db, mark)[0] == []


def test_key_value_store_pages_bad_values_and_replacement(tmp_path: Path) -> None:
    db = tmp_path / "state.vscdb"
    kv_db(db, {f"bubbleId:{i:03d}": {"n": i} for i in range(300)})
    kv_db(db, {"bubbleId:zzz": b"not json"})
    kv = SqliteKeyValueReader("cursorDiskKV", ("bubbleId:",))
    rows, mark, results = read_all(kv, db, None, batch=50)
    assert len(results) > 4  # paged by whole buckets
    assert len(rows) == 300 and len({r["key"] for r in rows}) == 300
    assert sum(r.malformed for r in results) == 1
    assert isinstance(mark, BucketDigestWatermark)
    assert BucketDigestWatermark.parse(mark.to_string()) == mark
    replacement = tmp_path / "new.vscdb"
    kv_db(replacement, {"bubbleId:001": {"n": 1}})
    replacement.replace(db)
    result = kv.read(db, mark, ReadLimits())
    assert result.reset_reason == "replaced"
    assert [rec.data["key"] for rec in result.records] == ["bubbleId:001"]


def test_json_document_items_at_a_path_a_list_or_whole(tmp_path: Path) -> None:
    nested = tmp_path / "thread.json"
    nested.write_bytes(orjson.dumps({"id": "T-1", "data": {"title": "t", "messages": [{"a": 1}]}}))
    result = JsonDocumentReader(("data", "messages")).read(nested, None, ReadLimits())
    assert [(r.position, r.data) for r in result.records] == [
        (HEADER_POSITION, {"id": "T-1", "data": {"title": "t"}}),
        (0, {"a": 1}),
    ]
    listed = tmp_path / "list.json"
    listed.write_bytes(orjson.dumps([{"a": 1}, {"a": 2}]))
    result = JsonDocumentReader(()).read(listed, None, ReadLimits())
    assert [(r.position, r.data) for r in result.records] == [
        (HEADER_POSITION, {}),
        (0, {"a": 1}),
        (1, {"a": 2}),
    ]
    whole = tmp_path / "settings.json"
    whole.write_bytes(orjson.dumps({"tokenUsage": {"inputTokens": 5}}))
    reader_whole = JsonDocumentReader(None)
    first = reader_whole.read(whole, None, ReadLimits())
    assert [(r.position, r.data) for r in first.records] == [
        (HEADER_POSITION, {"tokenUsage": {"inputTokens": 5}})
    ]
    assert reader_whole.read(whole, first.watermark, ReadLimits()).records == []
    whole.write_bytes(orjson.dumps({"tokenUsage": {"inputTokens": 9}}))
    changed = reader_whole.read(whole, first.watermark, ReadLimits())
    assert [r.data for r in changed.records] == [{"tokenUsage": {"inputTokens": 9}}]
