"""Usage reports: the JSON contracts of ``agenttail report ...``, built on ``Analytics``.

Every report takes an ``Analytics`` implementation and ``ReportOptions`` (window, filters, cost
source) and returns plain data; the CLI prints it as JSON or a table. No SQL here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, tzinfo
from types import MappingProxyType
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agenttail.analytics import (
    Analytics,
    Bucket,
    CostSource,
    Dimension,
    ModelPrice,
    Percentiles,
    Query,
    Usage,
)
from agenttail.errors import AgenttailError
from agenttail.money import usd

TOKEN_KEYS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
UNPRICED = "unpriced"


class ReportError(ValueError):
    """Bad report arguments (unknown timezone, unparseable date)."""


def resolve_timezone(name: str | None) -> tzinfo:
    if not name:
        from agenttail.localzone import local_timezone

        return local_timezone()
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


class Window(NamedTuple):
    """Local calendar days [since, until] as UTC epoch-ms bounds."""

    tz: tzinfo
    since: date | None = None
    until: date | None = None

    def bounds(self) -> tuple[int | None, int | None]:
        low = high = None
        if self.since is not None:
            low = int(datetime.combine(self.since, time(), self.tz).timestamp() * 1000)
        if self.until is not None:
            end = self.until + timedelta(days=1)
            high = int(datetime.combine(end, time(), self.tz).timestamp() * 1000)
        return low, high


class ReportOptions(NamedTuple):
    """What every report takes: the window, filters, cost source and row order."""

    window: Window
    agents: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    machines: tuple[str, ...] = ()
    cost_source: CostSource = CostSource.CALCULATED
    order: str | None = None  # None: each report's natural order
    prices: Mapping[str, ModelPrice] = MappingProxyType({})

    @property
    def query(self) -> Query:
        low, high = self.window.bounds()
        return Query(
            agents=self.agents,
            projects=self.projects,
            models=self.models,
            users=self.users,
            machines=self.machines,
            since_ms=low,
            until_ms=high,
            timezone=self.window.tz,
            prices=self.prices,
        )

    def ordered(
        self, items: list[Any], key: Callable[[Any], Any], default: str = "asc"
    ) -> list[Any]:
        """Sorted by ``key``: ``--order`` if given, else the report's ``default`` direction."""
        return sorted(items, key=key, reverse=(self.order or default) == "desc")


def usage_fields(usage: Usage, source: CostSource) -> dict[str, Any]:
    """Token sums and cost of a row. Cost is ``None`` ("unpriced") when no request of the row
    has a price, never $0; ``unpriced_requests`` counts requests left out of a partial cost."""
    data: dict[str, Any] = {name: getattr(usage, name) for name in TOKEN_KEYS}
    data["total_tokens"] = usage.total_tokens
    data["requests"] = usage.requests
    calculated = (
        None
        if usage.requests and usage.unpriced_requests == usage.requests
        else usd(usage.cost_nusd)
    )
    recorded = usd(usage.recorded_cost_nusd) if usage.recorded_requests else None
    if source is CostSource.RECORDED:
        data["cost_usd"] = recorded if usage.requests else 0.0
        data["unpriced_requests"] = usage.requests - usage.recorded_requests
    else:
        data["cost_usd"] = calculated
        data["unpriced_requests"] = usage.unpriced_requests
    if source is CostSource.BOTH:
        data["recorded_cost_usd"] = recorded
    return data


def unpriced_models(analytics: Analytics, options: ReportOptions) -> list[dict[str, Any]]:
    """Models with requests the report could not price, and their tokens."""
    out = []
    for row in analytics.usage(options.query, (Dimension.MODEL,)):
        usage = row.usage
        missing = (
            usage.requests - usage.recorded_requests
            if options.cost_source is CostSource.RECORDED
            else usage.unpriced_requests
        )
        if missing:
            out.append(
                {
                    "model": row.keys[Dimension.MODEL] or "unknown",
                    "requests": missing,
                    "total_tokens": usage.total_tokens,
                }
            )
    return sorted(out, key=lambda m: (-m["total_tokens"], m["model"]))


def _with_unpriced(
    data: dict[str, Any], analytics: Analytics, options: ReportOptions
) -> dict[str, Any]:
    data["unpriced"] = unpriced_models(analytics, options)
    return data


