"""The token conventions agents share (events.py), checked by hand-computed numbers."""

from __future__ import annotations

from agenttail.events import EventKind, MetricEvent, TokenCounts, delta_from_total, last_copy_wins


def test_inclusive_input_splits_cached_out_of_input() -> None:
    # OpenAI: input_tokens 1200 of which 200 cached; output 300 of which 100 reasoning.
    tokens = TokenCounts.from_inclusive_input(1200, 200, output=300, reasoning=100)
    assert (tokens.input_tokens, tokens.cache_read_tokens) == (1000, 200)
    assert (tokens.output_tokens, tokens.reasoning_tokens) == (300, 100)
    assert tokens.all_input == 1200
    # Gemini reports thoughts beside output: the house output includes them.
    gemini = TokenCounts.from_inclusive_input(
        500, 0, 40, output=70, reasoning=30, reasoning_in_output=False
    )
    assert (gemini.input_tokens, gemini.cache_write_tokens) == (460, 40)
    assert (gemini.output_tokens, gemini.reasoning_tokens) == (100, 30)
    # A cached count above input (bad data) never gives negative input.
    assert TokenCounts.from_inclusive_input(10, 50).input_tokens == 0


def test_running_totals_become_deltas_once() -> None:
    state: dict[str, object] = {}
    first = delta_from_total(state, TokenCounts(input_tokens=100, output_tokens=10))
    assert first == TokenCounts(input_tokens=100, output_tokens=10)
    # The same total re-emitted: nothing new.
    assert delta_from_total(state, TokenCounts(input_tokens=100, output_tokens=10)) is None
    grown = delta_from_total(
        state, TokenCounts(input_tokens=250, output_tokens=30, cache_read_tokens=7)
    )
    assert grown == TokenCounts(input_tokens=150, output_tokens=20, cache_read_tokens=7)
    # A total that shrank: the counter restarted, the new total is all new usage.
    restarted = delta_from_total(state, TokenCounts(input_tokens=40, output_tokens=5))
    assert restarted == TokenCounts(input_tokens=40, output_tokens=5)
    # The state is JSON-able (it is committed with the watermark).
    assert state["running_total"] == [40, 5, 0, 0, 0, 0]


def test_last_copy_wins_orders_copies_by_position() -> None:
    def copy(position: int) -> MetricEvent:
        event = MetricEvent("e", EventKind.LLM_REQUEST, "gemini", "s", 0, output_tokens=5)
        return last_copy_wins(event, position)

    assert copy(4096).outranks(copy(128))
    assert not copy(128).outranks(copy(4096))
    assert copy(-1).seq == 0
