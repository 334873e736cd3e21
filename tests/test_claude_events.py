"""Claude Code records -> metric events: de-duplication, pairing, turns, errors, cost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.registry import load_agents
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.paths import AppPaths
from agenttail.report import ReportOptions, Window, daily_report, resolve_timezone
from agenttail.store import Store
from tests.conftest import SAMPLES
from tests.helpers import ClaudeSession

UTC = resolve_timezone("UTC")


def scan() -> None:
    paths = AppPaths.resolve()
    scan_once(Pipeline(paths, load_config(paths), load_agents({"claude_code"})))


def store() -> Store:
    return Store(AppPaths.resolve().database, readonly=True)


def events(kind: str = "llm_request", counted_only: bool = True) -> list[dict[str, Any]]:
    with store() as db:
        where = "kind = ?" + (" AND counted = 1" if counted_only else "")
        rows = list(db.db.query(f"SELECT * FROM events WHERE {where} ORDER BY ts_ms", [kind]))
    for row in rows:
        row["attrs"] = json.loads(row["attrs"]) if row["attrs"] else {}
    return rows


def totals() -> dict[str, Any]:
    from agenttail.store.analytics import SqliteAnalytics

    with store() as db:
        return daily_report(SqliteAnalytics(db), ReportOptions(Window(UTC)))["totals"]


def test_streaming_copies_count_once_with_the_final_output(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("hello", "2026-11-01T10:00:00.000Z"))
    for output in (8, 8, 407):  # thinking, text, tool_use lines of one response
        s.write(
            s.assistant(
                "2026-11-01T10:00:01.000Z",
                "msg_A",
                output_tokens=output,
                input_tokens=3,
                cache_read=1000,
                cache_write_5m=200,
            )
        )
    scan()
    rows = events()
    assert len(rows) == 1
    assert rows[0]["output_tokens"] == 407
    assert totals()["total_tokens"] == 3 + 407 + 1000 + 200


def test_the_final_copy_arriving_in_a_later_scan_updates_the_event(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.assistant("2026-11-01T10:00:01.000Z", "msg_A", output_tokens=1))
    scan()
    s.write(s.assistant("2026-11-01T10:00:01.100Z", "msg_A", output_tokens=77))
    scan()
    rows = events()
    assert [r["output_tokens"] for r in rows] == [77]
    assert rows[0]["revision"] == 2


def test_resumed_session_copies_are_counted_once_across_files(claude_dir: Path) -> None:
    first = ClaudeSession(claude_dir)
    first.write(first.assistant("2026-11-01T10:00:00.000Z", "msg_1", request_id="req_1"))
    first.write(first.assistant("2026-11-01T10:05:00.000Z", "msg_2", request_id="req_2"))
    resumed = ClaudeSession(claude_dir)  # `claude --resume` copies history into a new file
    resumed.write(resumed.assistant("2026-11-01T10:00:00.000Z", "msg_1", request_id="req_1"))
    resumed.write(resumed.assistant("2026-11-01T10:05:00.000Z", "msg_2", request_id="req_2"))
    resumed.write(resumed.assistant("2026-11-01T11:00:00.000Z", "msg_3", request_id="req_3"))
    scan()
    assert totals()["requests"] == 3


def test_a_request_is_keyed_by_message_id_alone(claude_dir: Path) -> None:
    """As the module docstring says: a copy with another requestId is the same request."""
    first = ClaudeSession(claude_dir)
    first.write(first.assistant("2026-11-01T10:00:00.000Z", "msg_1", request_id="req_a"))
    replay = ClaudeSession(claude_dir)
    replay.write(replay.assistant("2026-11-01T10:00:00.000Z", "msg_1", request_id="req_b"))
    replay.write(replay.assistant("2026-11-01T10:00:01.000Z", "msg_1", request_id=None))
    scan()
    assert totals()["requests"] == 1
    assert totals()["output_tokens"] == 100


@pytest.mark.parametrize("sidechain_first", [True, False])
def test_sidechain_replay_of_a_parent_message_is_dropped(
    claude_dir: Path, sidechain_first: bool
) -> None:
    parent = ClaudeSession(claude_dir)
    child = ClaudeSession(
        claude_dir, session_id=parent.session_id, sidechain=True, agent_id="a775a67"
    )
    replay = child.assistant(
        "2026-11-01T10:00:00.500Z", "msg_P", request_id="req_side", output_tokens=500
    )
    original = parent.assistant(
        "2026-11-01T10:00:00.000Z", "msg_P", request_id="req_main", output_tokens=50
    )
    own = child.assistant("2026-11-01T10:01:00.000Z", "msg_C", request_id="req_c", output_tokens=20)
    if sidechain_first:
        child.write(replay, own)
        scan()
        parent.write(original)
    else:
        parent.write(original)
        scan()
        child.write(replay, own)
    scan()
    rows = events()
    assert sorted((r["attrs"]["message_id"], r["output_tokens"]) for r in rows) == [
        ("msg_C", 20),
        ("msg_P", 50),
    ]
    assert [r["is_sidechain"] for r in rows if r["attrs"]["message_id"] == "msg_C"] == [1]


def test_synthetic_records_count_no_tokens(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.synthetic("2026-11-01T10:00:00.000Z"), s.assistant("2026-11-01T10:00:01Z", "m1"))
    scan()
    assert totals()["requests"] == 1


def test_tool_calls_pair_use_with_result(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("fix it", "2026-11-01T10:00:00.000Z"))
    uses = [
        {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}},
        {"type": "tool_use", "id": "toolu_2", "name": "Read", "input": {"file_path": "/x"}},
    ]
    s.write(s.assistant("2026-11-01T10:00:01.000Z", "m1", content=[uses[0]]))
    s.write(s.assistant("2026-11-01T10:00:01.000Z", "m1", content=[uses[1]]))
    scan()  # the results arrive in a later batch: pending uses are carried in stream state
    s.write(s.tool_result("2026-11-01T10:00:03.500Z", "toolu_1", "a b c"))
    s.write(s.tool_result("2026-11-01T10:00:02.000Z", "toolu_2", "nope", is_error=True))
    scan()
    calls = {r["attrs"]["tool_use_id"]: r for r in events("tool_call")}
    assert calls["toolu_1"]["tool_name"] == "Bash"
    assert calls["toolu_1"]["ok"] == 1
    assert calls["toolu_1"]["duration_ms"] == 2500
    assert calls["toolu_2"]["tool_name"] == "Read"
    assert calls["toolu_2"]["ok"] == 0
    llm = events()[0]
    assert calls["toolu_1"]["run_id"] == llm["run_id"] is not None


def test_turns_compaction_errors_and_context(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("one", "2026-11-01T10:00:00Z"))
    s.write(
        s.assistant(
            "2026-11-01T10:00:01Z",
            "m1",
            request_id="r1",
            input_tokens=5,
            cache_read=100,
            cache_write_5m=30,
            cache_write_1h=20,
        )
    )
    s.write(s.prompt("two", "2026-11-01T10:01:00Z"))
    s.write(s.api_error("2026-11-01T10:01:01Z", status=529))
    s.write(s.assistant("2026-11-01T10:01:05Z", "m2", request_id="r2"))
    s.write(s.compact_boundary("2026-11-01T10:02:00Z"))
    s.write(s.assistant("2026-11-01T10:02:05Z", "m3", request_id="r3"))
    scan()
    first, second, third = events()
    assert first["run_id"] != second["run_id"] == third["run_id"]
    assert first["cache_write_tokens"] == 50
    assert (first["cache_write_5m_tokens"], first["cache_write_1h_tokens"]) == (30, 20)
    assert first["context_tokens"] == 5 + 100 + 50
    assert first["history_len"] == 1
    assert second["history_len"] == 3
    assert third["history_len"] == 0
    (compaction,) = events("compaction")
    assert third["attrs"]["compaction_id"] == compaction["event_id"]
    assert "compaction_id" not in second["attrs"]
    (error,) = events("api_error")
    assert json.loads(json.dumps(error["attrs"]))["status"] == 529
    assert first["project"] == "/home/dev/shop"
    assert first["attrs"]["git_branch"] == "main"
    assert first["attrs"]["agent_version"] == "2.1.44"
    # claude-sonnet-4 per token in nUSD: input 3000, output 15000, cache read 300, 5m write
    # 3750, 1h write 6000 ($3, $15, $0.30, $3.75, $6 per million); output defaults to 100.
    assert first["cost_nusd"] == 5 * 3000 + 100 * 15000 + 100 * 300 + 30 * 3750 + 20 * 6000


def test_rereading_the_same_bytes_creates_no_new_event(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("hi", "2026-11-01T10:00:00Z"), s.assistant("2026-11-01T10:00:01Z", "m1"))
    scan()
    before = events(counted_only=False)
    with Store(AppPaths.resolve().database) as db:  # forget every watermark
        db.conn.execute("UPDATE sessions SET watermark = NULL, state = NULL, file_size = NULL")
    scan()
    after = events(counted_only=False)
    assert [r["event_id"] for r in after] == [r["event_id"] for r in before]
    assert [r["revision"] for r in after] == [1]


def test_real_samples_when_available(tmp_path: Path, claude_dir: Path) -> None:
    source = SAMPLES / "claude-code"
    if not source.is_dir():
        pytest.skip("shared samples not available")
    project = claude_dir / "projects" / "-sample-project"
    shutil.copytree(source, project)
    scan()
    rows = events(counted_only=False)
    ids = {r["attrs"]["message_id"] for r in rows}
    assert "msg_01DdwmhL7cMBt21n14jv5iGf" in ids  # one message split over five lines
    assert len(rows) == len(ids)  # one event per message
    assert not any(r["model"] == "<synthetic>" for r in rows)


def test_lines_ccusage_rejects_are_not_counted(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    good = s.assistant("2026-11-01T10:00:00Z", "m_good", request_id="r_good")
    null_speed = s.assistant("2026-11-01T10:00:01Z", "m_null", request_id="r_null")
    null_speed["message"]["usage"]["speed"] = None
    empty_request = s.assistant("2026-11-01T10:00:02Z", "m_empty", request_id="")
    bad_version = s.assistant("2026-11-01T10:00:03Z", "m_ver", request_id="r_ver")
    bad_version["version"] = "dev"
    float_tokens = s.assistant("2026-11-01T10:00:04Z", "m_float", request_id="r_float")
    float_tokens["message"]["usage"]["output_tokens"] = 1.5
    bad_speed = s.assistant("2026-11-01T10:00:05Z", "m_speed", request_id="r_speed")
    bad_speed["message"]["usage"]["speed"] = "turbo"
    no_time = s.assistant("2026-11-01T10:00:06Z", "m_time", request_id="r_time")
    del no_time["timestamp"]
    s.write(good, null_speed, empty_request, bad_version, float_tokens, bad_speed, no_time)
    scan()
    assert [r["attrs"]["message_id"] for r in events()] == ["m_good"]


def test_cache_writes_follow_the_split_when_present(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    record = s.assistant("2026-11-01T10:00:00Z", "m1", cache_write_5m=100, cache_write_1h=50)
    record["message"]["usage"]["cache_creation_input_tokens"] = 999  # disagrees: split wins
    flat = s.assistant("2026-11-01T10:00:01Z", "m2", request_id="r2")
    del flat["message"]["usage"]["cache_creation"]
    flat["message"]["usage"]["cache_creation_input_tokens"] = 70
    s.write(record, flat)
    scan()
    first, second = events()
    assert (first["cache_write_5m_tokens"], first["cache_write_1h_tokens"]) == (100, 50)
    assert first["cache_write_tokens"] == 150
    assert (second["cache_write_5m_tokens"], second["cache_write_tokens"]) == (70, 70)


def test_advisor_iterations_are_billed_under_their_model(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    record = s.assistant("2026-11-01T10:00:00Z", "m1", output_tokens=10)
    record["message"]["usage"]["iterations"] = [
        {"type": "message", "input_tokens": 1, "output_tokens": 1},
        {
            "type": "advisor_message",
            "model": "claude-opus-4-5-20251101",
            "input_tokens": 300,
            "output_tokens": 40,
            "cache_read_input_tokens": 7,
        },
    ]
    s.write(record, record)  # a streamed copy must not double the advisor call
    scan()
    rows = {r["model"]: r for r in events()}
    assert set(rows) == {"claude-sonnet-4-20250514", "claude-opus-4-5-20251101"}
    advisor = rows["claude-opus-4-5-20251101"]
    assert (advisor["input_tokens"], advisor["output_tokens"]) == (300, 40)
    assert advisor["cache_read_tokens"] == 7
    assert advisor["attrs"]["advisor_of"] == "m1"


def test_agent_progress_copies_of_subagent_calls_count_once(claude_dir: Path) -> None:
    parent = ClaudeSession(claude_dir)
    child = ClaudeSession(
        claude_dir, session_id=parent.session_id, sidechain=True, agent_id="b1c2d3e"
    )
    inner = child.assistant(
        "2026-11-01T10:00:00.000Z", "m_sub", request_id="r_sub", output_tokens=30
    )
    child.write(inner)
    progress = {
        **parent.envelope("progress", "2026-11-01T10:00:00.100Z"),
        "data": {"type": "agent_progress", "message": {**inner, "isSidechain": False}},
    }
    parent.write(progress)
    scan()
    (row,) = events()
    assert row["output_tokens"] == 30
    assert row["session_id"] == parent.session_id


def test_report_rollup_matches_the_events_it_summarizes(claude_dir: Path) -> None:
    from tests.corpus import write_corpus

    write_corpus(claude_dir, sessions=6, turns=10)
    scan()
    parent = ClaudeSession(claude_dir)  # later updates: a grown copy and a sidechain replay
    parent.write(
        parent.assistant(
            "2026-10-20T09:00:00Z", "msg_0_0", request_id="req_0_0", output_tokens=100_000
        )
    )
    scan()
    with store() as db:
        direct = next(
            db.db.query(
                "SELECT sum(input_tokens) AS i, sum(output_tokens) AS o,"
                " sum(cache_read_tokens) AS r, sum(cache_write_tokens) AS w,"
                " count(*) AS n, sum(cost_nusd) AS c"
                " FROM events WHERE kind = 'llm_request' AND counted = 1"
            )
        )
    got = totals()
    assert (got["input_tokens"], got["output_tokens"]) == (direct["i"], direct["o"])
    assert (got["cache_read_tokens"], got["cache_write_tokens"]) == (direct["r"], direct["w"])
    assert got["requests"] == direct["n"] == 60
    assert got["cost_usd"] == direct["c"] / 1e9


def test_usage_of_an_assistant_line_too_long_to_hold_is_salvaged(
    claude_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AGENTTAIL_MAX_LINE_BYTES", "200000")
    s = ClaudeSession(claude_dir, cwd="C:\\Users\\dev\\shop")
    huge = {
        "type": "tool_use",
        "id": "toolu_big",
        "name": "Write",
        "input": {"content": 'x"}{' * 300_000},
    }
    record = s.assistant(
        "2026-11-01T10:00:00.000Z",
        "msg_big",
        request_id="req_big",
        input_tokens=11,
        output_tokens=74,
        cache_read=54_793,
        cache_write_5m=5_107,
        content=[huge],
    )
    s.write(record, s.assistant("2026-11-01T10:01:00Z", "msg_small", request_id="r2"))
    scan()
    rows = {r["attrs"]["message_id"]: r for r in events()}
    assert set(rows) == {"msg_big", "msg_small"}
    big = rows["msg_big"]
    assert (big["input_tokens"], big["output_tokens"]) == (11, 74)
    assert (big["cache_read_tokens"], big["cache_write_tokens"]) == (54_793, 5_107)
    assert big["attrs"]["request_id"] == "req_big"
    assert big["project"] == "C:\\Users\\dev\\shop"
    assert big["model"] == "claude-sonnet-4-20250514"
    with store() as db:
        (stream,) = list(db.query("SELECT oversized_total FROM sessions"))
    assert stream["oversized_total"] == 1
