"""Generate a Copilot home (VS Code Code + Insiders user folders, Copilot CLI) in the real formats.

Writes chatSessions ``.json`` and ``.jsonl`` mutation logs, transcripts event streams, WAL-mode
``agent-traces.db`` files with the real schema, and CLI ``events.jsonl`` files, and returns what
``agenttail report daily`` must show, computed here by its own arithmetic:

    usage: python scripts/gen_copilot_home.py OUT_DIR [--seed N]

Rules mirrored (agent-formats.md 3-4): trace ``chat`` spans win over chat-session-file tokens for
the same session; ``invoke_agent`` tokens are never counted; OTel input includes cached tokens.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS spans (
 span_id TEXT PRIMARY KEY, trace_id TEXT NOT NULL, parent_span_id TEXT,
 name TEXT NOT NULL, start_time_ms INTEGER NOT NULL, end_time_ms INTEGER NOT NULL,
 status_code INTEGER NOT NULL DEFAULT 0, status_message TEXT,
 operation_name TEXT, provider_name TEXT, agent_name TEXT, conversation_id TEXT,
 request_model TEXT, response_model TEXT,
 input_tokens INTEGER, output_tokens INTEGER, cached_tokens INTEGER, reasoning_tokens INTEGER,
 tool_name TEXT, tool_call_id TEXT, tool_type TEXT,
 chat_session_id TEXT, turn_index INTEGER, ttft_ms REAL);
CREATE TABLE IF NOT EXISTS span_attributes (
 span_id TEXT NOT NULL REFERENCES spans(span_id) ON DELETE CASCADE,
 key TEXT NOT NULL, value TEXT, PRIMARY KEY (span_id, key));
CREATE TABLE IF NOT EXISTS span_events (
 id INTEGER PRIMARY KEY AUTOINCREMENT,
 span_id TEXT NOT NULL REFERENCES spans(span_id) ON DELETE CASCADE,
 name TEXT NOT NULL, timestamp_ms INTEGER NOT NULL, attributes TEXT);
CREATE INDEX IF NOT EXISTS idx_spans_trace ON spans(trace_id);
CREATE INDEX IF NOT EXISTS idx_spans_conversation ON spans(conversation_id);
CREATE INDEX IF NOT EXISTS idx_spans_chat_session ON spans(chat_session_id);
CREATE INDEX IF NOT EXISTS idx_spans_operation ON spans(operation_name);
CREATE INDEX IF NOT EXISTS idx_spans_start_time ON spans(start_time_ms);
CREATE INDEX IF NOT EXISTS idx_span_events_span ON span_events(span_id);
INSERT OR IGNORE INTO schema_version (version) VALUES (1);
"""

CACHE_WRITE_ATTR = "gen_ai.usage.cache_creation.input_tokens"
DAY0 = int(datetime(2026, 3, 10, 9, 0, tzinfo=UTC).timestamp() * 1000)
DAY_MS = 86_400_000


