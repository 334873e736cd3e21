"""The range every stored event must lie in, enforced once where events reach the store.

A count, cost or size outside ``0..2**53`` (the integers a JSON number holds exactly), a time
outside 1970..9999 or a non-finite float is corrupt input: the event is skipped and counted
for its stream with a reason (``status``, ``doctor``), never an exception that would lose the
rest of the file. Sums of valid values stay SQLite integers. A latency that is negative or not
finite is unknown, not a reason to drop the request's tokens: it becomes ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from agenttail.events import TOKEN_FIELDS, MetricEvent

MAX_VALUE = 2**53
MAX_TS_MS = 253_402_300_800_000  # 10000-01-01T00:00:00Z: the last instant a date can show

_COUNTS = (*TOKEN_FIELDS, "cost_nusd", "recorded_cost_nusd", "context_tokens", "history_len")
_LATENCIES = ("duration_ms", "ttft_ms")


def invalid_reason(event: MetricEvent) -> str | None:
    """Why ``event`` cannot be stored, or None when it can."""
    if event.ts_ms == 0:
        return "no timestamp"
    if event.ts_ms < 0:
        return "dated before 1970"
    if event.ts_ms >= MAX_TS_MS:
        return "dated after 9999"
    for name in _COUNTS:
        value = getattr(event, name)
        if value is not None and not 0 <= value <= MAX_VALUE:
            return f"{name} {value} outside 0..2^53"
    return None


def valid_events(events: Iterable[MetricEvent]) -> tuple[list[MetricEvent], list[str]]:
    """The events that may be stored, and one reason per skipped event (latencies cleaned)."""
    kept: list[MetricEvent] = []
    reasons: list[str] = []
    for event in events:
        reason = invalid_reason(event)
        if reason is not None:
            reasons.append(f"{event.kind} in session {event.session_id}: {reason}")
            continue
        for name in _LATENCIES:
            value = getattr(event, name)
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_VALUE):
                setattr(event, name, None)
        kept.append(event)
    return kept, reasons
