"""The clock seam: wall time for timestamps, monotonic time for every interval."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


SYSTEM_CLOCK: Clock = SystemClock()


def now_ms(clock: Clock = SYSTEM_CLOCK) -> int:
    return int(clock.now().timestamp() * 1000)
