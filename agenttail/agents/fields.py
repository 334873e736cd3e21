"""Reading fields of untrusted JSON records without exceptions (bad input is data)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from agenttail.events import TokenCounts


def as_dict(value: object) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_int(value: object) -> int:
    """A count from a lenient source (numbers, numeric strings); anything else is 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value == value:
        return int(value)
    if isinstance(value, str):
        try:
            return int(float(value))
        except ValueError:
            return 0
    return 0


def with_total_fallback(tokens: TokenCounts, total: object) -> TokenCounts:
    """A recorded ``total`` larger than the parts, with no output, is output (a provider that
    reported only a total): ccusage's rule for Pi, OpenClaw, Kimi and Droid usage."""
    surplus = as_int(total) - tokens.all_input - tokens.output_tokens
    if surplus > 0 and tokens.output_tokens == 0:
        return replace(tokens, output_tokens=surplus, reasoning_tokens=0)
    return tokens
