"""``report daily|weekly|monthly|series --chart``: a plain-text bar chart under the table, one
bar per row (a period, or a period and group), that fits 80 columns (and survives a pipe: ASCII
only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

WIDTH = 80
BAR = "#"
LABEL_WIDTH = 40  # longer labels are cut so a bar keeps at least half the width


def chart_values(rows: Sequence[dict[str, Any]], label: str) -> tuple[str, list[tuple[str, float]]]:
    """Cost per row when any row is priced, else total tokens (cost is never shown as $0);
    calls for tool rows."""
    if any("calls" in row for row in rows):
        return "tool calls", [(str(row[label]), float(row["calls"])) for row in rows]
    if any(row.get("cost_usd") is not None for row in rows):
        return "cost (USD)", [(str(row[label]), float(row.get("cost_usd") or 0)) for row in rows]
    return "total tokens", [(str(row[label]), float(row["total_tokens"])) for row in rows]


def bar_lines(values: Sequence[tuple[str, float]], width: int = WIDTH) -> list[str]:
    """``label | ####   value``; the longest bar is the largest value, the others in
    proportion (rounded to whole characters)."""
    if not values:
        return []
    values = [(label[:LABEL_WIDTH], value) for label, value in values]
    shown = [f"{value:,.2f}" if value % 1 else f"{value:,.0f}" for _label, value in values]
    label_width = max(len(label) for label, _value in values)
    value_width = max(len(text) for text in shown)
    bar_width = max(width - label_width - value_width - 4, 10)
    top = max(value for _label, value in values)
    lines = []
    for (label, value), text in zip(values, shown, strict=True):
        length = round(bar_width * value / top) if top > 0 else 0
        lines.append(f"{label:<{label_width}} |{BAR * length:<{bar_width}} {text:>{value_width}}")
    return lines


def print_chart(rows: Sequence[dict[str, Any]], label: str, per: str | None = None) -> None:
    """The chart of ``rows`` labelled by their ``label`` field, titled "<what> per <per>"."""
    import click

    title, values = chart_values(rows, label)
    if not values:
        return
    click.echo(f"\n{title} per {per or label}")
    for line in bar_lines(values):
        click.echo(line)
