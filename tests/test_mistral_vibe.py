"""Mistral Vibe meta.json: the running total grows in place, alias -> model, sub-agents."""

from __future__ import annotations

from typing import Any

from agenttail.agents.mistral_vibe import active_model, session_event


def meta(prompt: int, completion: int, **extra: Any) -> dict[str, Any]:
    return {
        "session_id": "s-1",
        "start_time": "2026-03-10T10:00:00+00:00",
        "end_time": "2026-03-10T10:05:00+00:00",
        "environment": {"working_directory": "/home/dev/app"},
        "title": "CANARY-TITLE",
        "stats": {
            "session_prompt_tokens": prompt,
            "session_completion_tokens": completion,
            "session_cost": 0.01,
        },
        "config": {
            "active_model": "devstral",
            "models": [{"name": "devstral-medium-2507", "alias": "devstral"}],
        },
        **extra,
    }


def test_alias_resolves_to_the_api_model_name() -> None:
    assert active_model(meta(1, 1)) == "devstral-medium-2507"
    assert active_model({"config": {"active_model": "x"}}) == "x"
    assert active_model({}) is None


def test_running_total_is_one_event_that_grows() -> None:
    first, later = session_event(meta(1000, 100), "f"), session_event(meta(5000, 700), "f")
    assert first is not None and later is not None
    assert first.event_id == later.event_id
    assert later.outranks(first)
    assert (later.input_tokens, later.output_tokens) == (5000, 700)
    assert later.project == "/home/dev/app"
    assert later.recorded_cost_nusd == 10_000_000
    assert "CANARY" not in repr(later)


def test_subagent_session_is_a_sidechain_and_empty_sessions_are_skipped() -> None:
    child = session_event(meta(10, 1, parent_session_id="s-0"), "session_20260310_1000_s2")
    assert child is not None and child.is_sidechain
    assert child.session_id == "session_20260310_1000_s2"
    assert session_event(meta(0, 0), "f") is None