# -- period reports (daily, weekly, monthly) --------------------------------------------------

_PERIOD_LABELS: dict[Bucket, tuple[str, str, Callable[[datetime], str]]] = {
    Bucket.DAY: ("daily", "date", lambda d: d.date().isoformat()),
    Bucket.WEEK: ("weekly", "week", lambda d: d.date().isoformat()),
    Bucket.MONTH: ("monthly", "month", lambda d: d.strftime("%Y-%m")),
}


_PeriodKey = tuple[str, str | None]  # the period's label, the --by value


def period_report(
    analytics: Analytics, options: ReportOptions, bucket: Bucket, by: Dimension | None = None
) -> dict[str, Any]:
    """Sums per calendar period in the window's timezone, each with its models and agents;
    with ``by`` (user, machine...), one row per period and value of that dimension."""
    name, label, text = _PERIOD_LABELS[bucket]
    periods: dict[_PeriodKey, Usage] = defaultdict(Usage)
    models: dict[_PeriodKey, dict[str | None, Usage]] = defaultdict(lambda: defaultdict(Usage))
    agents: dict[_PeriodKey, set[str]] = defaultdict(set)
    model_agents: dict[tuple[_PeriodKey, str | None], set[str]] = defaultdict(set)
    total = Usage()
    group_by = (Dimension.AGENT, Dimension.MODEL, *((by,) if by is not None else ()))
    for row in analytics.usage(options.query, group_by, bucket):
        assert row.period is not None
        key = (text(row.period), None if by is None else row.keys[by] or "unknown")
        agent, model = row.keys[Dimension.AGENT] or "", row.keys[Dimension.MODEL]
        periods[key] += row.usage
        models[key][model] += row.usage
        agents[key].add(agent)
        model_agents[(key, model)].add(agent)
        total += row.usage
    entries = []
    for key in options.ordered(list(periods), key=lambda k: (k[0], k[1] or "")):
        entry: dict[str, Any] = {label: key[0]}
        if by is not None:
            entry[str(by)] = key[1]
        entry.update(usage_fields(periods[key], options.cost_source))
        entry["agents"] = sorted(agents[key])
        entry["models"] = [
            {
                "model": model or "unknown",
                **usage_fields(usage, options.cost_source),
                "agents": sorted(model_agents[(key, model)]),
            }
            for model, usage in sorted(
                models[key].items(), key=lambda m: (-m[1].total_tokens, m[0] or "")
            )
        ]
        entries.append(entry)
    data: dict[str, Any] = {name: entries, "totals": usage_fields(total, options.cost_source)}
    if by is not None:
        data["by"] = str(by)
    return _with_unpriced(data, analytics, options)


def daily_report(
    analytics: Analytics, options: ReportOptions, by: Dimension | None = None
) -> dict[str, Any]:
    return period_report(analytics, options, Bucket.DAY, by)


def weekly_report(
    analytics: Analytics, options: ReportOptions, by: Dimension | None = None
) -> dict[str, Any]:
    """Weeks start on Monday (ISO 8601); ``week`` is that Monday's date."""
    return period_report(analytics, options, Bucket.WEEK, by)


def monthly_report(
    analytics: Analytics, options: ReportOptions, by: Dimension | None = None
) -> dict[str, Any]:
    return period_report(analytics, options, Bucket.MONTH, by)


# -- sessions, models -------------------------------------------------------------------------


def _iso(ts_ms: int, tz: tzinfo) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, tz).isoformat()


def _share(tokens: int | None, window: int | None) -> float | None:
    if tokens is None or not window:
        return None
    return round(tokens / window, 4)


