"""Warp exchanges: requests without tokens, outcome from output_status, naive UTC times."""

from __future__ import annotations

from agenttail.agents.warp import exchange_event, outcome
from agenttail.events import parse_iso_ms


def test_times_and_outcomes() -> None:
    assert parse_iso_ms("2026-03-10 09:30:00.250") == 1_773_135_000_250
    assert parse_iso_ms("not a time") is None
    assert outcome('"Completed"') is True and outcome("Failed") is False
    assert outcome("InProgress") is None and outcome(None) is None


def test_exchange_is_a_request_whose_tokens_are_not_recorded() -> None:
    row = {
        "exchange_id": "ex-1",
        "conversation_id": "c-1",
        "start_ts": "2026-03-10 09:30:00.250",
        "working_directory": "/home/dev/app",
        "output_status": '"Completed"',
        "model_id": "claude-4-sonnet",
    }
    event = exchange_event(row)
    assert event is not None
    assert event.tokens_known is False and event.total_tokens == 0 and event.cost_nusd is None
    assert (event.session_id, event.project, event.ok) == ("c-1", "/home/dev/app", True)
    again = exchange_event({**row, "output_status": '"Failed"'})
    assert again is not None and again.event_id == event.event_id and again.ok is False
    assert exchange_event({**row, "start_ts": None}) is None
    running = exchange_event({**row, "output_status": '"InProgress"'})
    assert running is not None and event.outranks(running)
