"""Factory Droid: cumulative sidecar totals become deltas, transcript tool calls, parity."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import AgentContext, StreamRef, StreamState
from agenttail.agents.droid import DroidAgent, normalize_model, settings_events, transcript_events
from agenttail.events import EventKind, MetricEvent, parse_iso_ms
from agenttail.readers.base import Record
from scripts import ccusage_tool
from tests import helpers

CCUSAGE_DIR = ccusage_tool.default_dir()  # read at import: test isolation clears its variable
ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_droid_corpus.py"
SID = "052cb8d0-4616-488a-99fe-bfbbbe9429b3"


def settings(path: Path, usage: dict[str, int], mtime: float, **extra: Any) -> dict[str, Any]:
    doc = {
        "model": "Claude-Sonnet-4.5-[Anthropic]",
        "providerLock": "anthropic",
        "providerLockTimestamp": "2026-11-03T09:00:00.000Z",
        "tokenUsage": usage,
        **extra,
    }
    path.write_text(json.dumps(doc))
    os.utime(path, (mtime, mtime))
    return doc


def usage(i: int, o: int, read: int = 0, write: int = 0, thinking: int = 0) -> dict[str, int]:
    return {
        "inputTokens": i,
        "outputTokens": o,
        "cacheReadTokens": read,
        "cacheCreationTokens": write,
        "thinkingTokens": thinking,
    }


def context(path: Path, kind: int, state: StreamState) -> AgentContext:
    spec = DroidAgent.streams[kind]
    return AgentContext(StreamRef("droid", spec, path, spec.session_id(path)), state)


def requests(events: list[MetricEvent]) -> list[MetricEvent]:
    return [e for e in events if e.kind == EventKind.LLM_REQUEST]


def test_running_totals_become_deltas_dated_when_seen(tmp_path: Path) -> None:
    folder = tmp_path / "-home-dev-shop"
    folder.mkdir()
    path = folder / f"{SID}.settings.json"
    (folder / f"{SID}.jsonl").write_text(
        json.dumps({"type": "session_start", "id": SID, "cwd": "/home/dev/shop"}) + "\n"
    )
    state = StreamState()
    later = parse_iso_ms("2026-11-04T18:30:00Z")
    assert later is not None

    def read(doc: dict[str, Any]) -> list[MetricEvent]:
        return settings_events([Record(doc, -1)], context(path, 0, state))

    first = read(settings(path, usage(1000, 200, 5000, 300, thinking=50), 1_793_700_000))
    again = read(settings(path, usage(1000, 200, 5000, 300, thinking=50), 1_793_800_000))
    grown = read(
        settings(
            path,
            usage(1600, 260, 9000, 300, thinking=80),
            later / 1000,
            model="custom:GPT-5-[OpenAI]-0",
            providerLock="openai",
        )
    )
    [a] = requests(first)
    assert again == []  # a re-emitted total is no new usage
    [b] = requests(grown)
    assert (a.input_tokens, a.output_tokens, a.reasoning_tokens) == (1000, 250, 50)
    assert (a.cache_read_tokens, a.cache_write_tokens) == (5000, 300)
    assert a.ts_ms == parse_iso_ms("2026-11-03T09:00:00Z")  # first sight: the provider lock
    assert (a.model, a.project, a.session_id) == ("claude-sonnet-4-5", "/home/dev/shop", SID)
    assert (b.input_tokens, b.output_tokens, b.reasoning_tokens, b.cache_read_tokens) == (
        600,
        90,
        30,
        4000,
    )
    assert (b.ts_ms, b.model) == (later, "gpt-5-0")  # the growth: when the sidecar changed
    assert b.cost_nusd is not None  # priced as gpt-5
    assert a.event_id != b.event_id


def test_total_only_usage_and_model_from_the_transcript(tmp_path: Path) -> None:
    path = tmp_path / f"{SID}.settings.json"
    reminder = {
        "type": "message",
        "message": {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "<system-reminder>Model: Claude Opus 4.5 Thinking [Anthropic]",
                }
            ],
        },
    }
    (tmp_path / f"{SID}.jsonl").write_text(json.dumps(reminder) + "\n")
    doc = {"providerLock": "anthropic", "tokenUsage": {"totalTokens": 456}}
    path.write_text(json.dumps(doc))
    [event] = settings_events([Record(doc, -1)], context(path, 0, StreamState()))
    assert (event.output_tokens, event.model) == (456, "claude-opus-4-5-thinking")


def test_transcript_tool_calls(tmp_path: Path) -> None:
    path = tmp_path / f"{SID}.jsonl"
    lines: list[dict[str, Any]] = [
        {"type": "session_start", "id": SID, "cwd": "/home/dev/shop"},
        {
            "type": "message",
            "timestamp": "2026-11-03T09:00:01.000Z",
            "message": {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "call_1", "name": "Read", "input": {"p": "CANARY"}}
                ],
            },
        },
        {
            "type": "message",
            "timestamp": "2026-11-03T09:00:03.500Z",
            "message": {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "call_1",
                        "content": "CANARY",
                        "is_error": True,
                    }
                ],
            },
        },
    ]
    events = transcript_events(
        [Record(x, n) for n, x in enumerate(lines)], context(path, 1, StreamState())
    )
    [tool] = events
    assert (tool.tool_name, tool.ok, tool.duration_ms, tool.project) == (
        "Read",
        False,
        2500.0,
        "/home/dev/shop",
    )


def test_roots_and_ccusage_list(tmp_path: Path) -> None:
    env = {"HOME": str(tmp_path), "USERPROFILE": str(tmp_path)}
    for platform in ("linux", "darwin", "win32"):
        assert DroidAgent().resolve_roots(env, platform) == [tmp_path / ".factory" / "sessions"]
        listed = {**env, "DROID_SESSIONS_DIR": "/a, /b"}
        assert DroidAgent().resolve_roots(listed, platform) == [Path("/a"), Path("/b")]


def test_model_names_as_ccusage_reports_them() -> None:
    assert (
        normalize_model("custom:Claude-Opus-4.5-Thinking-[Anthropic]-0")
        == "claude-opus-4-5-thinking-0"
    )
    assert normalize_model("Claude-Sonnet-4-[Anthropic]") == "claude-sonnet-4"
    assert normalize_model("gemini-2.5-pro") == "gemini-2-5-pro"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    out = tmp_path_factory.mktemp("droid-corpus")
    subprocess.run(
        [sys.executable, str(GENERATOR), str(out), "--sessions", "12", "--seed", "4"],
        check=True,
        timeout=60,
    )
    return out, json.loads((out / "expected.json").read_text())


def test_corpus_totals(corpus: tuple[Path, Any], tmp_path: Path) -> None:
    out, expected = corpus
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp_path / "s"),
        "DROID_SESSIONS_DIR": str(out / "root"),
    }
    ours = ccusage_tool.day_rows(helpers.agenttail_daily(env))
    assert len(ours) >= 4
    assert ours == ccusage_tool.day_rows(expected)


def test_real_ccusage_reports_thinking_outside_output(
    corpus: tuple[Path, Any], tmp_path: Path
) -> None:
    """Same days and totals as agenttail; ccusage's outputTokens leave thinking out (its
    totalTokens keep it), agenttail's output includes it (the README's difference)."""
    executable = helpers.ccusage_or_skip(CCUSAGE_DIR)
    out, expected = corpus
    report = ccusage_tool.run_agent_daily(
        executable, "droid", {"DROID_SESSIONS_DIR": str(out / "root")}, tmp_path / "home"
    )
    theirs = ccusage_tool.day_rows(report, ccusage_tool.TOKEN_FIELDS)
    assert theirs == ccusage_tool.day_rows(expected["ccusage"])
    assert {d: r["total_tokens"] for d, r in theirs.items()} == {
        r["date"]: r["total_tokens"] for r in expected["daily"]
    }
