"""Kimi CLI wire files: token meaning, forks and subagent copies counted once, parity."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import AgentContext, StreamRef, StreamState
from agenttail.agents.kimi import KimiAgent, configured_model, work_dirs
from agenttail.agents.kimi_wire import KimiWire, priced_model
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from scripts import ccusage_tool
from tests import helpers

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_kimi_corpus.py"
CCUSAGE_DIR = ccusage_tool.default_dir()


def wire(ts: float, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": ts, "message": {"type": kind, "payload": payload}}


def status(ts: float, message_id: str | None, i: int, o: int, read: int = 0, write: int = 0) -> Any:
    usage = {"input_other": i, "output": o, "input_cache_read": read, "input_cache_creation": write}
    payload: dict[str, Any] = {"token_usage": usage, "context_tokens": i + read + write}
    if message_id is not None:
        payload["message_id"] = message_id
    return wire(ts, "StatusUpdate", payload)


def convert(path: Path, *lines: dict[str, Any], subagent: str | None = None) -> list[MetricEvent]:
    spec = KimiAgent(roots=[path]).streams[1 if subagent else 0]
    ref = StreamRef("kimi", spec, path, spec.session_id(path))
    context = AgentContext(ref, StreamState())
    records = [Record(line, n) for n, line in enumerate(lines)]
    return KimiWire("kimi", context, "kimi-k2.5", "/home/dev/shop", subagent).events(records)


def requests(events: list[MetricEvent]) -> list[MetricEvent]:
    return [e for e in events if e.kind == EventKind.LLM_REQUEST]


def test_step_tokens_tools_and_retries(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "g" / "s1" / "wire.jsonl"
    call = {"type": "function", "id": "tool_1", "function": {"name": "Shell", "arguments": "{}"}}
    result = {"tool_call_id": "tool_1", "return_value": {"is_error": True, "output": "CANARY"}}
    events = convert(
        path,
        {"type": "metadata", "protocol_version": "1.10"},
        wire(1793863392.5, "TurnBegin", {"user_input": "CANARY-PROMPT"}),
        wire(
            1793863393.0, "StepRetry", {"n": 1, "error_type": "APIStatusError", "status_code": 429}
        ),
        wire(1793863394.0, "ToolCall", call),
        status(1793863394.25, "chatcmpl-1", 300, 50, read=12_000, write=40),
        wire(1793863394.5, "StatusUpdate", {"plan_mode": True}),
        status(1793863394.6, "chatcmpl-0", 0, 0),
        wire(1793863396.75, "ToolResult", result),
    )
    [request] = requests(events)
    assert (request.input_tokens, request.output_tokens) == (300, 50)
    assert (request.cache_read_tokens, request.cache_write_tokens) == (12_000, 40)
    assert (request.session_id, request.project, request.model) == (
        "s1",
        "/home/dev/shop",
        "kimi-k2.5",
    )
    assert request.ts_ms == 1793863394250
    assert request.attrs["message_id"] == "chatcmpl-1"
    [tool] = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert (tool.tool_name, tool.ok, tool.duration_ms) == ("Shell", False, 2750.0)
    [retry] = [e for e in events if e.kind == EventKind.API_ERROR]
    assert retry.attrs == {"error": "APIStatusError", "status": 429}
    assert {e.run_id for e in events} == {request.run_id}


def test_fork_and_subagent_copies_share_one_event(tmp_path: Path) -> None:
    """A fork copies wire lines into a new session; a subagent's step is in its own wire and
    wrapped in the parent's. Each request is one event whatever the file."""
    step = status(1793863394.25, "chatcmpl-7", 10, 20, 30)
    parent = requests(convert(tmp_path / "sessions" / "g" / "s1" / "wire.jsonl", step))
    fork = requests(convert(tmp_path / "sessions" / "g" / "s2" / "wire.jsonl", step))
    wrapped = wire(1793863394.3, "SubagentEvent", {"agent_id": "a1", "event": step["message"]})
    via_parent = requests(convert(tmp_path / "sessions" / "g" / "s3" / "wire.jsonl", wrapped))
    own = tmp_path / "sessions" / "g" / "s3" / "subagents" / "a1" / "wire.jsonl"
    via_own = requests(convert(own, step, subagent="a1"))
    ids = {e.event_id for e in (*parent, *fork, *via_parent, *via_own)}
    assert len(ids) == 1
    assert via_own[0].session_id == "s3" and via_own[0].attrs["subagent_id"] == "a1"
    assert via_parent[0].is_sidechain and not parent[0].is_sidechain


