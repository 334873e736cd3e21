"""Pi sessions: token meaning, forks and migrations counted once, tools, errors, parity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import AgentContext, StreamRef, StreamState
from agenttail.agents.pi import PiAgent
from agenttail.agents.pi_session import PiSession, session_of_file
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from scripts import ccusage_tool
from tests import helpers

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_pi_corpus.py"
CCUSAGE_DIR = ccusage_tool.default_dir()
SESSION = "0d6c2f1e-5b7a-4c55-9a1e-3f2b1c0d9e8f"


def header(sid: str = SESSION, **extra: Any) -> dict[str, Any]:
    return {
        "type": "session",
        "version": 3,
        "id": sid,
        "timestamp": "2026-11-03T09:00:00.000Z",
        "cwd": "/home/dev/shop",
        **extra,
    }


def assistant(
    entry_id: str | None, ts: str, usage: dict[str, Any], *, stop: str = "stop", **message: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "message",
        "timestamp": ts,
        "message": {
            "role": "assistant",
            "content": [{"type": "text", "text": "CANARY-RESPONSE"}],
            "provider": "anthropic",
            "model": "claude-sonnet-4-5",
            "usage": usage,
            "stopReason": stop,
            "timestamp": 1_793_700_000_000 + int(ts[17:19]) * 1000,
            **message,
        },
    }
    if entry_id is not None:
        record["id"] = entry_id
        record["parentId"] = None
    return record


def usage(i: int, o: int, read: int = 0, write: int = 0, cost: float = 0.01) -> dict[str, Any]:
    return {
        "input": i,
        "output": o,
        "cacheRead": read,
        "cacheWrite": write,
        "totalTokens": i + o + read + write,
        "cost": {"total": cost},
    }


def convert(path: Path, *lines: dict[str, Any], state: StreamState | None = None) -> list[Any]:
    agent = PiAgent(roots=[path.parent.parent])
    spec = agent.streams[0]
    ref = StreamRef("pi", spec, path, session_of_file(path))
    context = AgentContext(ref, state or StreamState())
    return PiSession("pi", context).events([Record(line, n) for n, line in enumerate(lines)])


def requests(events: list[MetricEvent]) -> list[MetricEvent]:
    return [e for e in events if e.kind == EventKind.LLM_REQUEST]


def test_tokens_model_session_project_and_recorded_cost(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "--home-dev-shop--" / f"2026-11-03T09-00-00-000Z_{SESSION}.jsonl"
    events = convert(
        path,
        header(),
        assistant("a1", "2026-11-03T09:00:05.000Z", usage(120, 40, 9000, 300, cost=0.0123)),
    )
    [request] = requests(events)
    assert (request.input_tokens, request.output_tokens) == (120, 40)
    assert (request.cache_read_tokens, request.cache_write_tokens) == (9000, 300)
    assert request.total_tokens == 120 + 40 + 9000 + 300
    assert request.model == "claude-sonnet-4-5"
    assert request.session_id == SESSION
    assert request.project == "/home/dev/shop"
    assert request.recorded_cost_nusd == 12_300_000
    assert request.context_tokens == 120 + 9000 + 300
    assert request.cost_nusd is not None and request.cost_nusd > 0


def test_total_only_usage_is_output_and_zero_usage_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "s" / "p" / f"x_{SESSION}.jsonl"
    events = convert(
        path,
        header(),
        assistant("a1", "2026-11-03T09:00:05.000Z", {"totalTokens": 777}),
        assistant("a2", "2026-11-03T09:00:09.000Z", usage(0, 0), stop="aborted"),
    )
    [request] = requests(events)
    assert (request.input_tokens, request.output_tokens) == (0, 777)


def test_copies_and_v1_migration_land_on_the_same_events(tmp_path: Path) -> None:
    """A /fork copies entries into a new file; migrating a v1 file gives entries new ids.
    Either way the request is the same event, so the store keeps one row."""
    first = assistant("a1", "2026-11-03T09:00:05.000Z", usage(10, 20, 30))
    second = assistant("b2", "2026-11-03T09:01:07.000Z", usage(11, 21, 31))
    parent = tmp_path / "s" / "p" / f"t_{SESSION}.jsonl"
    fork_id = "7a1c0b3e-2d4f-4e6a-8b9c-0d1e2f3a4b5c"
    fork = tmp_path / "s" / "q" / f"t_{fork_id}.jsonl"
    legacy = {k: v for k, v in first.items() if k not in ("id", "parentId")}
    original = requests(convert(parent, header(), first, second))
    copied = requests(convert(fork, header(fork_id, parentSession=str(parent)), first, second))
    migrated = requests(convert(parent, header(), {**legacy, "id": "ffff0000"}))
    assert [e.event_id for e in copied] == [e.event_id for e in original]
    assert migrated[0].event_id == original[0].event_id
    assert copied[0].session_id == fork_id
    assert copied[0].attrs["parent_session_id"] == SESSION
    assert len({e.event_id for e in original}) == 2


def test_tool_calls_errors_and_turns(tmp_path: Path) -> None:
    path = tmp_path / "s" / "p" / f"t_{SESSION}.jsonl"
    call = {"type": "toolCall", "id": "call_1", "name": "bash", "arguments": {"c": "CANARY"}}
    events = convert(
        path,
        header(),
        {
            "type": "message",
            "id": "u1",
            "timestamp": "2026-11-03T09:00:00.000Z",
            "message": {"role": "user", "content": "CANARY-PROMPT", "timestamp": 1},
        },
        assistant("a1", "2026-11-03T09:00:05.000Z", usage(5, 6), stop="toolUse", content=[call]),
        {
            "type": "message",
            "id": "r1",
            "timestamp": "2026-11-03T09:00:07.500Z",
            "message": {
                "role": "toolResult",
                "toolCallId": "call_1",
                "toolName": "bash",
                "content": [{"type": "text", "text": "CANARY-OUT"}],
                "isError": True,
            },
        },
        assistant(
            "a2", "2026-11-03T09:00:09.000Z", usage(7, 0), stop="error", errorMessage="overloaded"
        ),
    )
    [tool] = [e for e in events if e.kind == EventKind.TOOL_CALL]
    assert (tool.tool_name, tool.ok, tool.duration_ms) == ("bash", False, 2500.0)
    [error] = [e for e in events if e.kind == EventKind.API_ERROR]
    assert error.ok is False
    assert len(requests(events)) == 2  # the failed request's input was still billed
    assert {e.run_id for e in events} == {tool.run_id} and tool.run_id is not None


def test_tool_call_spanning_batches_keeps_its_start(tmp_path: Path) -> None:
    path = tmp_path / "s" / "p" / f"t_{SESSION}.jsonl"
    state = StreamState()
    call = {"type": "toolCall", "id": "call_9", "name": "read", "arguments": {}}
    convert(
        path,
        header(),
        assistant("a1", "2026-11-03T09:00:05.000Z", usage(1, 1), content=[call]),
        state=state,
    )
    later = convert(
        path,
        {
            "type": "message",
            "id": "r9",
            "timestamp": "2026-11-03T09:00:06.000Z",
            "message": {
                "role": "toolResult",
                "toolCallId": "call_9",
                "toolName": "read",
                "isError": False,
            },
        },
        state=state,
    )
    [tool] = later
    assert (tool.ok, tool.duration_ms, tool.session_id) == (True, 1000.0, SESSION)


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_roots_follow_pi_and_ccusage_variables(tmp_path: Path, platform: str) -> None:
    home = str(tmp_path / "h")
    env = {"HOME": home, "USERPROFILE": home}
    assert PiAgent().resolve_roots(env, platform) == [Path(home, ".pi", "agent", "sessions")]
    pi_own = {**env, "PI_CODING_AGENT_DIR": "/opt/pi", "PI_AGENT_DIR": "/data/s"}
    assert PiAgent().resolve_roots(pi_own, platform) == [Path("/opt/pi/sessions")]
    ccusage = {**env, "PI_AGENT_DIR": "/data/pi-sessions"}
    assert PiAgent().resolve_roots(ccusage, platform) == [Path("/data/pi-sessions")]
    listed = {**env, "PI_AGENT_DIR": "/a/s, /b/s"}
    assert PiAgent().resolve_roots(listed, platform) == [Path("/a/s"), Path("/b/s")]


# -- parity with ccusage 20 on a generated corpus --------------------------------------------


def generate(out: Path, *extra: str) -> Any:
    args = ["--sessions", "9", "--turns", "16", "--days", "6", "--forks", "--seed", "4", *extra]
    subprocess.run([sys.executable, str(GENERATOR), str(out), *args], check=True, timeout=60)
    return json.loads((out / "expected.json").read_text())


def ccusage_pi_daily(sessions: Path, home: Path) -> Any:
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    return ccusage_tool.run_agent_daily(executable, "pi", {"PI_AGENT_DIR": str(sessions)}, home)


@pytest.mark.parametrize("moved", [False, True], ids=["parents-found", "store-moved"])
def test_corpus_with_forks_counts_each_request_once(tmp_path: Path, moved: bool) -> None:
    """Forks copy their parent's history. agenttail counts a copied request once wherever
    the files are; ccusage 20.0.24 drops the copy only when it finds the parent at the path
    the fork's header names, else counts it again (the README's difference)."""
    corpus = tmp_path / "corpus"
    expected = generate(
        corpus, *(["--parent-root", "/home/dev/.pi/agent/sessions"] if moved else [])
    )
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp_path / "state"),
        "PI_AGENT_DIR": str(corpus / "root"),
    }
    ours_report = helpers.agenttail_daily(env)
    ours = ccusage_tool.day_rows(ours_report)
    assert ccusage_tool.model_rows(ours_report) == ccusage_tool.model_rows(expected)
    assert len(ours) >= 5
    assert ours == ccusage_tool.day_rows(expected)
    report = ccusage_pi_daily(corpus / "root", tmp_path / "home")
    theirs = ccusage_tool.day_rows(report, ccusage_tool.TOKEN_FIELDS)
    copies = ccusage_tool.day_rows(expected["copies"]) if moved else {}
    assert expected["copies"]["totals"]["total_tokens"] > 0
    assert theirs == ccusage_tool.add_rows(ours, copies)
    if not moved:  # per model too: ccusage names them "[pi] <model>"
        assert ccusage_tool.model_rows(report) == ccusage_tool.model_rows(expected)
