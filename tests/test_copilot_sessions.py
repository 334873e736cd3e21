"""Chat session files, VS Code paths, and the end-to-end report over a generated Copilot home."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agenttail.agents.base import discover
from agenttail.agents.copilot import CopilotAgent
from agenttail.agents.vscode_paths import uri_to_path, user_dirs
from agenttail.daemon.worker import StreamProcessor
from agenttail.readers.base import ReadLimits
from agenttail.store import Store
from scripts import gen_copilot_home as GEN
from tests.helpers import agenttail_cli


def process(user: Path, store: Store) -> None:
    agent = CopilotAgent(roots=[user])
    processor = StreamProcessor(store, {agent.name: agent}, ReadLimits(max_batch_records=2))
    for ref in discover(agent):
        while not processor.process(ref).finished:
            pass


def tokens(store: Store) -> list[tuple[Any, ...]]:
    return store.db.execute(
        "SELECT session_id, input_tokens, output_tokens, model, precedence FROM events "
        "WHERE kind = 'llm_request' AND counted = 1 ORDER BY ts_ms"
    ).fetchall()


def test_user_dirs_per_os_variants_and_remote() -> None:
    home = Path("/h")
    linux = user_dirs({"XDG_CONFIG_HOME": "/x"}, home, "linux")
    assert Path("/x/Code - Insiders/User") in linux and Path("/x/VSCodium/User") in linux
    assert Path("/h/.vscode-server/data/User") in linux
    mac = user_dirs({}, home, "darwin")
    assert Path("/h/Library/Application Support/Cursor/User") in mac
    win = user_dirs({"APPDATA": "/h/AppData/Roaming"}, home, "win32")
    assert Path("/h/AppData/Roaming/Code/User") in win
    assert uri_to_path("file:///c%3A/Users/me/proj") == "C:\\Users\\me\\proj"
    assert uri_to_path("file:///home/me/my%20proj") == "/home/me/my proj"


def test_mutation_log_replay_and_compaction(tmp_path: Path) -> None:
    user = tmp_path / "Code" / "User"
    ws = GEN.write_workspace(user, "h1", "/home/me/p")
    path = ws / "chatSessions" / "s-log.jsonl"
    reqs = [
        GEN.chat_request(f"r{n}", 1_800_000_000_000 + n, "gpt-4o", 100 + n, 10) for n in range(3)
    ]
    GEN.write_mutation_log(path, "s-log", 1_800_000_000_000, reqs)
    with Store(tmp_path / "store.db") as store:
        process(user, store)
        assert [r[1] for r in tokens(store)] == [100, 101, 102]
        assert {r[0] for r in tokens(store)} == {"s-log"}
        row = store.db.execute("SELECT state FROM sessions").fetchone()[0]
        assert "hello" not in row and "markdownContent" not in row  # projection only
        # Compaction: the file is rewritten as one kind-0 line holding the whole state; one
        # request's result was updated meanwhile.
        reqs[1]["result"]["metadata"]["outputTokens"] = 99
        doc = GEN.session_document("s-log", 1_800_000_000_000, reqs)
        path.write_text(json.dumps({"kind": 0, "v": doc}) + "\n")
        process(user, store)
        assert [(r[1], r[2]) for r in tokens(store)] == [(100, 10), (101, 99), (102, 10)]
        (project,) = store.db.execute("SELECT DISTINCT project FROM events").fetchone()
        assert project == "/home/me/p"


def test_json_document_rederives_changed_requests(tmp_path: Path) -> None:
    user = tmp_path / "Code" / "User"
    ws = GEN.write_workspace(user, "h1", "/p")
    path = ws / "chatSessions" / "s-json.json"
    path.parent.mkdir(parents=True)
    reqs = [GEN.chat_request(f"r{n}", 1_800_000_000_000 + n, "gpt-4o", 50, 5) for n in range(5)]
    pending = reqs[-1].pop("result")
    path.write_text(json.dumps(GEN.session_document("s-json", 1_800_000_000_000, reqs)))
    with Store(tmp_path / "store.db") as store:
        process(user, store)
        assert len(tokens(store)) == 4
        reqs[-1]["result"] = pending
        path.write_text(json.dumps(GEN.session_document("s-json", 1_800_000_000_000, reqs)))
        process(user, store)
        process(user, store)
        assert len(tokens(store)) == 5
        assert tokens(store)[0][3] == "gpt-4o"  # copilot/ prefix removed


def test_trace_tokens_replace_file_tokens_for_the_same_session(tmp_path: Path) -> None:
    user = tmp_path / "Code" / "User"
    ws = GEN.write_workspace(user, "h1", "/p")
    (ws / "chatSessions").mkdir(parents=True)
    reqs = [GEN.chat_request("r0", 1_800_000_000_000, "gpt-4o", 999, 99)]
    doc = GEN.session_document("both", 1_800_000_000_000, reqs)
    (ws / "chatSessions" / "both.json").write_text(json.dumps(doc))
    with Store(tmp_path / "store.db") as store:
        process(user, store)  # only the file so far: its tokens count
        assert tokens(store) == [("both", 999, 99, "gpt-4o", 0)]
        db = GEN.TraceDb(user / "globalStorage/github.copilot-chat/agent-traces.db")
        db.span(
            span_id="x1", trace_id="t", name="chat", start_time_ms=1_800_000_000_500,
            end_time_ms=1_800_000_001_000.5, operation_name="chat", response_model="gpt-4o",
            input_tokens=1200, output_tokens=80, cached_tokens=200, chat_session_id="both",
        )  # fmt: skip
        db.close()
        process(user, store)
        assert tokens(store) == [("both", 1000, 80, "gpt-4o", 1)]
        (project,) = store.db.execute(
            "SELECT project FROM events WHERE precedence = 1 AND kind = 'llm_request'"
        ).fetchone()
        assert project == "/p"


def test_report_matches_generator_and_status_lists_shared_stream_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    expected = GEN.build_home(home)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "AGENTTAIL_HOME": str(tmp_path / "at"),
        "COPILOT_HOME": str(home / ".copilot"),
    }
    env.pop("CLAUDE_CONFIG_DIR", None)

    def run(*args: str) -> str:
        return agenttail_cli(env, *args)

    run("scan")
    run("scan")  # a second pass (overlap re-read, unchanged files) changes nothing
    report = json.loads(run("report", "daily", "--json", "--timezone", "UTC"))
    keys = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens", "requests")
    got = {d["date"]: {k: d[k] for k in keys} for d in report["daily"]}
    assert got == {day: dict(v) for day, v in expected.days.items()}
    assert {k: report["totals"][k] for k in keys} == expected.totals()
    status = json.loads(run("status", "--json"))
    shared = [s for s in status["streams"] if s["stream"] == "otel_traces"]
    assert sorted(s["path"] for s in shared) == sorted(str(p) for p in expected.shared_dbs)
    assert all(s["session_id"] == "__shared__" and s["shared"] for s in shared)
    assert status["streams_failing"] == 0
