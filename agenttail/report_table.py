"""Report tables for people: whole numbers when they fit (and always when piped), compact
numbers (1.2M) and short headers on a narrow terminal, and never a date or cost cut to "…"."""

from __future__ import annotations

import sys
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from agenttail.display import compact_number, unique_prefixes

# (header, narrow header, key)
NUMBERS = (
    ("input", "in", "input_tokens"),
    ("output", "out", "output_tokens"),
    ("cache read", "c.read", "cache_read_tokens"),
    ("cache write", "c.write", "cache_write_tokens"),
    ("total", "total", "total_tokens"),
    ("requests", "req", "requests"),
)
HEADERS = {"session_id": "session"}
PIPED_WIDTH = 1000  # piped output is never cut: whole numbers matter more than the width


def _table(rows: list[dict[str, Any]], totals: dict[str, Any], label: str, narrow: bool) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False, collapse_padding=True)
    number = compact_number if narrow else (lambda value: f"{value:,}")
    labels = [str(row[label]) for row in rows]
    if narrow and label == "session_id":
        short = unique_prefixes(labels)
        labels = [short[text] for text in labels]
    table.add_column(HEADERS.get(label, label), footer="total", overflow="fold")
    for header, narrow_header, key in NUMBERS:
        table.add_column(
            narrow_header if narrow else header,
            footer=number(totals[key]),
            justify="right",
            no_wrap=True,
        )
    table.add_column("$", footer=f"{totals['cost_usd']:,.2f}", justify="right", no_wrap=True)
    for text, row in zip(labels, rows, strict=True):
        table.add_row(
            text, *(number(row[key]) for *_headers, key in NUMBERS), f"{row['cost_usd']:,.2f}"
        )
    return table


def print_report_table(
    rows: list[dict[str, Any]],
    totals: dict[str, Any],
    label: str,
    console: Console | None = None,
) -> None:
    """Full headers and numbers when they fit the terminal; the narrow form when not."""
    console = console or Console()
    if not console.is_terminal:
        console = Console(file=sys.stdout, width=PIPED_WIDTH)
        console.print(_table(rows, totals, label, narrow=False))
        return
    full = _table(rows, totals, label, narrow=False)
    unbounded = console.options.update_width(PIPED_WIDTH)
    if console.measure(full, options=unbounded).maximum <= console.width:
        console.print(full)
    else:
        console.print(_table(rows, totals, label, narrow=True))
