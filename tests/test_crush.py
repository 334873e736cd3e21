"""Crush: projects.json shapes, recorded cost per root session, seconds timestamps."""

from __future__ import annotations

import json
from pathlib import Path

from agenttail.agents.crush import project_databases, session_event


def test_projects_json_shapes() -> None:
    current = {
        "projects": [
            {"path": "/w/a", "data_dir": "/w/a/.crush", "last_accessed": "2026-01-01T00:00:00Z"},
            {"path": "/w/b", "data_dir": ".crush"},
        ]
    }
    assert project_databases(json.dumps(current).encode()) == [
        ("/w/a", Path("/w/a/.crush/crush.db")),
        ("/w/b", Path("/w/b/.crush/crush.db")),
    ]
    keyed = {"x": {"path": "/w/c", "data_dir": ".crush"}}
    assert project_databases(json.dumps(keyed).encode()) == [("/w/c", Path("/w/c/.crush/crush.db"))]
    assert project_databases(b'[{"path": "/w/d"}]') == [("/w/d", Path("/w/d/.crush/crush.db"))]
    assert project_databases(b"not json") == []


def test_root_session_carries_recorded_cost_not_tokens() -> None:
    row = {
        "id": "s1",
        "parent_session_id": None,
        "title": "CANARY-TITLE",
        "message_count": 12,
        "prompt_tokens": 48_000,
        "completion_tokens": 900,
        "cost": 0.4375,
        "updated_at": 1_767_225_600,  # seconds
        "created_at": 1_767_220_000,
    }
    event = session_event("crush", row, "/w/a")
    assert event is not None
    assert event.cost_nusd == event.recorded_cost_nusd == 437_500_000
    assert event.tokens_known is False
    assert event.ts_ms == 1_767_225_600_000
    assert event.total_tokens == 0  # prompt_tokens is the last request's context, not a total
    assert event.context_tokens == 48_000
    assert event.project == "/w/a"
    assert "CANARY" not in repr(event)


def test_subagent_and_empty_sessions_do_not_count() -> None:
    child = {"id": "c", "parent_session_id": "s1", "cost": 0.1, "updated_at": 5}
    assert session_event("crush", child, None) is None
    empty = {"id": "e", "cost": 0.0, "prompt_tokens": 0, "completion_tokens": 0, "updated_at": 5}
    assert session_event("crush", empty, None) is None


def test_same_session_reread_is_one_event() -> None:
    row = {"id": "s1", "cost": 0.2, "updated_at": 10}
    grown = {**row, "cost": 0.3, "updated_at": 20}
    first, second = session_event("crush", row, None), session_event("crush", grown, None)
    assert first is not None and second is not None
    assert first.event_id == second.event_id
    assert second.outranks(first)