def session_report(
    analytics: Analytics, options: ReportOptions, limit: int | None = None
) -> dict[str, Any]:
    """Sessions active in the window, with their whole-session totals, latest first.

    ``limit`` keeps the costliest sessions (unpriced counts as $0; then most tokens), still
    listed in the report's order; ``totals`` always cover every session of the window and
    ``limited`` says how many there were.
    """
    from agenttail.pricing import context_window

    sessions = []
    total = Usage()
    for stats in analytics.sessions(options.query):
        if not stats.usage.requests and not stats.tool_calls:
            continue
        window = max((context_window(m) or 0 for m in stats.models), default=0) or None
        sessions.append(
            {
                "agent": stats.agent,
                "agents": [stats.agent],
                "session_id": stats.session_id,
                "project": stats.project,
                "first_activity": _iso(stats.first_ms, options.window.tz),
                "last_activity": _iso(stats.last_ms, options.window.tz),
                "models": list(stats.models),
                **usage_fields(stats.usage, options.cost_source),
                "turns": stats.turns,
                "tool_calls": stats.tool_calls,
                "tool_failed": stats.tool_failed,
                "api_errors": stats.api_errors,
                "compactions": stats.compactions,
                "peak_context_tokens": stats.peak_context_tokens,
                "context_window": window,
                "peak_context_share": _share(stats.peak_context_tokens, window),
                "_last_ms": stats.last_ms,
            }
        )
        total += stats.usage
    count = len(sessions)
    if limit is not None:
        sessions.sort(key=lambda s: (s["cost_usd"] or 0.0, s["total_tokens"]), reverse=True)
        del sessions[limit:]
    ordered = options.ordered(sessions, key=lambda s: s["_last_ms"], default="desc")
    for entry in ordered:
        del entry["_last_ms"]
    data: dict[str, Any] = {"sessions": ordered, "totals": usage_fields(total, options.cost_source)}
    if limit is not None:
        data["limited"] = {"limit": limit, "sessions": count}
    return _with_unpriced(data, analytics, options)


def _durations(p: Percentiles, *names: str) -> dict[str, float | None]:
    return {name: getattr(p, name) for name in names}


