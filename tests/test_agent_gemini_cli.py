"""Gemini CLI session files -> events: token meaning, re-appends, legacy files, rewinds."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from agenttail.agents.base import AgentContext
from agenttail.agents.gemini_cli import GeminiSession, gemini_tokens
from agenttail.events import EventKind, MetricEvent
from agenttail.readers.base import Record
from agenttail.readers.json_document import JsonDocumentReader
from agenttail.readers.jsonl import JsonlReader
from tests.agent_files import Tail, latest, write_jsonl
from tests.conftest import SAMPLES

SESSION = "5bc8fbbc-bde5-4099-8164-d8399f767c45"
META = {"sessionId": SESSION, "projectHash": "ab" * 32, "startTime": "2026-05-17T11:07:00.000Z"}
TOKENS = {"input": 15327, "output": 23, "cached": 11526, "thoughts": 919, "tool": 7, "total": 16276}


def convert(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    return GeminiSession(context).events(records)


def chats(tmp_path: Path) -> Path:
    return tmp_path / ".gemini" / "tmp" / "shop" / "chats"


def reply(message_id: str, ts: str, **extra: object) -> dict[str, object]:
    return {"id": message_id, "timestamp": ts, "type": "gemini", "content": "CANARY", **extra}


def requests(events: Sequence[MetricEvent]) -> list[MetricEvent]:
    return [e for e in latest(events).values() if e.kind == EventKind.LLM_REQUEST]


def test_prompt_includes_cached_and_thoughts_are_billed_as_output() -> None:
    counts = gemini_tokens(TOKENS)
    assert counts.input_tokens == 15327 - 11526 + 7  # fresh prompt plus tool-use prompt
    assert counts.cache_read_tokens == 11526
    assert counts.output_tokens == 23 + 919
    assert counts.reasoning_tokens == 919
    assert counts.all_input + counts.output_tokens == TOKENS["total"]


def test_thoughts_already_inside_candidates_are_not_added_twice() -> None:
    tokens = {"input": 1000, "output": 300, "cached": 0, "thoughts": 200, "tool": 0, "total": 1300}
    assert gemini_tokens(tokens).output_tokens == 300


def test_a_reappended_message_is_one_request_with_its_last_copy(tmp_path: Path) -> None:
    path = chats(tmp_path) / "session-2026-05-17T11-07-5bc8fbbc.jsonl"
    first = reply("m1", "2026-05-17T11:07:32.000Z", model="gemini-2.5-pro")
    call = {"id": "c1", "name": "run_shell_command", "args": {}, "status": "executing"}
    write_jsonl(
        path,
        META,
        {"id": "u1", "timestamp": "2026-05-17T11:07:30.000Z", "type": "user", "content": "x"},
        {**first, "toolCalls": [call]},
        {**first, "toolCalls": [call], "tokens": TOKENS},
        {**first, "toolCalls": [{**call, "status": "success"}], "tokens": TOKENS},
        {"$set": {"lastUpdated": "2026-05-17T11:08:00.000Z"}},
    )
    events = Tail("gemini_cli", path, JsonlReader(), convert).read()
    (request,) = requests(events)
    assert request.session_id == SESSION  # from the metadata line, not the file name
    assert request.tokens_known and request.input_tokens == 3808 and request.output_tokens == 942
    assert request.cost_nusd is not None and request.cost_nusd > 0
    assert request.project == "shop"
    (tool,) = [e for e in latest(events).values() if e.kind == EventKind.TOOL_CALL]
    assert tool.tool_name == "run_shell_command" and tool.ok is True
    assert tool.run_id == request.run_id is not None


def test_tokens_arriving_in_a_later_read_replace_the_unknown_copy(tmp_path: Path) -> None:
    path = chats(tmp_path) / "session-2026-05-17T11-07-5bc8fbbc.jsonl"
    message = reply("m1", "2026-05-17T11:07:32.000Z", model="gemini-2.5-flash")
    write_jsonl(path, META, message)
    tail = Tail("gemini_cli", path, JsonlReader(), convert)
    (early,) = tail.read()
    assert not early.tokens_known and early.cost_nusd is None
    write_jsonl(path, {**message, "tokens": TOKENS})
    (late,) = tail.read()
    assert late.event_id == early.event_id and late.outranks(early)
    assert late.session_id == SESSION  # the metadata line was read in the first batch


def test_a_legacy_json_beside_its_migrated_jsonl_counts_once(tmp_path: Path) -> None:
    folder = chats(tmp_path)
    messages = [
        reply("m1", "2026-05-17T11:07:32.000Z", model="gemini-2.5-pro", tokens=TOKENS),
        reply("m2", "2026-05-17T23:59:59.000Z", model="gemini-2.5-pro", tokens=TOKENS),
    ]
    legacy = folder / "session-2026-05-17T11-07-5bc8fbbc.json"
    legacy.parent.mkdir(parents=True)
    legacy.write_text(json.dumps({**META, "messages": messages}, indent=2), encoding="utf-8")
    migrated = legacy.with_suffix(".jsonl")
    write_jsonl(migrated, META, *messages, {"$set": {"sessionId": SESSION}})
    events = Tail("gemini_cli", legacy, JsonDocumentReader("messages"), convert).read()
    events += Tail("gemini_cli", migrated, JsonlReader(), convert).read()
    kept = requests(events)
    assert len(kept) == 2
    assert sum(e.input_tokens for e in kept) == 2 * 3808


def test_a_session_moved_from_its_hash_folder_to_its_slug_folder_is_not_counted_again(
    tmp_path: Path,
) -> None:
    """Gemini CLI renames ``tmp/<sha256>`` to ``tmp/<slug>``: the files are read at a new path."""
    old = tmp_path / ".gemini" / "tmp" / ("ab" * 32) / "chats" / "session-x.jsonl"
    write_jsonl(old, META, reply("m1", "2026-05-17T11:07:32.000Z", model="m", tokens=TOKENS))
    events = Tail("gemini_cli", old, JsonlReader(), convert).read()
    new = chats(tmp_path) / old.name
    new.parent.mkdir(parents=True)
    old.rename(new)
    events += Tail("gemini_cli", new, JsonlReader(), convert).read()
    assert len(latest(events)) == 1


def test_error_messages_are_counted_without_their_text(tmp_path: Path) -> None:
    path = chats(tmp_path) / "session-2026-05-17T11-07-5bc8fbbc.jsonl"
    error = {"id": "e1", "timestamp": "2026-05-17T11:07:40.000Z", "type": "error"}
    write_jsonl(path, META, error | {"content": "CANARY quota exceeded"})
    (event,) = Tail("gemini_cli", path, JsonlReader(), convert).read()
    assert event.kind == EventKind.API_ERROR and event.ok is False
    assert "CANARY" not in repr(event)


def test_a_set_checkpoint_of_the_whole_history_adds_nothing_twice(tmp_path: Path) -> None:
    path = chats(tmp_path) / "session-2026-05-17T11-07-5bc8fbbc.jsonl"
    first = reply("m1", "2026-05-17T11:07:32.000Z", model="gemini-2.5-pro")
    second = reply("m2", "2026-05-17T11:08:32.000Z", model="gemini-2.5-pro", tokens=TOKENS)
    checkpoint = {"$set": {"messages": [first | {"tokens": TOKENS}, second]}}
    write_jsonl(path, META, first, checkpoint)
    kept = requests(Tail("gemini_cli", path, JsonlReader(), convert).read())
    assert sorted(e.attrs["message_id"] for e in kept) == ["m1", "m2"]
    assert all(e.tokens_known and e.input_tokens == 3808 for e in kept)


def test_rewound_messages_stay_billed(tmp_path: Path) -> None:
    path = chats(tmp_path) / "session-2026-05-17T11-07-5bc8fbbc.jsonl"
    write_jsonl(
        path,
        META,
        reply("m1", "2026-05-17T11:07:32.000Z", model="gemini-2.5-pro", tokens=TOKENS),
        {"$rewindTo": "m1"},
        reply("m2", "2026-05-17T11:09:00.000Z", model="gemini-2.5-pro", tokens=TOKENS),
    )
    assert len(requests(Tail("gemini_cli", path, JsonlReader(), convert).read())) == 2


def test_a_subagent_session_is_its_own_and_names_its_parent(tmp_path: Path) -> None:
    path = chats(tmp_path) / SESSION / "9f1c2d3e-0000-4000-8000-000000000001.jsonl"
    write_jsonl(
        path,
        {**META, "sessionId": "9f1c2d3e-0000-4000-8000-000000000001", "kind": "subagent"},
        reply("s1", "2026-05-17T11:08:00.000Z", model="gemini-2.5-flash", tokens=TOKENS),
    )
    (event,) = requests(Tail("gemini_cli", path, JsonlReader(), convert).read())
    assert event.session_id.startswith("9f1c2d3e") and event.is_sidechain
    assert event.attrs["parent_session_id"] == SESSION and event.project == "shop"


@pytest.mark.skipif(not SAMPLES.is_dir(), reason="shared samples absent")
def test_public_sample_has_five_responses_without_tokens_and_four_tool_calls(
    tmp_path: Path,
) -> None:
    path = chats(tmp_path) / "gemini-session-simple.jsonl"
    path.parent.mkdir(parents=True)
    path.write_bytes((SAMPLES / "git-ai" / "gemini-session-simple.jsonl").read_bytes())
    events = list(latest(Tail("gemini_cli", path, JsonlReader(), convert).read()).values())
    replies = [e for e in events if e.kind == EventKind.LLM_REQUEST]
    assert len(replies) == 5 and not any(e.tokens_known for e in replies)
    assert sum(e.total_tokens for e in replies) == 0
    tools = sorted(e.tool_name or "" for e in events if e.kind == EventKind.TOOL_CALL)
    assert tools == ["read_file", "read_file", "replace", "replace"]
    assert {e.session_id for e in events} == {"gemini-session-simple"}  # no metadata line
