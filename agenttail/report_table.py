"""Report tables for people: whole numbers when they fit (and always when piped), compact
numbers (1.2M) and short headers on a narrow terminal, and never a date or cost cut to "…"."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
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


def cost_cell(row: dict[str, Any]) -> str:
    """Dollars, "unpriced" when no request of the row has a price (never $0), and a ``*``
    when some requests are left out of the sum."""
    cost = row.get("cost_usd")
    if cost is None:
        return "unpriced"
    return f"{cost:,.2f}" + ("*" if row.get("unpriced_requests") else "")


def _table(
    rows: list[dict[str, Any]],
    totals: dict[str, Any],
    label: str,
    narrow: bool,
    extra: Sequence[tuple[str, str]] = (),
) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_footer=True, pad_edge=False, collapse_padding=True)
    number = compact_number if narrow else (lambda value: f"{value:,}")
    labels = [str(row[label]) for row in rows]
    if narrow and label == "session_id":
        short = unique_prefixes(labels)
        labels = [short.get(text, text) for text in labels]
    table.add_column(HEADERS.get(label, label), footer="total", overflow="fold")
    shown = () if narrow else extra  # text columns (agent) give way on a narrow terminal
    for header, _key in shown:
        table.add_column(header, overflow="fold")
    for header, narrow_header, key in NUMBERS:
        table.add_column(
            narrow_header if narrow else header,
            footer=number(totals[key]),
            justify="right",
            no_wrap=True,
        )
    table.add_column("$", footer=cost_cell(totals), justify="right", no_wrap=True)
    for text, row in zip(labels, rows, strict=True):
        table.add_row(
            text,
            *(_text(row.get(key)) for _header, key in shown),
            *(number(row[key]) for *_headers, key in NUMBERS),
            cost_cell(row),
        )
    return table


def _text(value: Any) -> str:
    return ",".join(value) if isinstance(value, list) else str(value or "")


def print_report_table(
    rows: list[dict[str, Any]],
    totals: dict[str, Any],
    label: str,
    console: Console | None = None,
    extra: Sequence[tuple[str, str]] = (),
) -> None:
    """Usage rows: ``label``, the ``extra`` text columns (header, key), tokens, requests, $."""
    print_fitted(lambda narrow: _table(rows, totals, label, narrow, extra), console)


def print_fitted(build: Callable[[bool], Table], console: Console | None = None) -> None:
    """Full headers and numbers when they fit the terminal; the narrow form when not."""
    console = console or Console()
    if not console.is_terminal:
        console = Console(file=sys.stdout, width=PIPED_WIDTH)
        console.print(build(False))
        return
    full = build(False)
    unbounded = console.options.update_width(PIPED_WIDTH)
    if console.measure(full, options=unbounded).maximum <= console.width:
        console.print(full)
    else:
        console.print(build(True))