def model_report(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
    models = []
    total = Usage()
    for stats in analytics.model_stats(options.query):
        if not stats.usage.requests and not stats.api_errors:
            continue
        models.append(
            {
                "model": stats.model or "unknown",
                "agents": list(stats.agents),
                **usage_fields(stats.usage, options.cost_source),
                "api_errors": stats.api_errors,
                "error_rate": stats.error_rate,
                "latency_ms": _durations(stats.latency, "mean", "p50", "p95"),
            }
        )
        total += stats.usage
    ordered = options.ordered(
        models, key=lambda m: (m["cost_usd"] or 0, m["total_tokens"]), default="desc"
    )
    data = {"models": ordered, "totals": usage_fields(total, options.cost_source)}
    return _with_unpriced(data, analytics, options)


# -- projects, agents, series -----------------------------------------------------------------


def _grouped_report(
    analytics: Analytics, options: ReportOptions, dimension: Dimension, name: str
) -> dict[str, Any]:
    usage: dict[str | None, Usage] = defaultdict(Usage)
    related: dict[str | None, set[str]] = defaultdict(set)
    other = Dimension.MODEL if dimension is Dimension.AGENT else Dimension.AGENT
    total = Usage()
    for row in analytics.usage(options.query, (dimension, other)):
        key = row.keys[dimension]
        usage[key] += row.usage
        related[key].add(row.keys[other] or "unknown")
        total += row.usage
    sessions: dict[str | None, int] = defaultdict(int)
    tools: dict[str | None, list[int]] = defaultdict(lambda: [0, 0])
    for stats in analytics.sessions(options.query):
        sessions[stats.project if dimension is Dimension.PROJECT else stats.agent] += 1
        counts = tools[stats.project if dimension is Dimension.PROJECT else stats.agent]
        counts[0] += stats.tool_calls
        counts[1] += stats.tool_failed
    label = "project" if dimension is Dimension.PROJECT else "agent"
    plural = "agents" if dimension is Dimension.PROJECT else "models"
    rows = [
        {
            label: key if key is not None else "unknown",
            plural: sorted(related[key]),
            **usage_fields(value, options.cost_source),
            "sessions": sessions.get(key, 0),
            "tool_calls": tools[key][0],
            "tool_failed": tools[key][1],
        }
        for key, value in usage.items()
    ]
    ordered = options.ordered(rows, key=lambda r: (r["total_tokens"], r[label]), default="desc")
    data = {name: ordered, "totals": usage_fields(total, options.cost_source)}
    return _with_unpriced(data, analytics, options)


def project_report(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
    return _grouped_report(analytics, options, Dimension.PROJECT, "projects")


def agent_report(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
    return _grouped_report(analytics, options, Dimension.AGENT, "agents")


def series_report(
    analytics: Analytics, options: ReportOptions, by: Dimension, bucket: Bucket
) -> dict[str, Any]:
    """Usage (or tool calls, ``--by tool``) per period and group."""
    points: list[dict[str, Any]] = []
    fmt = "%Y-%m-%dT%H:%M" if bucket is Bucket.HOUR else "%Y-%m-%d"
    if by is Dimension.TOOL:
        for tool in analytics.tool_stats(options.query, bucket):
            assert tool.period is not None
            points.append(
                {
                    "period": tool.period.strftime(fmt),
                    "key": tool.tool or "unknown",
                    "agent": tool.agent,
                    "calls": tool.calls,
                    "ok": tool.ok,
                    "failed": tool.failed,
                }
            )
    else:
        for row in analytics.usage(options.query, (by,), bucket):
            assert row.period is not None
            points.append(
                {
                    "period": row.period.strftime(fmt),
                    "key": row.keys[by] or "unknown",
                    **usage_fields(row.usage, options.cost_source),
                }
            )
    points = options.ordered(points, key=lambda p: (p["period"], p["key"]))
    return {"by": str(by), "bucket": str(bucket), "series": points}


# -- tools, latency, errors -------------------------------------------------------------------


def tool_report(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
    tools = []
    calls = ok = failed = 0
    for stats in analytics.tool_stats(options.query):
        tools.append(
            {
                "tool": stats.tool or "unknown",
                "agent": stats.agent,
                "calls": stats.calls,
                "ok": stats.ok,
                "failed": stats.failed,
                "success_rate": stats.success_rate,
                "duration_ms": _durations(stats.durations, "mean", "p50", "p95"),
            }
        )
        calls, ok, failed = calls + stats.calls, ok + stats.ok, failed + stats.failed
    ordered = options.ordered(
        tools, key=lambda t: (t["calls"], t["tool"], t["agent"]), default="desc"
    )
    totals = {
        "calls": calls,
        "ok": ok,
        "failed": failed,
        "success_rate": ok / (ok + failed) if ok + failed else None,
    }
    return {"tools": ordered, "totals": totals}


def latency_report(analytics: Analytics, options: ReportOptions, by: Dimension) -> dict[str, Any]:
    rows = [
        {
            "key": row.key or "unknown",
            "metric": str(row.metric),
            "count": row.durations.count,
            **{
                f"{name}_ms": getattr(row.durations, name)
                for name in ("mean", "p50", "p90", "p95", "p99")
            },
        }
        for row in analytics.latency(options.query, by)
    ]
    ordered = options.ordered(rows, key=lambda r: (r["metric"], r["key"]))
    return {"by": str(by), "latency": ordered}


def error_report(analytics: Analytics, options: ReportOptions, by: Dimension) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        {
            "key": row.key or "unknown",
            "error_class": row.error_class,
            "errors": row.errors,
            "attempts": row.attempts,
            "error_rate": row.errors / row.attempts if row.attempts else None,
        }
        for row in analytics.errors(options.query, by)
    ]
    ordered = options.ordered(
        rows, key=lambda r: (r["errors"], r["key"], r["error_class"]), default="desc"
    )
    by_class: dict[str, int] = defaultdict(int)
    for error in analytics.errors(options.query, by):
        by_class[error.error_class] += error.errors
    totals = {"errors": sum(by_class.values()), "by_class": dict(sorted(by_class.items()))}
    return {"by": str(by), "errors": ordered, "totals": totals}


# -- one session's timeline -------------------------------------------------------------------


class SessionNotFound(AgenttailError):
    """No session, or more than one, has the given id prefix."""

    kind = "session_not_found"


def session_detail(analytics: Analytics, options: ReportOptions, session_id: str) -> dict[str, Any]:
    """One session: its summary and each run (user turn) with its requests, tools, errors."""
    from agenttail.pricing import context_window

    matches = analytics.resolve_session(session_id)
    if len(matches) != 1:
        found = "no session" if not matches else "more than one session"
        raise SessionNotFound(
            f"{found} has an id starting with {session_id!r}",
            "`agenttail report session` lists sessions",
        )
    (full_id,) = matches
    everything = options._replace(window=Window(options.window.tz))
    summary = next(
        (
            s
            for s in session_report(analytics, everything)["sessions"]
            if s["session_id"] == full_id
        ),
        None,
    )
    runs: dict[str | None, dict[str, Any]] = {}
    tz = options.window.tz
    source = options.cost_source
    for event in analytics.session_timeline(full_id):
        run = runs.setdefault(
            event.run_id,
            {
                "run_id": event.run_id,
                "started": _iso(event.ts_ms, tz),
                "requests": [],
                "tools": [],
                "errors": [],
                "compactions": 0,
                "_usage": Usage(),
            },
        )
        if event.kind == "llm_request" and event.usage.requests:
            usage = event.usage
            if options.prices:
                from agenttail.analytics import price_usage

                usage = price_usage(event.model, usage, options.prices)
            window = context_window(event.model) if event.model else None
            run["requests"].append(
                {
                    "ts": _iso(event.ts_ms, tz),
                    "model": event.model or "unknown",
                    **usage_fields(usage, source),
                    "context_tokens": event.context_tokens,
                    "context_share": _share(event.context_tokens, window),
                }
            )
            run["_usage"] += usage
        elif event.kind == "tool_call":
            run["tools"].append(
                {
                    "ts": _iso(event.ts_ms, tz),
                    "tool": event.tool or "unknown",
                    "ok": event.ok,
                    "duration_ms": event.duration_ms,
                }
            )
        elif event.kind == "api_error":
            run["errors"].append(
                {"ts": _iso(event.ts_ms, tz), "error_class": event.error_class or "unknown"}
            )
        elif event.kind == "compaction":
            run["compactions"] += 1
    out = []
    for run in runs.values():
        usage = run.pop("_usage")
        run.update({f"run_{k}": v for k, v in usage_fields(usage, source).items()})
        out.append(run)
    return {"session": summary, "runs": out}


# -- 5-hour blocks ----------------------------------------------------------------------------

BLOCK_MS = 5 * 60 * 60 * 1000
_HOUR_MS = 60 * 60 * 1000


def blocks_report(
    analytics: Analytics,
    options: ReportOptions,
    now_ms: int,
    token_limit: int | str | None = None,
) -> dict[str, Any]:
    """Usage in 5-hour windows as Claude's plans count them.

    A block starts at the (UTC) hour of its first request and lasts five hours; the next
    request at or after its end opens the next block. The active block (now inside it, its
    last request under five hours ago) gets a burn rate over its first to last request and a
    projection to its end at that rate.
    """
    blocks: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for slice_ in analytics.activity(options.query):
        if current is None or slice_.start_ms >= current["_end"]:
            start = slice_.start_ms - slice_.start_ms % _HOUR_MS
            current = {
                "_start": start,
                "_end": start + BLOCK_MS,
                "_usage": Usage(),
                "models": set(),
            }
            blocks.append(current)
        current["_usage"] += slice_.usage
        current["models"].add(slice_.model or "unknown")
    source = options.cost_source
    out = []
    for block in blocks:
        usage: Usage = block["_usage"]
        fields = usage_fields(usage, source)
        entry: dict[str, Any] = {
            "start": _iso(block["_start"], options.window.tz),
            "end": _iso(block["_end"], options.window.tz),
            "active": False,
            **{name: fields[name] for name in TOKEN_KEYS},
            "total_tokens": usage.total_tokens,
            "cost_usd": fields["cost_usd"],
            "unpriced_requests": fields["unpriced_requests"],
            "requests": usage.requests,
            "models": sorted(block["models"]),
            "burn_rate": None,
            "projection": None,
        }
        if block["_start"] <= now_ms < block["_end"]:
            span = analytics.activity_span(
                options.query._replace(since_ms=block["_start"], until_ms=block["_end"])
            )
            if span is not None and now_ms - span[1] < BLOCK_MS:
                entry["active"] = True
                entry["burn_rate"], entry["projection"] = _burn(
                    usage.total_tokens, fields["cost_usd"], span, block["_end"] - now_ms
                )
        out.append(entry)
    limit = _token_limit(token_limit, out)
    data: dict[str, Any] = {"blocks": options.ordered(out, key=lambda b: b["start"])}
    active = next((b for b in out if b["active"]), None)
    if limit is not None:
        used = active["total_tokens"] if active else 0
        projected = (
            active["projection"]["total_tokens"] if active and active["projection"] else used
        )
        data["token_limit"] = {
            "limit": limit,
            "used_tokens": used,
            "percent_used": round(100 * used / limit, 2) if limit else None,
            "projected_percent": round(100 * projected / limit, 2) if limit else None,
            "exceeded": used > limit,
        }
    return _with_unpriced(data, analytics, options)


PLAN_AGENT = "claude_code"  # 5-hour blocks are Claude's plan windows


def today_options(tz: tzinfo, now_ms: int, prices: dict[str, ModelPrice]) -> ReportOptions:
    """Every agent's usage since local midnight."""
    return ReportOptions(Window(tz, since=_local_day(now_ms, tz)), prices=prices)


def active_block(
    analytics: Analytics, tz: tzinfo, now_ms: int, prices: dict[str, ModelPrice]
) -> dict[str, Any] | None:
    """Claude Code's active 5-hour block as ``report blocks`` shows it, or None.

    Blocks chain from the window's first request; a day back is enough to find the active one.
    """
    recent = ReportOptions(
        Window(tz, since=_local_day(now_ms, tz) - timedelta(days=1)),
        agents=(PLAN_AGENT,),
        prices=prices,
    )
    blocks = blocks_report(analytics, recent, now_ms)["blocks"]
    return next((block for block in blocks if block["active"]), None)


def _local_day(now_ms: int, tz: tzinfo) -> date:
    return datetime.fromtimestamp(now_ms / 1000, tz).date()


def _burn(
    tokens: int, cost: float | None, span: tuple[int, int], remaining_ms: int
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    elapsed_h = (span[1] - span[0]) / _HOUR_MS
    if elapsed_h <= 0:
        return None, None
    per_hour = tokens / elapsed_h
    cost_per_hour = None if cost is None else cost / elapsed_h
    remaining_h = remaining_ms / _HOUR_MS
    burn = {"tokens_per_hour": round(per_hour, 2), "cost_per_hour": cost_per_hour}
    projection = {
        "total_tokens": round(tokens + per_hour * remaining_h),
        "cost_usd": None
        if cost is None or cost_per_hour is None
        else cost + cost_per_hour * remaining_h,
    }
    return burn, projection


def _token_limit(value: int | str | None, blocks: list[dict[str, Any]]) -> int | None:
    """``--token-limit N``, or ``max``: the most tokens any finished block used."""
    if value is None:
        return None
    if value == "max":
        finished = [b["total_tokens"] for b in blocks if not b["active"]]
        return max(finished, default=0) or None
    if isinstance(value, int):
        return value
    raise ReportError(f"invalid token limit {value!r}: use a number of tokens or 'max'")


def token_notes(analytics: Analytics, options: ReportOptions) -> list[dict[str, Any]]:
    """What the totals leave out, said plainly: agents in the window whose tokens are not on
    disk (their requests, turns and tools count; their tokens are unknown, not zero), and
    estimated requests (kept out of measured totals)."""
    notes: list[dict[str, Any]] = []
    for note in analytics.token_notes(options.query):
        if not note.tokens_recorded:
            notes.append({"agent": note.agent, "tokens": "not recorded locally"})
        if note.estimated_requests:
            notes.append({"agent": note.agent, "estimated_requests": note.estimated_requests})
    return notes


def note_lines(notes: list[dict[str, Any]]) -> list[str]:
    """The notes for people, one line each."""
    absent = [note["agent"] for note in notes if "tokens" in note]
    lines = []
    if absent:
        lines.append(
            f"tokens not recorded locally by {', '.join(absent)}: their activity is counted,"
            " their tokens are unknown (not zero)"
        )
    lines += [
        f"{note['estimated_requests']:,} estimated requests of {note['agent']} are not in"
        " these totals"
        for note in notes
        if "estimated_requests" in note
    ]
    return lines
