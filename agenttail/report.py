"""Usage reports from the local store: per day, session or model.

Days are computed in the report's timezone from 15-minute UTC buckets aggregated in SQL, so a
report touches a few thousand rows however many events the store holds. Every UTC offset in
use is a multiple of 15 minutes, so each bucket lies within one local day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import tzlocal

from agenttail.events import usd
from agenttail.store import Store

BUCKET_MS = 15 * 60 * 1000
TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


class ReportError(ValueError):
    """Bad report arguments (unknown timezone, unparseable date)."""


def resolve_timezone(name: str | None) -> tzinfo:
    if not name:
        return tzlocal.get_localzone()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ReportError(
            f"unknown timezone {name!r} (use an IANA name like Europe/Paris)"
        ) from None


def parse_day(text: str) -> date:
    """YYYYMMDD or YYYY-MM-DD, as ccusage accepts."""
    cleaned = text.replace("-", "")
    try:
        return datetime.strptime(cleaned, "%Y%m%d").date()  # noqa: DTZ007 - a calendar day
    except ValueError:
        raise ReportError(f"invalid date {text!r}: use YYYYMMDD or YYYY-MM-DD") from None


@dataclass(frozen=True)
class Window:
    """Local calendar days [since, until] as UTC epoch-ms bounds."""

    tz: tzinfo
    since: date | None = None
    until: date | None = None

    def bounds(self) -> tuple[int, int]:
        low = 0
        high = 2**62
        if self.since is not None:
            low = int(datetime.combine(self.since, time(), self.tz).timestamp() * 1000)
        if self.until is not None:
            end = self.until + timedelta(days=1)
            high = int(datetime.combine(end, time(), self.tz).timestamp() * 1000)
        return low, high


def _empty() -> dict[str, Any]:
    return {**dict.fromkeys(TOKEN_KEYS, 0), "total_tokens": 0, "cost_usd": 0, "requests": 0}


def _add(target: dict[str, Any], row: dict[str, Any]) -> None:
    """Integer sums only (cost in nanodollars until ``_finish``): the order never matters."""
    for key in TOKEN_KEYS:
        target[key] += row[key]
    target["total_tokens"] += sum(row[key] for key in TOKEN_KEYS)
    target["cost_usd"] += row["cost_nusd"] or 0
    target["requests"] += row["requests"]


def _finish(entry: dict[str, Any]) -> dict[str, Any]:
    entry["cost_usd"] = usd(entry["cost_usd"])
    return entry


_SUMS = """
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_nusd) AS cost_nusd, count(*) AS requests
"""
_WHERE = "kind = 'llm_request' AND counted = 1 AND estimated = 0 AND ts_ms >= ? AND ts_ms < ?"


def _query(store: Store | None, sql: str, params: Iterable[Any]) -> list[dict[str, Any]]:
    if store is None:
        return []
    return list(store.query(sql, list(params)))


_ROLLUP_SUMS = """
    sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens,
    sum(cache_read_tokens) AS cache_read_tokens, sum(cache_write_tokens) AS cache_write_tokens,
    sum(cost_nusd) AS cost_nusd, sum(requests) AS requests
"""


def _rollup(store: Store | None, window: Window, group: str) -> list[dict[str, Any]]:
    """Sums from the trigger-maintained ``usage_rollup`` table (see migrations m002)."""
    low, high = window.bounds()
    return _query(
        store,
        f"SELECT {group}, NULLIF(model, '') AS model, {_ROLLUP_SUMS} FROM usage_rollup "
        f"WHERE bucket >= ? AND bucket < ? GROUP BY {group}, model HAVING sum(requests) > 0",
        [low // BUCKET_MS, -(-high // BUCKET_MS)],
    )


def _period_report(
    store: Store | None, window: Window, name: str, label: str, period: Callable[[date], str]
) -> dict[str, Any]:
    """Sums per calendar period (day, week, month) in the window's timezone, with models."""
    rows = _rollup(store, window, "bucket")
    periods: dict[str, dict[str, Any]] = {}
    per_model: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    totals = _empty()
    for row in rows:
        key = period(datetime.fromtimestamp(row["bucket"] * BUCKET_MS / 1000, window.tz).date())
        model = row["model"] or "unknown"
        _add(periods.setdefault(key, {label: key, **_empty()}), row)
        _add(per_model[key].setdefault(model, {"model": model, **_empty()}), row)
        _add(totals, row)
    entries = []
    for key in sorted(periods):
        entry = _finish(periods[key])
        models = sorted(per_model[key].values(), key=lambda m: (-m["total_tokens"], m["model"]))
        entry["models"] = [_finish(m) for m in models]
        entries.append(entry)
    return {name: entries, "totals": _finish(totals)}


def daily_report(store: Store | None, window: Window) -> dict[str, Any]:
    return _period_report(store, window, "daily", "date", date.isoformat)


def weekly_report(store: Store | None, window: Window) -> dict[str, Any]:
    """Weeks start on Monday (ISO 8601); ``week`` is that Monday's date."""
    return _period_report(
        store, window, "weekly", "week", lambda d: (d - timedelta(days=d.weekday())).isoformat()
    )


def monthly_report(store: Store | None, window: Window) -> dict[str, Any]:
    return _period_report(store, window, "monthly", "month", lambda d: d.strftime("%Y-%m"))


def session_report(store: Store | None, window: Window) -> dict[str, Any]:
    rows = _query(
        store,
        f"SELECT agent, session_id, project, model, min(ts_ms) AS first_ms, "
        f"max(ts_ms) AS last_ms, {_SUMS} FROM events WHERE {_WHERE} "
        f"GROUP BY agent, session_id, project, model",
        window.bounds(),
    )
    sessions: dict[tuple[str, str], dict[str, Any]] = {}
    totals = _empty()
    for row in rows:
        key = (row["agent"], row["session_id"])
        entry = sessions.setdefault(
            key,
            {
                "agent": row["agent"],
                "session_id": row["session_id"],
                "project": row["project"],
                "first_activity": row["first_ms"],
                "last_activity": row["last_ms"],
                "models": [],
                **_empty(),
            },
        )
        entry["first_activity"] = min(entry["first_activity"], row["first_ms"])
        entry["last_activity"] = max(entry["last_activity"], row["last_ms"])
        entry["project"] = entry["project"] or row["project"]
        if row["model"] and row["model"] not in entry["models"]:
            entry["models"].append(row["model"])
        _add(entry, row)
        _add(totals, row)
    ordered = sorted(sessions.values(), key=lambda s: s["last_activity"], reverse=True)
    for entry in ordered:
        for field in ("first_activity", "last_activity"):
            entry[field] = datetime.fromtimestamp(entry[field] / 1000, window.tz).isoformat()
        entry["models"].sort()
        _finish(entry)
    return {"sessions": ordered, "totals": _finish(totals)}


def model_report(store: Store | None, window: Window) -> dict[str, Any]:
    rows = _rollup(store, window, "agent")
    models: dict[str, dict[str, Any]] = {}
    totals = _empty()
    for row in rows:
        name = row["model"] or "unknown"
        entry = models.setdefault(name, {"model": name, "agents": [], **_empty()})
        if row["agent"] not in entry["agents"]:
            entry["agents"].append(row["agent"])
        _add(entry, row)
        _add(totals, row)
    ordered = sorted(models.values(), key=lambda m: (-m["cost_usd"], m["model"]))
    return {"models": [_finish(m) for m in ordered], "totals": _finish(totals)}