class TraceDb:
    """A writer like Copilot's: WAL, busy timeout, INSERT OR REPLACE, one transaction per span."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=10, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA busy_timeout = 3000")
        self.conn.executescript(SCHEMA)

    def span(self, attributes: dict[str, Any] | None = None, **columns: Any) -> None:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.execute("BEGIN IMMEDIATE")
        self.conn.execute(
            f"INSERT OR REPLACE INTO spans ({names}) VALUES ({marks})", list(columns.values())
        )
        for key, value in (attributes or {}).items():
            self.conn.execute(
                "INSERT OR REPLACE INTO span_attributes (span_id, key, value) VALUES (?, ?, ?)",
                [columns["span_id"], key, str(value)],
            )
        self.conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


@dataclass
class Expected:
    """Per UTC day: summed token classes and request count that must be reported."""

    days: dict[str, dict[str, int]] = field(
        default_factory=lambda: defaultdict(
            lambda: dict.fromkeys(
                (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_tokens",
                    "cache_write_tokens",
                    "requests",
                ),
                0,
            )
        )
    )
    shared_dbs: list[Path] = field(default_factory=list)

    def add(self, ts_ms: int, inp: int, out: int, read: int = 0, write: int = 0) -> None:
        day = datetime.fromtimestamp(ts_ms / 1000, UTC).date().isoformat()
        entry = self.days[day]
        entry["input_tokens"] += inp
        entry["output_tokens"] += out
        entry["cache_read_tokens"] += read
        entry["cache_write_tokens"] += write
        entry["requests"] += 1

    def totals(self) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for entry in self.days.values():
            for key, value in entry.items():
                total[key] += value
        return dict(total)


def write_workspace(user: Path, name: str, folder: str) -> Path:
    workspace = user / "workspaceStorage" / name
    workspace.mkdir(parents=True, exist_ok=True)
    (workspace / "workspace.json").write_text(json.dumps({"folder": f"file://{folder}"}))
    return workspace


def chat_request(rid: str, ts: int, model: str, prompt: int | None, output: int | None) -> Any:
    metadata: dict[str, Any] = {"sessionId": "x", "modelMessageId": rid + "-m"}
    if prompt is not None:
        metadata.update(promptTokens=prompt, outputTokens=output)
    return {
        "requestId": rid,
        "timestamp": ts,
        "modelId": f"copilot/{model}",
        "message": {"text": "CANARY-copilot-prompt " * 5, "parts": []},
        "response": [
            {"kind": "markdownContent", "content": {"value": "CANARY-copilot-response " * 5}}
        ],
        "result": {"timings": {"firstProgress": 400, "totalElapsed": 2100}, "metadata": metadata},
        "modelState": {"value": 1, "completedAt": ts + 2100},
    }


def session_document(session_id: str, ts: int, requests: list[Any]) -> dict[str, Any]:
    return {
        "version": 3,
        "sessionId": session_id,
        "creationDate": ts,
        "responderUsername": "GitHub Copilot",
        "inputState": {"selectedModel": {"identifier": "copilot/gpt-4o"}},
        "requests": requests,
    }


def write_mutation_log(path: Path, session_id: str, ts: int, requests: list[Any]) -> None:
    """Initial state, then a push per request and a set of each result (as VS Code writes)."""
    lines = [{"kind": 0, "v": session_document(session_id, ts, [])}]
    for index, request in enumerate(requests):
        pending = {k: v for k, v in request.items() if k != "result"}
        lines.append({"kind": 2, "k": ["requests"], "v": [pending]})
        lines.append({"kind": 1, "k": ["requests", index, "result"], "v": request["result"]})
        lines.append({"kind": 1, "k": ["requests", index, "modelState"], "v": {"value": 1}})
    lines.append({"kind": 3, "k": ["customTitle"]})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))


def transcript_lines(session_id: str, ts: int, tools: int) -> str:
    def line(kind: str, data: dict[str, Any], offset: int) -> str:
        stamp = datetime.fromtimestamp((ts + offset) / 1000, UTC).isoformat()
        return (
            json.dumps(
                {
                    "type": kind,
                    "data": data,
                    "id": f"{kind}-{offset}",
                    "timestamp": stamp.replace("+00:00", "Z"),
                    "parentId": None,
                }
            )
            + "\n"
        )

    out = line("session.start", {"sessionId": session_id, "version": 1}, 0)
    for n in range(tools):
        call = {"toolCallId": f"call_{session_id}_{n}", "toolName": "read_file"}
        arguments = {"filePath": "CANARY-copilot-tool-input"}
        out += line("tool.execution_start", {**call, "arguments": arguments}, 10 + n * 10)
        out += line(
            "tool.execution_complete",
            {
                "toolCallId": call["toolCallId"],
                "success": n % 3 != 2,
                "result": {"content": "CANARY-copilot-tool-output"},
            },
            15 + n * 10,
        )
    return out


def add_chat_spans(
    db: TraceDb,
    rng: random.Random,
    expected: Expected,
    session: str | None,
    ts: int,
    count: int,
    model: str,
    prefix: str,
    conversation: str | None = None,
) -> None:
    """``count`` chat spans under one invoke_agent span (whose tokens repeat them)."""
    sums = [0, 0, 0]
    for n in range(count):
        start = ts + n * 5000
        end = start + rng.randint(500, 4000) + rng.choice([0.0, 0.35, 0.5, 0.125])
        cached = rng.randint(0, 3000)
        write = rng.choice([0, 0, rng.randint(1, 500)])
        fresh = rng.randint(1, 4000)
        out = rng.randint(1, 2000)
        total_in = fresh + cached + write
        db.span(
            {
                CACHE_WRITE_ATTR: write,
                "gen_ai.response.id": f"resp-{prefix}-{n}",
                # Content the exporter stores beside the metrics: it must never be read.
                "gen_ai.input.messages": '[{"role":"user","content":"CANARY-copilot-span-prompt"}]',
                "gen_ai.output.messages": '[{"content":"CANARY-copilot-span-response"}]',
            },
            span_id=f"{prefix}-chat-{n:04d}",
            trace_id=f"{prefix}-trace",
            parent_span_id=f"{prefix}-agent",
            name=f"chat {model}",
            start_time_ms=start,
            end_time_ms=end,
            operation_name="chat",
            provider_name="github",
            agent_name="GitHub Copilot Chat",
            conversation_id=conversation,
            request_model=model,
            response_model=model,
            input_tokens=total_in,
            output_tokens=out,
            cached_tokens=cached,
            reasoning_tokens=rng.randint(0, 50),
            chat_session_id=session,
            ttft_ms=123.5,
        )
        expected.add(start, fresh, out, cached, write)
        sums = [sums[0] + total_in, sums[1] + out, sums[2] + cached]
        db.span(
            span_id=f"{prefix}-tool-{n:04d}",
            trace_id=f"{prefix}-trace",
            parent_span_id=f"{prefix}-agent",
            name="execute_tool read_file",
            start_time_ms=end,
            end_time_ms=end + 20,
            operation_name="execute_tool",
            tool_name="read_file",
            tool_call_id=f"tc-{prefix}-{n}",
            tool_type="function",
            chat_session_id=session,
            conversation_id=conversation,
        )
    last = ts + count * 5000 + 5000
    db.span(
        span_id=f"{prefix}-agent",
        trace_id=f"{prefix}-trace",
        name="invoke_agent",
        start_time_ms=ts,
        end_time_ms=last,
        operation_name="invoke_agent",
        response_model=model,
        input_tokens=sums[0],
        output_tokens=sums[1],
        cached_tokens=sums[2],
        chat_session_id=session,
        conversation_id=conversation,
    )


def build_home(root: Path, seed: int = 7) -> Expected:
    """A HOME with Code and Code - Insiders user folders and a Copilot CLI folder."""
    rng = random.Random(seed)
    expected = Expected()
    code = root / ".config" / "Code" / "User"
    insiders = root / ".config" / "Code - Insiders" / "User"
    ws = write_workspace(code, "a1b2c3", "/home/dev/project-a")
    ws_b = write_workspace(insiders, "d4e5f6", "/home/dev/project%20b")
    db_path = code / "globalStorage" / "github.copilot-chat" / "agent-traces.db"
    db = TraceDb(db_path)
    expected.shared_dbs.append(db_path)

    # 1. A .json session that also has trace spans: only the spans count.
    both = "sess-both-0001"
    ts = DAY0
    requests = [
        chat_request(f"r-both-{n}", ts + n * 60_000, "gpt-4o", 1000 + n, 50) for n in range(3)
    ]
    (ws / "chatSessions").mkdir(parents=True)
    (ws / "chatSessions" / f"{both}.json").write_text(
        json.dumps(session_document(both, ts, requests), indent=2)
    )
    add_chat_spans(db, rng, expected, both, ts, 4, "gpt-4o", "both")

    # 2. A .jsonl mutation log session with file tokens only (one request still streaming).
    log_only = "sess-log-0002"
    ts2 = DAY0 + 3 * 3600_000
    reqs = [
        chat_request(f"r-log-{n}", ts2 + n * 60_000, "claude-sonnet-4", 2000 + 7 * n, 300 + n)
        for n in range(5)
    ]
    write_mutation_log(ws / "chatSessions" / f"{log_only}.jsonl", log_only, ts2, reqs)
    for request in reqs:
        expected.add(
            request["timestamp"],
            request["result"]["metadata"]["promptTokens"],
            request["result"]["metadata"]["outputTokens"],
        )

    # 3. A .json session with file tokens only, on the next day, in Insiders.
    json_only = "sess-json-0003"
    ts3 = DAY0 + DAY_MS
    reqs3 = [
        chat_request(f"r-json-{n}", ts3 + n * 90_000, "gpt-4o", 500 + n, 40 + n) for n in range(4)
    ]
    reqs3.append({**chat_request("r-json-pending", ts3 + 999_000, "gpt-4o", None, None)})
    del reqs3[-1]["result"]  # still streaming: no tokens yet
    (ws_b / "chatSessions").mkdir(parents=True)
    (ws_b / "chatSessions" / f"{json_only}.json").write_text(
        json.dumps(session_document(json_only, ts3, reqs3), indent=2)
    )
    for request in reqs3[:-1]:
        expected.add(
            request["timestamp"],
            request["result"]["metadata"]["promptTokens"],
            request["result"]["metadata"]["outputTokens"],
        )

    # 4. Transcript tool calls for the traced session; spans without any session id.
    transcripts = ws / "GitHub.copilot-chat" / "transcripts"
    transcripts.mkdir(parents=True)
    (transcripts / f"{both}.jsonl").write_text(transcript_lines(both, ts, 3))
    add_chat_spans(db, rng, expected, None, DAY0 + 5 * 3600_000, 2, "gpt-4o-mini", "nosess")
    add_chat_spans(
        db,
        rng,
        expected,
        None,
        DAY0 + 6 * 3600_000,
        2,
        "gpt-4o",
        "conv",
        conversation="conv-title-1",
    )
    db.close()

    # 5. Insiders has its own trace database.
    db_b_path = insiders / "globalStorage" / "github.copilot-chat" / "agent-traces.db"
    db_b = TraceDb(db_b_path)
    expected.shared_dbs.append(db_b_path)
    add_chat_spans(
        db_b, rng, expected, "sess-ins-0004", DAY0 + DAY_MS + 7200_000, 6, "claude-sonnet-4", "ins"
    )
    db_b.close()

    # 6. Copilot CLI with assistant.usage events.
    cli = root / ".copilot" / "session-state" / "cli-sess-0005"
    cli.mkdir(parents=True)
    lines = [
        {
            "type": "session.start",
            "data": {"sessionId": "cli-sess-0005", "context": {"cwd": "/home/dev/cli"}},
            "id": "e0",
            "timestamp": "2026-03-10T15:00:00.000Z",
            "parentId": None,
        },
        {
            "type": "session.model_change",
            "data": {"newModel": "gpt-4.1"},
            "id": "e1",
            "timestamp": "2026-03-10T15:00:01.000Z",
            "parentId": "e0",
        },
        {
            "type": "user.message",
            "data": {"content": "CANARY-copilot-cli-prompt"},
            "id": "e2",
            "timestamp": "2026-03-10T15:00:02.000Z",
            "parentId": "e1",
        },
    ]
    for n in range(3):
        inp, out = 800 + n, 90 + n
        stamp = f"2026-03-10T15:0{n + 1}:00.000Z"
        lines.append(
            {
                "type": "assistant.usage",
                "data": {"inputTokens": inp, "outputTokens": out},
                "id": f"u{n}",
                "timestamp": stamp,
                "parentId": "e1",
            }
        )
        expected.add(
            int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000), inp, out
        )
    (cli / "events.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))

    # 7. Copilot CLI's session-store.db: the same three requests of cli-sess-0005 again (counted
    # once: the store's copies replace the events' copies), and cli-sess-0006 found only here.
    write_session_store(root / ".copilot" / "session-store.db", expected)
    return expected


# The runtime's schema (@github/copilot 1.0.102): the tables and columns agenttail reads, and a
# content column of each so the fixture carries canaries.
SESSION_STORE_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE sessions (id TEXT PRIMARY KEY, cwd TEXT, repository TEXT, host_type TEXT,
    branch TEXT, summary TEXT, created_at TEXT DEFAULT (datetime('now')),
    updated_at TEXT DEFAULT (datetime('now')));
CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id), turn_index INTEGER NOT NULL,
    user_message TEXT, assistant_response TEXT, timestamp TEXT DEFAULT (datetime('now')),
    UNIQUE(session_id, turn_index));
CREATE TABLE assistant_usage_events (id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL REFERENCES sessions(id), turn_index INTEGER, agent_id TEXT,
    parent_tool_call_id TEXT, model TEXT NOT NULL, copilot_usage_model TEXT,
    input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,
    cache_write_tokens INTEGER, reasoning_tokens INTEGER, total_nano_aiu INTEGER,
    request_multiplier REAL, duration_ms INTEGER, time_to_first_token_ms INTEGER,
    output_ttft_ms REAL, inter_token_latency_ms INTEGER, initiator TEXT, api_endpoint TEXT,
    reasoning_effort TEXT, finish_reason TEXT, content_filter_triggered INTEGER,
    token_details_json TEXT, created_at TEXT DEFAULT (datetime('now')));
"""


