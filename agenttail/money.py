"""Money: exact integer nanodollars everywhere, dollars only at the edge (JSON and tables).

A module of its own so that readers (reports, the status line) get it without the event model.
"""

from __future__ import annotations

NANOS_PER_USD = 1_000_000_000


def usd(nusd: int | None) -> float | None:
    """Dollars for display and JSON, from exact integer nanodollars."""
    return None if nusd is None else nusd / NANOS_PER_USD


def nusd_from_usd(value: object) -> int | None:
    """Nanodollars from a dollar amount a source recorded (a JSON number), exactly as written."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value != value or value in (float("inf"), float("-inf")) or value < 0:
        return None
    from decimal import ROUND_HALF_EVEN, Decimal

    return int((Decimal(repr(value)) * NANOS_PER_USD).to_integral_value(ROUND_HALF_EVEN))