def test_steps_without_message_id_are_keyed_by_what_they_are(tmp_path: Path) -> None:
    a = requests(
        convert(tmp_path / "sessions" / "g" / "s1" / "wire.jsonl", status(5.0, None, 1, 2))
    )
    b = requests(
        convert(tmp_path / "sessions" / "g" / "s2" / "wire.jsonl", status(5.0, None, 1, 2))
    )
    c = requests(
        convert(tmp_path / "sessions" / "g" / "s1" / "wire.jsonl", status(6.0, None, 1, 2))
    )
    assert a[0].event_id == b[0].event_id != c[0].event_id


def test_model_project_and_roots_from_kimi_files(tmp_path: Path) -> None:
    share = tmp_path / "kimi"
    share.mkdir()
    assert configured_model(share) == "kimi-for-coding"
    (share / "config.json").write_text(
        '{"default_model": "k", "models": {"k": {"model": "kimi-k2.6"}}}'
    )
    assert configured_model(share) == "kimi-k2.6"
    (share / "config.toml").write_text(
        'default_model = "t"\n[models.t]\nmodel = "kimi-k2-turbo-preview"\n'
    )
    assert configured_model(share) == "kimi-k2-turbo-preview"
    (share / "kimi.json").write_text(
        json.dumps({"work_dirs": [{"path": "/srv/app", "kaos": "local"}]})
    )
    folder = hashlib.md5(b"/srv/app").hexdigest()  # Kimi's folder name for a work dir
    assert work_dirs(share) == {folder: "/srv/app"}
    env = {"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    for platform in ("linux", "darwin", "win32"):
        assert KimiAgent().resolve_roots(env, platform) == [tmp_path / ".kimi"]
        both = {**env, "KIMI_SHARE_DIR": "/x", "KIMI_DATA_DIR": "/y"}
        assert KimiAgent().resolve_roots(both, platform) == [Path("/x")]
        assert KimiAgent().resolve_roots({**env, "KIMI_DATA_DIR": "/y"}, platform) == [Path("/y")]
        listed = {**env, "KIMI_DATA_DIR": "/y,/z"}
        assert KimiAgent().resolve_roots(listed, platform) == [Path("/y"), Path("/z")]
    assert priced_model("kimi-for-coding", 1_776_698_890_071) == "kimi-k2.5"
    assert priced_model("kimi-for-coding", 1_776_698_890_072) == "kimi-k2.6"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("kimi-corpus")
    args = ["--sessions", "8", "--turns", "8", "--forks", "--subagents", "--seed", "6"]
    subprocess.run([sys.executable, str(GENERATOR), str(out), *args], check=True, timeout=60)
    return out, json.loads((out / "expected.json").read_text())


def test_corpus_counts_each_request_once(corpus: tuple[Path, Any], tmp_path: Path) -> None:
    share, expected = corpus
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp_path / "state"),
        "KIMI_SHARE_DIR": str(share / "root"),
    }
    ours = ccusage_tool.day_rows(helpers.agenttail_daily(env))
    assert len(ours) >= 6
    assert ours == ccusage_tool.day_rows(expected)


def test_real_ccusage_counts_fork_copies_again(corpus: tuple[Path, Any], tmp_path: Path) -> None:
    """ccusage 20.0.24 keys a step with its session folder: a fork's copied steps count twice
    (the README's difference); subagent steps it counts once, as agenttail does."""
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    share, expected = corpus
    report = ccusage_tool.run_agent_daily(
        executable, "kimi", {"KIMI_DATA_DIR": str(share / "root")}, tmp_path / "home"
    )
    theirs = ccusage_tool.day_rows(report, ccusage_tool.TOKEN_FIELDS)
    assert theirs == ccusage_tool.day_rows(expected["ccusage"])
    assert expected["ccusage"]["totals"]["total_tokens"] > expected["totals"]["total_tokens"]