def write_session_store(path: Path, expected: Expected) -> None:
    db = sqlite3.connect(path)
    db.executescript(SESSION_STORE_SCHEMA)
    db.execute("INSERT INTO schema_version VALUES (1)")
    sessions = [
        ("cli-sess-0005", "/home/dev/cli", "CANARY-copilot-store-summary-5"),
        ("cli-sess-0006", "/home/dev/store", "CANARY-copilot-store-summary-6"),
    ]
    db.executemany("INSERT INTO sessions (id, cwd, summary) VALUES (?, ?, ?)", sessions)
    db.executemany(
        "INSERT INTO turns (session_id, turn_index, user_message, assistant_response, timestamp)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            ("cli-sess-0005", 0, "CANARY-copilot-store-prompt", "CANARY-copilot-store-reply", "x"),
            ("cli-sess-0006", 0, "CANARY-copilot-store-prompt", "CANARY-copilot-store-reply", "x"),
            ("cli-sess-0006", 1, "CANARY-copilot-store-prompt", "CANARY-copilot-store-reply", "x"),
        ],
    )
    rows: list[tuple[Any, ...]] = []
    # (session, turn, sub-agent, model, input incl. cache, output, cache read, cache write,
    #  reasoning, created_at): the first three repeat events.jsonl's assistant.usage lines.
    for n in range(3):
        stamp = f"2026-03-10T15:0{n + 1}:00.000Z"
        rows.append(("cli-sess-0005", 0, None, "gpt-4.1", 800 + n, 90 + n, 0, 0, 0, stamp))
    own = [
        ("cli-sess-0006", 0, None, "claude-sonnet-4.5", 12000, 300, 9000, 2000, 0),
        ("cli-sess-0006", 0, "task-1", "claude-sonnet-4.5", 5000, 120, 4000, 0, 0),
        ("cli-sess-0006", 1, None, "gpt-5", 7000, 900, 6000, 0, 400),
    ]
    for n, (session, turn, sub, model, inp, out, read, write, reasoning) in enumerate(own):
        stamp = f"2026-03-11 09:1{n}:00"  # the column's SQLite form (naive UTC) also occurs
        rows.append((session, turn, sub, model, inp, out, read, write, reasoning, stamp))
        ts = int(datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() * 1000)
        expected.add(ts, inp - read - write, out, read, write)
    db.executemany(
        "INSERT INTO assistant_usage_events (session_id, turn_index, agent_id, model,"
        " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,"
        " reasoning_tokens, duration_ms, time_to_first_token_ms, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1500, 400, ?)",
        rows,
    )
    db.commit()
    db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    expected = build_home(args.out, args.seed)
    json.dump({"days": expected.days, "totals": expected.totals()}, sys.stdout, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
