"""How numbers and ids are shown to a person: compact when the terminal is narrow, whole when
piped, and ids cut only where they stay unique."""

from __future__ import annotations

from collections.abc import Iterable

from agenttail.analytics import Usage
from agenttail.money import NANOS_PER_USD

_UNITS = (("k", 1_000), ("M", 1_000_000), ("B", 1_000_000_000), ("T", 1_000_000_000_000))


def compact_number(value: int) -> str:
    """``1234567`` as ``1.2M``; below ten thousand the number is shown whole (``9,999``)."""
    if abs(value) < 10_000:
        return f"{value:,}"
    for unit, scale in _UNITS:
        scaled = value / scale
        text = f"{scaled:.1f}"
        if abs(float(text)) >= 100:
            text = f"{scaled:.0f}"
        if abs(float(text)) < 1000 or unit == _UNITS[-1][0]:
            return text + unit
    raise AssertionError("unreachable")  # pragma: no cover


def dollars(usage: Usage, digits: int = 2) -> str:
    """``$1.23``; "unpriced" when no request has a price (never $0), and a ``*`` when some
    requests are left out of the sum."""
    if usage.requests and usage.unpriced_requests == usage.requests:
        return "unpriced"
    partial = "*" if usage.unpriced_requests else ""
    return f"${usage.cost_nusd / NANOS_PER_USD:,.{digits}f}{partial}"


def compact_bytes(value: int) -> str:
    """``1536`` as ``1.5 KiB``."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def unique_prefixes(ids: Iterable[str], minimum: int = 8) -> dict[str, str]:
    """Each id cut to the shortest prefix (at least ``minimum`` characters) that no other id
    shares, so two ids never look the same (as git shortens commit ids)."""
    ordered = sorted(set(ids))
    shown: dict[str, str] = {}
    for index, text in enumerate(ordered):
        neighbours = ordered[max(0, index - 1) : index] + ordered[index + 1 : index + 2]
        shared = max((_common_prefix(text, other) for other in neighbours), default=0)
        shown[text] = text[: max(minimum, shared + 1)]
    return shown


def _common_prefix(a: str, b: str) -> int:
    count = 0
    for left, right in zip(a, b, strict=False):
        if left != right:
            break
        count += 1
    return count
