"""When to retry and how long to wait: Retry-After (seconds or HTTP-date) and jittered backoff.

Waits are measured on the monotonic clock (a wall-clock jump neither stalls nor hurries a
retry); only the persisted ``next_attempt_at`` uses wall time, and it is clamped on restart.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

RETRY_AFTER_CAP_S = 900.0


class FailureClass(StrEnum):
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    HTTP_4XX = "http_4xx"
    HTTP_5XX = "http_5xx"
    RATE_LIMITED = "rate_limited"


def status_class(status: int) -> FailureClass:
    if status == 429:
        return FailureClass.RATE_LIMITED
    return FailureClass.HTTP_5XX if status >= 500 else FailureClass.HTTP_4XX


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait, from ``Retry-After: 120`` or ``Retry-After: <HTTP-date>``; None if bad."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), RETRY_AFTER_CAP_S)
    from email.utils import parsedate_to_datetime  # ~6 ms: `status` imports this module

    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(max(0.0, (moment - now).total_seconds()), RETRY_AFTER_CAP_S)


@dataclass
class Backoff:
    """The collector's defaults: 5 s, x1.5, +-50 % jitter, capped."""

    initial: float = 5.0
    multiplier: float = 1.5
    maximum: float = 300.0
    jitter: float = 0.5
    rng: random.Random = field(default_factory=random.Random)

    def delay(self, attempt: int) -> float:
        """Wait after the ``attempt``-th consecutive failure (1-based)."""
        base = min(self.maximum, self.initial * self.multiplier ** max(0, attempt - 1))
        spread = base * self.jitter
        return min(self.maximum, max(0.0, base + self.rng.uniform(-spread, spread)))

    def wait(self, attempt: int, retry_after: float | None) -> float:
        """A server's Retry-After wins when it asks for longer than our backoff."""
        backoff = self.delay(attempt)
        return backoff if retry_after is None else max(backoff, retry_after)
