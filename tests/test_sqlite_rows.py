"""The keyset row reader on real WAL databases: updates in place, late commits, replacement."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from agenttail.agents.opencode import MESSAGES, PARTS
from agenttail.readers.base import ReadLimits
from agenttail.readers.sqlite_rows import RowKeysetWatermark, RowQuery, SqliteRowReader
from agenttail.watermarks import Watermark

SCHEMA = """
CREATE TABLE session (id TEXT PRIMARY KEY, time_created INTEGER, parent_id TEXT, directory TEXT);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER,
                      time_updated INTEGER, data TEXT);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT, time_created INTEGER,
                   time_updated INTEGER, data TEXT);
"""


def database(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.executescript(SCHEMA)
    conn.execute("INSERT INTO session VALUES ('ses_1', 1000, NULL, '/home/dev/api')")
    return conn


def message(conn: sqlite3.Connection, msg_id: str, updated: int, output: int) -> None:
    data = {"role": "assistant", "modelID": "gpt-5", "providerID": "openai", "summary": "x" * 50}
    data |= {"time": {"created": 2000}, "tokens": {"input": 1, "output": output}}
    conn.execute(
        "INSERT INTO message VALUES (?, 'ses_1', 2000, ?, ?) ON CONFLICT(id) DO UPDATE SET "
        "time_updated = excluded.time_updated, data = excluded.data",
        (msg_id, updated, json.dumps(data)),
    )


class Follow:
    def __init__(self, path: Path, query: RowQuery = MESSAGES) -> None:
        self.path, self.reader = path, SqliteRowReader(query, max_batch=2)
        self.mark: Watermark | None = None

    def read(self) -> list[dict[str, object]]:
        rows: list[dict[str, object]] = []
        while True:
            result = self.reader.read(self.path, self.mark, ReadLimits())
            rows += [r.data for r in result.records]
            self.mark = result.watermark
            if result.at_end:
                return rows


def fresh(rows: list[dict[str, object]]) -> list[str]:
    return [str(r["id"]) for r in rows if not r.get("overlap")]


def test_pages_in_key_order_then_only_new_and_updated_rows(tmp_path: Path) -> None:
    conn = database(tmp_path / "opencode.db")
    for index in range(5):
        message(conn, f"msg_{index}", 10_000 + index, output=index)
    follow = Follow(tmp_path / "opencode.db")
    assert fresh(follow.read()) == ["msg_0", "msg_1", "msg_2", "msg_3", "msg_4"]
    assert fresh(follow.read()) == []
    message(conn, "msg_1", 99_000, output=77)  # the response finished: the row is updated
    (row,) = [r for r in follow.read() if not r.get("overlap")]
    assert row["id"] == "msg_1" and json.loads(str(row["data"]))["tokens"]["output"] == 77
    assert row["session_created"] == 1000 and row["session_directory"] == "/home/dev/api"


def test_only_metric_fields_leave_sqlite(tmp_path: Path) -> None:
    conn = database(tmp_path / "opencode.db")
    message(conn, "msg_0", 10_000, output=1)
    state = {"status": "completed", "input": {"p": "CANARY"}, "output": "CANARY"}
    part = {"type": "tool", "tool": "bash", "callID": "c1", "state": state}
    conn.execute("INSERT INTO part VALUES ('p1', 'msg_0', 'ses_1', 1, 2, ?)", [json.dumps(part)])
    text = {"type": "text", "text": "CANARY"}
    conn.execute("INSERT INTO part VALUES ('p2', 'msg_0', 'ses_1', 1, 3, ?)", [json.dumps(text)])
    (message_row,) = Follow(tmp_path / "opencode.db").read()
    assert "summary" not in json.loads(str(message_row["data"]))
    (tool,) = Follow(tmp_path / "opencode.db", PARTS).read()  # the text part is not read
    assert "CANARY" not in json.dumps(tool) and json.loads(str(tool["data"]))["tool"] == "bash"


def test_a_malformed_row_is_skipped_without_failing_the_read(tmp_path: Path) -> None:
    conn = database(tmp_path / "opencode.db")
    conn.execute("INSERT INTO message VALUES ('bad', 'ses_1', 1, 5000, '{not json')")
    message(conn, "msg_0", 10_000, output=1)
    assert fresh(Follow(tmp_path / "opencode.db").read()) == ["msg_0"]


def test_a_late_commit_behind_the_cursor_is_read_from_the_overlap(tmp_path: Path) -> None:
    conn = database(tmp_path / "opencode.db")
    message(conn, "msg_b", 20_000, output=1)
    follow = Follow(tmp_path / "opencode.db")
    assert fresh(follow.read()) == ["msg_b"]
    message(conn, "msg_a", 19_500, output=2)  # stamped before the cursor, committed after it
    assert "msg_a" in [r["id"] for r in follow.read()]


def test_a_replaced_database_is_read_again_and_a_missing_table_waits(tmp_path: Path) -> None:
    path = tmp_path / "opencode.db"
    sqlite3.connect(path).close()  # created, no tables yet
    follow = Follow(path)
    assert follow.read() == []
    path.unlink()
    conn = database(path)
    message(conn, "msg_9", 90_000, output=1)
    assert fresh(follow.read()) == ["msg_9"]
    conn.close()
    path.unlink()  # replaced by an older copy (a restore): its keys are behind the cursor
    conn = database(tmp_path / "other.db")
    message(conn, "msg_0", 10_000, output=1)
    conn.close()
    (tmp_path / "other.db").rename(path)
    result = follow.reader.read(path, follow.mark, ReadLimits())
    assert result.reset and [r.data["id"] for r in result.records] == ["msg_0"]
    assert isinstance(result.watermark, RowKeysetWatermark)
    assert RowKeysetWatermark.parse(result.watermark.to_string()) == result.watermark
