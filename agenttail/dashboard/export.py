"""A report's rows as CSV, for the dashboard's downloads.

Each row's scalar fields become columns; nested objects become ``parent_child`` columns
(``latency_ms_p50``) and lists of names one ``;``-joined cell. Lists of objects (a day's
per-model rows) stay in the JSON download: a flat table cannot hold them.
"""

from __future__ import annotations

import csv
import io
from typing import Any


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(_flat(value, key + "_"))
        elif isinstance(value, list):
            if all(not isinstance(item, dict | list) for item in value):
                out[key] = ";".join("" if item is None else str(item) for item in value)
        else:
            out[key] = value
    return out


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text with a header row; columns in first-seen order, empty cells for None."""
    flat = [_flat(row) for row in rows]
    columns = list(dict.fromkeys(key for row in flat for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()
