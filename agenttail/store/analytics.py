"""``Analytics`` answered from the rollups of ``rollups.py``: the local store's and the team's.

``RollupAnalytics`` holds the questions, in SQL that SQLite and PostgreSQL both run (the team
store keeps the same rollup tables, plus user and machine keys, in each batch's transaction):
local calendar periods are computed by splitting the window into spans of constant UTC offset
(every offset is a multiple of 15 minutes, the rollups' slice, so local days are exact) and
grouping ``(bucket + offset)`` per span; percentiles come from hourly log-scale histograms
(``rollups.py`` explains the bound). ``SqliteAnalytics`` runs it on the local store, where the
user and machine are this one.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from agenttail.analytics import (
    Activity,
    Bucket,
    Dimension,
    ErrorRow,
    LatencyMetric,
    LatencyRow,
    ModelStats,
    Percentiles,
    Query,
    RecentEvent,
    SessionStats,
    TimelineEvent,
    TokenNote,
    ToolStats,
    Usage,
    UsageRow,
    price_usage,
)
from agenttail.store import Store
from agenttail.store.slices import DAY_MS, HOUR_MS, QUARTER_HOUR_MS, SPAN_MS, bin_value_ms

_FAR_FUTURE_MS = 2**62
_EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - local wall-clock arithmetic

_USAGE_SUMS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "requests",
    "cost_nusd",
    "unpriced_requests",
    "recorded_cost_nusd",
    "recorded_requests",
)
_SUM_SQL = ", ".join(f"sum({c}) AS {c}" for c in _USAGE_SUMS)


def _requests_sql(events: str, identity: Sequence[str]) -> str:
    """Per-request columns of counted, measured requests, named as in usage_rollup: dimensions
    the rollup lacks (session) are read from here, through the events time index."""
    return f"""SELECT ts_ms / {QUARTER_HOUR_MS} AS bucket, agent,
    COALESCE(project, '') AS project, COALESCE(model, '') AS model, session_id,
    {"".join(f"{column}, " for column in identity)}input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, reasoning_tokens, 1 AS requests,
    COALESCE(cost_nusd, 0) AS cost_nusd,
    CASE WHEN cost_nusd IS NULL THEN 1 ELSE 0 END AS unpriced_requests,
    COALESCE(recorded_cost_nusd, 0) AS recorded_cost_nusd,
    CASE WHEN recorded_cost_nusd IS NULL THEN 0 ELSE 1 END AS recorded_requests, ts_ms,
    ts_ms AS t_ms FROM {events} WHERE kind = 'llm_request' AND counted = 1 AND estimated = 0"""


def _usage(row: Mapping[str, Any]) -> Usage:
    return Usage(**{name: int(row[name] or 0) for name in _USAGE_SUMS})


def _request_usage(row: Mapping[str, Any]) -> Usage:
    """One stored request's tokens and cost (NULL cost: unpriced, never $0)."""
    return Usage(
        input_tokens=row["input_tokens"],
        output_tokens=row["output_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        reasoning_tokens=row["reasoning_tokens"],
        requests=1,
        cost_nusd=row["cost_nusd"] or 0,
        unpriced_requests=int(row["cost_nusd"] is None),
        recorded_cost_nusd=row["recorded_cost_nusd"] or 0,
        recorded_requests=int(row["recorded_cost_nusd"] is not None),
    )


_EVENT_COLUMNS = (
    "kind, ts_ms, agent, session_id, project, model, tool_name, duration_ms, error_class,"
    " input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,"
    " cost_nusd, recorded_cost_nusd"
)


def _recent_event(row: Mapping[str, Any], usage: Usage) -> RecentEvent:
    return RecentEvent(
        kind=row["kind"],
        ts_ms=row["ts_ms"],
        agent=row["agent"],
        session_id=row["session_id"],
        project=_text(row["project"]),
        model=_text(row["model"]),
        tool=_text(row["tool_name"]),
        duration_ms=row["duration_ms"],
        error_class=row["error_class"],
        usage=usage,
    )


def _text(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


class _Where:
    """Filter clauses and their parameters, built by column name."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def within(self, column: str, values: Sequence[str], *, blank_is_null: bool = True) -> None:
        if values:
            marks = ", ".join("?" for _ in values)
            self.add(f"{column} IN ({marks})", *values)

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1 = 1"


def _slices(query: Query, slice_ms: int) -> tuple[int, int]:
    """The query window as whole slices (rounded outward)."""
    low = query.since_ms if query.since_ms is not None else 0
    high = query.until_ms if query.until_ms is not None else _FAR_FUTURE_MS
    return low // slice_ms, -(-high // slice_ms)


def _filters(
    query: Query,
    *,
    time_column: str | None = None,
    slice_ms: int = QUARTER_HOUR_MS,
    model_column: str | None = "model",
    project_column: str = "project",
) -> _Where:
    """The query's filters; its window too when ``time_column`` is given (else ``_source``
    bounds the time)."""
    where = _Where()
    low, high = _slices(query, slice_ms)
    if time_column is not None and query.since_ms is not None:
        where.add(f"{time_column} >= ?", low)
    if time_column is not None and query.until_ms is not None:
        where.add(f"{time_column} < ?", high)
    where.within("agent", query.agents)
    where.within(project_column, query.projects)
    if model_column is not None:
        where.within(model_column, query.models)
    return where


Level = tuple[str, str, int]  # table, time key, slice length in ms

# Each rollup's tables from finest to coarsest (rollups.py, migration m007).
_LEVELS: dict[str, tuple[Level, ...]] = {
    **{
        table: (
            (table, "bucket", QUARTER_HOUR_MS),
            *(((f"{table}_hourly", "hour", HOUR_MS),) if table != "error_rollup" else ()),
            (f"{table}_daily", "day", DAY_MS),
            (f"{table}_span", "span", SPAN_MS),
        )
        for table in ("usage_rollup", "tool_rollup", "error_rollup")
    },
    **{
        table: (
            (table, "hour", HOUR_MS),
            (f"{table}_daily", "day", DAY_MS),
            (f"{table}_span", "span", SPAN_MS),
        )
        for table in ("latency_hist_request", "latency_hist_ttft", "latency_hist_tool")
    },
}
# Rollups whose coarser levels have no project column: a project filter reads the finest.
_FINE_PROJECTS = {"latency_hist_request", "latency_hist_ttft", "latency_hist_tool"}


def _coarsest(bucket: Bucket | None, offset_ms: int | None) -> int:
    """The longest slice that never straddles a period of ``bucket`` at this UTC offset."""
    if offset_ms is None:
        return SPAN_MS
    if offset_ms % DAY_MS == 0 and bucket is not Bucket.HOUR:
        return DAY_MS
    if offset_ms % HOUR_MS == 0:
        return HOUR_MS
    return QUARTER_HOUR_MS


def _cover(
    low: int | None, high: int | None, levels: Sequence[Level]
) -> list[tuple[Level, int | None, int | None]]:
    """[low, high) as slices of the coarsest level that fits whole, finer levels at the ends.

    ``None`` is unbounded. The finest level's slices are rounded outward.
    """
    *finer, level = levels
    size = level[2]
    if not finer:
        return [(level, _floor(low, size), _ceil(high, size))]
    first = _ceil(low, size)
    last = _floor(high, size)
    if first is not None and last is not None and first >= last:
        return _cover(low, high, finer)
    parts = []
    if low is not None and first is not None and low < first * size:
        parts += _cover(low, first * size, finer)
    parts.append((level, first, last))
    if high is not None and last is not None and last * size < high:
        parts += _cover(last * size, high, finer)
    return parts


def _source(
    base: str, query: Query, columns: Sequence[str], where: _Where, coarsest: int = SPAN_MS
) -> tuple[str, list[Any]]:
    """A FROM clause: the rows of rollup ``base`` in the query window that pass ``where``,
    as ``t_ms`` (slice start) and ``columns``, read from the coarsest tables that fit (none
    with slices longer than ``coarsest`` ms)."""
    levels = tuple(level for level in _LEVELS[base] if level[2] <= coarsest)
    if base in _FINE_PROJECTS and query.projects:
        levels = levels[:1]
    selects = []
    params: list[Any] = []
    for (table, key, size), start, end in _cover(query.since_ms, query.until_ms, levels):
        bounds = _Where()
        if start is not None:
            bounds.add(f"{key} >= ?", start)
        if end is not None:
            bounds.add(f"{key} < ?", end)
        selects.append(
            f"SELECT {key} * {size} AS t_ms, {', '.join(columns)} FROM {table} "
            f"WHERE {bounds.sql()} AND {where.sql()}"
        )
        params += [*bounds.params, *where.params]
    return f"({' UNION ALL '.join(selects)}) AS source", params


def _floor(ms: int | None, slice_ms: int) -> int | None:
    return None if ms is None else ms // slice_ms


def _ceil(ms: int | None, slice_ms: int) -> int | None:
    return None if ms is None else -(-ms // slice_ms)


def _percentiles(bins: Iterable[tuple[int, int]], mean: float | None) -> Percentiles:
    """Nearest-rank percentiles over (bin, count) pairs."""
    ordered = sorted(bins)
    count = sum(n for _bin, n in ordered)

    def rank(fraction: float) -> float | None:
        if count == 0:
            return None
        wanted = max(1, math.ceil(fraction * count))
        seen = 0
        for bin_index, n in ordered:
            seen += n
            if seen >= wanted:
                return round(bin_value_ms(bin_index), 3)
        return None  # pragma: no cover - the loop always reaches count

    return Percentiles(count, mean, rank(0.50), rank(0.90), rank(0.95), rank(0.99))


def sql_text(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


_IDENTITY = {Dimension.USER: "user_name", Dimension.MACHINE: "machine_id"}


class RollupAnalytics:
    """The ``Analytics`` protocol over rollup tables, in SQL both engines run (``?`` marks
    parameters). Subclasses say how rows are read, where events are and who sent them."""

    events_table = "events"
    # The models of a session, joined by a unit separator: (SQLite, PostgreSQL) spellings.
    text_agg = "group_concat({}, char(31))"

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        raise NotImplementedError

    def identity(self, dimension: Dimension) -> str:
        """SQL for the user or machine of a rollup or events row."""
        raise NotImplementedError

    def _unrecorded_agents(self) -> list[str]:
        """Agents that keep no token usage on disk."""
        raise NotImplementedError

    def _identity_columns(self, dims: Sequence[Dimension]) -> tuple[str, ...]:
        """The user and machine columns that grouping by ``dims`` needs."""
        return tuple(f"{self.identity(d)} AS {_IDENTITY[d]}" for d in dims if d in _IDENTITY)

    def _identity_filters(self, query: Query, where: _Where) -> None:
        if query.users:
            where.within(self.identity(Dimension.USER), query.users)
        if query.machines:
            where.within(self.identity(Dimension.MACHINE), query.machines)

    def _filters(self, query: Query, **options: Any) -> _Where:
        where = _filters(query, **options)
        self._identity_filters(query, where)
        return where

    # -- usage ------------------------------------------------------------------------------

    def _dimension_sql(self, dimension: Dimension) -> str:
        if dimension is Dimension.AGENT:
            return "agent"
        if dimension is Dimension.MODEL:
            return "model"
        if dimension is Dimension.PROJECT:
            return "project"
        if dimension is Dimension.SESSION:
            return "session_id"
        if dimension in _IDENTITY:
            return _IDENTITY[dimension]
        raise ValueError(f"usage cannot be grouped by {dimension}: use tool_stats")

    def usage(
        self,
        query: Query,
        group_by: Sequence[Dimension] = (),
        bucket: Bucket | None = None,
    ) -> list[UsageRow]:
        dims = list(dict.fromkeys(group_by))
        priced = bool(query.prices)
        inner = [*dims, Dimension.MODEL] if priced and Dimension.MODEL not in dims else dims
        per_request = Dimension.SESSION in inner
        columns = [f"{self._dimension_sql(d)} AS d{i}" for i, d in enumerate(inner)]
        sums: dict[tuple[Any, ...], Usage] = defaultdict(Usage)
        identity = self._identity_columns(inner)
        for local_n, row in self._grouped(query, per_request, columns, identity, bucket):
            values = tuple(_text(row[f"d{i}"]) for i in range(len(inner)))
            usage = _usage(row)
            if priced:
                usage = price_usage(values[inner.index(Dimension.MODEL)], usage, query.prices)
            period = _period(local_n, bucket)
            sums[(period, *values[: len(dims)])] += usage
        out = []
        for key, usage in sums.items():
            keys = {d: key[1 + i] for i, d in enumerate(dims)}
            period = None if key[0] is None else _localize(key[0], query.timezone)
            out.append(UsageRow(period, keys, usage))
        out.sort(key=lambda r: (r.period or _EPOCH.replace(tzinfo=UTC), *map(str, r.keys.values())))
        return out

    def _grouped(
        self,
        query: Query,
        per_request: bool,
        columns: list[str],
        identity: tuple[str, ...],
        bucket: Bucket | None,
    ) -> Iterator[tuple[int | None, dict[str, Any]]]:
        """Usage grouped by ``columns`` and, with a bucket, by local slice number (hours or
        days since the local epoch), one query per span of constant UTC offset."""
        group = ", ".join(f"d{i}" for i in range(len(columns)))
        select = ", ".join(columns)
        if bucket is None:
            spans: list[tuple[int | None, int | None, int | None]] = [
                (query.since_ms, query.until_ms, None)
            ]
        else:
            spans = list(self._offset_spans(query, "usage_rollup"))
        slice_ms = HOUR_MS if bucket is Bucket.HOUR else DAY_MS
        for low, high, offset_ms in spans:
            span = query._replace(since_ms=low, until_ms=high)
            if per_request:  # the events time index serves it
                where = self._filters(span, time_column="ts_ms", slice_ms=1)
                requests = _requests_sql(self.events_table, identity)
                source, params = f"({requests} AND {where.sql()}) AS source", where.params
            else:
                coarsest = _coarsest(bucket, offset_ms)
                usage_columns = (
                    "agent",
                    "project",
                    "model",
                    *identity,
                    *_USAGE_SUMS,
                )
                source, params = _source(
                    "usage_rollup", span, usage_columns, self._filters(span), coarsest
                )
            local = "NULL" if offset_ms is None else f"(t_ms + {offset_ms}) / {slice_ms}"
            sql = (
                f"SELECT {local} AS local_n{', ' + select if select else ''}, {_SUM_SQL} "
                f"FROM {source} GROUP BY local_n{', ' + group if group else ''}"
            )
            for row in self._rows(sql, params):
                if row["requests"]:
                    local_n = row["local_n"]
                    yield (None if local_n is None else int(local_n) * slice_ms), row

    def _offset_spans(self, query: Query, source: str) -> list[tuple[int, int, int]]:
        """[low, high) UTC ms spans of constant UTC offset covering the stored data."""
        # Two queries: SQLite answers a lone min() or max() from the index, both at once by a scan.
        first = next(self._rows(f"SELECT min(bucket) AS b FROM {source}"), None)
        last = next(self._rows(f"SELECT max(bucket) AS b FROM {source}"), None)
        if first is None or last is None or first["b"] is None:
            return []
        low = max(first["b"] * QUARTER_HOUR_MS, query.since_ms or 0)
        high = min((last["b"] + 1) * QUARTER_HOUR_MS, query.until_ms or _FAR_FUTURE_MS)
        return offset_spans(query.timezone, low, high) if low < high else []

    # -- models, latency, tools, errors -----------------------------------------------------

    def _duration_means(
        self, query: Query, table: str, key: str, total: str, count: str
    ) -> dict[str | None, tuple[float | None, float | None]]:
        where = self._filters(query, model_column=None if table == "tool_rollup" else "model")
        source, params = _source(table, query, (f"{key} AS k", total, count), where)
        sql = f"SELECT k, sum({total}) AS total, sum({count}) AS n FROM {source} GROUP BY k"
        out: dict[str | None, tuple[float | None, float | None]] = {}
        for row in self._rows(sql, params):
            n = row["n"] or 0
            out[_text(row["k"])] = (None if not n else row["total"] / n / 1000, n)
        return out

    def _histogram(
        self, query: Query, metric: LatencyMetric, key: str
    ) -> dict[str | None, list[tuple[int, int]]]:
        where = self._filters(
            query, model_column=None if metric is LatencyMetric.TOOL else "subject"
        )
        source, params = _source(
            f"latency_hist_{metric}", query, (f"{key} AS k", "bin", "n"), where
        )
        sql = f"SELECT k, bin, sum(n) AS n FROM {source} GROUP BY k, bin"
        out: dict[str | None, list[tuple[int, int]]] = defaultdict(list)
        for row in self._rows(sql, params):
            out[_text(row["k"])].append((row["bin"], row["n"]))
        return out

    def _latency(
        self, query: Query, metric: LatencyMetric, group_by: Dimension
    ) -> dict[str | None, Percentiles]:
        if metric is LatencyMetric.TOOL:
            key = "agent" if group_by is Dimension.AGENT else "tool"
            hist_key = "agent" if group_by is Dimension.AGENT else "subject"
            means = self._duration_means(query, "tool_rollup", key, "duration_us", "timed_calls")
        else:
            key = "agent" if group_by is Dimension.AGENT else "model"
            hist_key = "agent" if group_by is Dimension.AGENT else "subject"
            total, count = (
                ("duration_us", "timed_requests")
                if metric is LatencyMetric.REQUEST
                else ("ttft_us", "ttft_requests")
            )
            means = self._duration_means(query, "usage_rollup", key, total, count)
        hist = self._histogram(query, metric, hist_key)
        return {k: _percentiles(bins, means.get(k, (None, 0))[0]) for k, bins in hist.items()}

    def latency(self, query: Query, group_by: Dimension) -> list[LatencyRow]:
        metrics: tuple[LatencyMetric, ...]
        if group_by is Dimension.TOOL:
            metrics = (LatencyMetric.TOOL,)
        elif group_by is Dimension.AGENT:
            metrics = (LatencyMetric.REQUEST, LatencyMetric.TTFT, LatencyMetric.TOOL)
        elif group_by is Dimension.MODEL:
            metrics = (LatencyMetric.REQUEST, LatencyMetric.TTFT)
        else:
            raise ValueError(f"latency cannot be grouped by {group_by}")
        rows = [
            LatencyRow(key, metric, durations)
            for metric in metrics
            for key, durations in self._latency(query, metric, group_by).items()
        ]
        return sorted(rows, key=lambda r: (str(r.metric), r.key or ""))

    def model_stats(self, query: Query) -> list[ModelStats]:
        usage: dict[str | None, Usage] = defaultdict(Usage)
        agents: dict[str | None, set[str]] = defaultdict(set)
        for row in self.usage(query, (Dimension.MODEL, Dimension.AGENT)):
            model, agent = row.keys[Dimension.MODEL], row.keys[Dimension.AGENT]
            usage[model] += row.usage
            agents[model].add(agent or "")
        errors: dict[str | None, int] = defaultdict(int)
        for error in self.errors(query, Dimension.MODEL):
            errors[error.key] += error.errors
        latency = self._latency(query, LatencyMetric.REQUEST, Dimension.MODEL)
        empty = Percentiles(0, None, None, None, None, None)
        return [
            ModelStats(
                model=model,
                agents=tuple(sorted(agents.get(model, ()))),
                usage=usage.get(model, Usage()),
                api_errors=errors.get(model, 0),
                latency=latency.get(model, empty),
            )
            for model in sorted(set(usage) | set(errors), key=lambda m: m or "")
        ]

    def tool_stats(self, query: Query, bucket: Bucket | None = None) -> list[ToolStats]:
        sums = (
            "sum(calls) AS calls, sum(ok) AS ok, sum(failed) AS failed, "
            "sum(duration_us) AS duration_us, sum(timed_calls) AS timed_calls"
        )
        where = self._filters(query, model_column=None)
        hist: dict[tuple[str | None, str], list[tuple[int, int]]] = defaultdict(list)
        spans: list[tuple[int | None, int | None, int | None]]
        if bucket is None:
            source, params = _source(
                "latency_hist_tool", query, ("subject", "agent", "bin", "n"), where
            )
            for row in self._rows(
                f"SELECT subject, agent, bin, sum(n) AS n FROM {source} "
                "GROUP BY subject, agent, bin",
                params,
            ):
                hist[(_text(row["subject"]), row["agent"])].append((row["bin"], row["n"]))
            spans = [(query.since_ms, query.until_ms, None)]
        else:
            spans = list(self._offset_spans(query, "tool_rollup"))
        slice_ms = HOUR_MS if bucket is Bucket.HOUR else DAY_MS
        merged: dict[tuple[datetime | None, str | None, str], list[int]] = defaultdict(
            lambda: [0, 0, 0, 0, 0]
        )
        for low, high, offset in spans:
            coarsest = _coarsest(bucket, offset)
            span = query._replace(since_ms=low, until_ms=high)
            tool_columns = ("tool", "agent", "calls", "ok", "failed", "duration_us", "timed_calls")
            source, params = _source("tool_rollup", span, tool_columns, where, coarsest)
            local = "NULL" if offset is None else f"(t_ms + {offset}) / {slice_ms}"
            for row in self._rows(
                f"SELECT {local} AS local_n, tool, agent, {sums} FROM {source} "
                "GROUP BY local_n, tool, agent",
                params,
            ):
                local_n = None if row["local_n"] is None else int(row["local_n"]) * slice_ms
                period = _period(local_n, bucket)
                key = (
                    None if period is None else _localize(period, query.timezone),
                    _text(row["tool"]),
                    row["agent"],
                )
                totals = merged[key]
                for i, name in enumerate(("calls", "ok", "failed", "duration_us", "timed_calls")):
                    totals[i] += int(row[name] or 0)
        out: list[ToolStats] = []
        for (period, tool, agent), (calls, ok, failed, duration_us, timed) in merged.items():
            if not calls:
                continue
            mean = duration_us / timed / 1000 if timed else None
            if bucket is None:
                durations = _percentiles(hist.get((tool, agent), ()), mean)
            else:
                durations = Percentiles(timed, mean, None, None, None, None)
            out.append(ToolStats(period, tool, agent, calls, ok, failed, durations))
        out.sort(
            key=lambda t: (
                t.period or datetime.min.replace(tzinfo=UTC),
                -t.calls,
                t.tool or "",
                t.agent,
            )
        )
        return out

    def errors(self, query: Query, group_by: Dimension) -> list[ErrorRow]:
        if group_by is Dimension.MODEL:
            key, classes = "model", "error_class != 'tool_failure'"
        elif group_by is Dimension.TOOL:
            key, classes = "tool", "error_class = 'tool_failure'"
        elif group_by is Dimension.AGENT:
            key, classes = "agent", "1 = 1"
        else:
            raise ValueError(f"errors cannot be grouped by {group_by}")
        where = self._filters(query, model_column=None if group_by is Dimension.TOOL else "model")
        where.add(classes)
        source, params = _source(
            "error_rollup", query, (f"{key} AS k", "error_class", "errors"), where
        )
        found = list(
            self._rows(
                f"SELECT k, error_class, sum(errors) AS errors FROM {source} "
                "GROUP BY k, error_class",
                params,
            )
        )
        api_errors: dict[str | None, int] = defaultdict(int)
        for row in found:
            if row["error_class"] != "tool_failure":
                api_errors[_text(row["k"])] += row["errors"]
        requests: dict[str | None, int] = defaultdict(int)
        if group_by is not Dimension.TOOL:
            dimension = Dimension.MODEL if group_by is Dimension.MODEL else Dimension.AGENT
            for usage_row in self.usage(query, (dimension,)):
                requests[usage_row.keys[dimension]] += usage_row.usage.requests
        calls: dict[str | None, int] = defaultdict(int)
        if group_by is not Dimension.MODEL:
            tool_key = Dimension.TOOL if group_by is Dimension.TOOL else Dimension.AGENT
            for tool in self.tool_stats(query):
                calls[tool.tool if tool_key is Dimension.TOOL else tool.agent] += tool.calls
        out = []
        for row in found:
            k = _text(row["k"])
            if row["error_class"] == "tool_failure":
                attempts = calls[k]
            else:
                attempts = requests[k] + api_errors[k]
            out.append(ErrorRow(k, row["error_class"], int(row["errors"]), attempts))
        return sorted(out, key=lambda e: (-e.errors, e.key or "", e.error_class))

    # -- sessions ---------------------------------------------------------------------------

    def sessions(self, query: Query) -> list[SessionStats]:
        where = _Where()
        where.within("agent", query.agents)
        self._identity_filters(query, where)
        having = _Where()
        if query.since_ms is not None:
            # Sessions seen since then: the last_ms index finds them without a full scan.
            where.add(
                "(agent, session_id) IN (SELECT agent, session_id FROM session_rollup "
                "WHERE last_ms >= ?)",
                query.since_ms,
            )
        if query.until_ms is not None:
            having.add("min(first_ms) < ?", query.until_ms)
        if query.projects:
            marks = ", ".join("?" for _ in query.projects)
            having.add(f"max(project) IN ({marks})", *query.projects)
        if query.models:
            marks = ", ".join("?" for _ in query.models)
            having.add(f"sum(CASE WHEN model IN ({marks}) THEN 1 ELSE 0 END) > 0", *query.models)
        sums = ", ".join(f"sum({c}) AS {c}" for c in _USAGE_SUMS)
        rows = self._rows(
            "SELECT agent, session_id, max(project) AS project, min(first_ms) AS first_ms,"
            " max(last_ms) AS last_ms, max(peak_context_tokens) AS peak_context_tokens,"
            " sum(tool_calls) AS tool_calls, sum(tool_failed) AS tool_failed,"
            " sum(api_errors) AS api_errors, sum(compactions) AS compactions,"
            f" {sums}, "
            + self.text_agg.format("CASE WHEN requests > 0 THEN NULLIF(model, '') END")
            + " AS models,"
            " (SELECT count(*) FROM session_runs AS r WHERE r.agent = s.agent"
            "  AND r.session_id = s.session_id) AS turns"
            f" FROM session_rollup AS s WHERE {where.sql()} GROUP BY agent, session_id"
            f" HAVING {having.sql()} ORDER BY last_ms DESC, session_id",
            [*where.params, *having.params],
        )
        out = [
            SessionStats(
                agent=row["agent"],
                session_id=row["session_id"],
                project=row["project"],
                first_ms=row["first_ms"],
                last_ms=row["last_ms"],
                turns=row["turns"],
                usage=_usage(row),
                models=tuple(sorted(set((row["models"] or "").split("\x1f")) - {""})),
                tool_calls=row["tool_calls"],
                tool_failed=row["tool_failed"],
                api_errors=row["api_errors"],
                compactions=row["compactions"],
                peak_context_tokens=row["peak_context_tokens"],
            )
            for row in rows
        ]
        return self._repriced_sessions(out, query) if query.prices else out

    def _repriced_sessions(self, sessions: list[SessionStats], query: Query) -> list[SessionStats]:
        """Swap the stored cost of custom-priced models for their custom price."""
        where = _Where()
        where.within("agent", query.agents)
        self._identity_filters(query, where)
        where.within("model", list(query.prices))
        sums = ", ".join(f"sum({c}) AS {c}" for c in _USAGE_SUMS)
        changes: dict[tuple[str, str], tuple[int, int]] = defaultdict(lambda: (0, 0))
        for row in self._rows(
            f"SELECT agent, session_id, model, {sums} FROM session_rollup WHERE {where.sql()}"
            " GROUP BY agent, session_id, model",
            where.params,
        ):
            stored = _usage(row)
            priced = price_usage(row["model"], stored, query.prices)
            cost, unpriced = changes[(row["agent"], row["session_id"])]
            changes[(row["agent"], row["session_id"])] = (
                cost + priced.cost_nusd - stored.cost_nusd,
                unpriced + priced.unpriced_requests - stored.unpriced_requests,
            )
        out = []
        for stats in sessions:
            cost, unpriced = changes.get((stats.agent, stats.session_id), (0, 0))
            usage = stats.usage._replace(
                cost_nusd=stats.usage.cost_nusd + cost,
                unpriced_requests=stats.usage.unpriced_requests + unpriced,
            )
            out.append(stats._replace(usage=usage))
        return out

    def resolve_session(self, prefix: str) -> list[str]:
        """Session ids starting with ``prefix`` (at most two: enough to tell it is unique)."""
        return [
            row["session_id"]
            for row in self._rows(
                f"SELECT DISTINCT session_id FROM {self.events_table} WHERE session_id >= ? "
                "AND session_id < ? ORDER BY session_id LIMIT 2",
                [prefix, prefix + "\U0010ffff"],
            )
        ]

    def session_timeline(self, session_id: str) -> list[TimelineEvent]:
        out = []
        for row in self._rows(
            "SELECT kind, ts_ms, run_id, model, tool_name, ok, duration_ms, error_class,"
            " context_tokens, estimated, input_tokens, output_tokens, cache_read_tokens,"
            " cache_write_tokens, reasoning_tokens, cost_nusd, recorded_cost_nusd"
            f" FROM {self.events_table} WHERE session_id = ? AND counted = 1"
            " ORDER BY ts_ms, event_id",
            [session_id],
        ):
            usage = Usage()
            if row["kind"] == "llm_request" and not row["estimated"]:
                usage = _request_usage(row)
            out.append(
                TimelineEvent(
                    kind=row["kind"],
                    ts_ms=row["ts_ms"],
                    run_id=row["run_id"],
                    model=row["model"],
                    tool=row["tool_name"],
                    ok=None if row["ok"] is None else bool(row["ok"]),
                    duration_ms=row["duration_ms"],
                    error_class=row["error_class"],
                    usage=usage,
                    context_tokens=row["context_tokens"],
                )
            )
        return out

    # -- latest events (live view) ----------------------------------------------------------

    def latest_requests(self, query: Query, limit: int) -> list[RecentEvent]:
        where = self._filters(query, time_column="ts_ms", slice_ms=1)
        where.add("kind = 'llm_request' AND counted = 1 AND estimated = 0")
        out = []
        for row in self._latest(where, limit):
            usage = price_usage(row["model"], _request_usage(row), query.prices)
            out.append(_recent_event(row, usage))
        return out

    def latest_tool_failures(self, query: Query, limit: int) -> list[RecentEvent]:
        where = self._filters(query, time_column="ts_ms", slice_ms=1, model_column=None)
        where.add("kind = 'tool_call' AND counted = 1 AND ok = 0")
        return [_recent_event(row, Usage()) for row in self._latest(where, limit)]

    def _latest(self, where: _Where, limit: int) -> Iterator[dict[str, Any]]:
        """Newest first, walking the events time index backwards until ``limit`` rows match."""
        return self._rows(
            f"SELECT {_EVENT_COLUMNS} FROM {self.events_table} WHERE {where.sql()} "
            "ORDER BY ts_ms DESC, event_id DESC LIMIT ?",
            [*where.params, max(limit, 0)],
        )

    # -- activity (blocks) ------------------------------------------------------------------

    def activity(self, query: Query) -> list[Activity]:
        """Hourly slices: a 5-hour block starts on a whole hour, so an hour never straddles
        two blocks."""
        where = self._filters(query, time_column="hour", slice_ms=HOUR_MS)
        out = []
        for row in self._rows(
            f"SELECT hour, model, {_SUM_SQL} FROM usage_rollup_hourly WHERE {where.sql()} "
            "GROUP BY hour, model HAVING sum(requests) > 0 ORDER BY hour, model",
            where.params,
        ):
            model = _text(row["model"])
            usage = _usage(row)
            if query.prices:
                usage = price_usage(model, usage, query.prices)
            start = row["hour"] * HOUR_MS
            out.append(Activity(start, start + HOUR_MS, model, usage))
        return out

    def activity_span(self, query: Query) -> tuple[int, int] | None:
        where = self._filters(query, time_column="ts_ms", slice_ms=1)
        row = next(
            self._rows(
                f"SELECT min(ts_ms) AS first, max(ts_ms) AS last FROM {self.events_table} WHERE "
                f"kind = 'llm_request' AND counted = 1 AND estimated = 0 AND {where.sql()}",
                where.params,
            ),
            None,
        )
        if row is None or row["first"] is None:
            return None
        return int(row["first"]), int(row["last"])

    # -- what the totals leave out ----------------------------------------------------------

    def token_notes(self, query: Query) -> list[TokenNote]:
        """Agents without tokens on disk (their declaration, stored at ingest) that have
        requests or tool calls in the window, and estimated requests per agent."""
        unrecorded = {
            agent
            for agent in self._unrecorded_agents()
            if not query.agents or agent in query.agents
        }
        active: set[str] = set()
        if unrecorded:
            only = query._replace(agents=tuple(sorted(unrecorded)))
            counters = [("usage_rollup", "requests", self._filters(only))]
            if not query.models:  # tool calls carry no model
                counters.append(("tool_rollup", "calls", self._filters(only, model_column=None)))
            for table, counter, where in counters:
                source, params = _source(table, only, ("agent", counter), where)
                active.update(
                    row["agent"]
                    for row in self._rows(
                        f"SELECT agent FROM {source} GROUP BY agent HAVING sum({counter}) > 0",
                        params,
                    )
                )
        where = self._filters(query, time_column="ts_ms", slice_ms=1)
        estimated = {
            row["agent"]: int(row["n"])
            for row in self._rows(
                f"SELECT agent, count(*) AS n FROM {self.events_table} WHERE estimated = 1"
                f" AND kind = 'llm_request' AND counted = 1 AND {where.sql()} GROUP BY agent",
                where.params,
            )
        }
        return [
            TokenNote(agent, agent not in active, estimated.get(agent, 0))
            for agent in sorted(active | set(estimated))
        ]


class SqliteAnalytics(RollupAnalytics):
    """The ``Analytics`` protocol on one open local ``Store`` (read-only is enough): every
    event is this user's, on this machine (the host name)."""

    def __init__(self, store: Store | None, user: str | None = None) -> None:
        self.store = store
        self._user = user  # as uploads name this user (``upload.user``); else the OS user
        self._machine: str | None = None

    @property
    def machine(self) -> str:
        """This host's name, looked up only by a report that groups or filters by machine."""
        if self._machine is None:
            import socket

            self._machine = socket.gethostname()
        return self._machine

    @property
    def user(self) -> str:
        if self._user is None:
            from agenttail.upload.settings import os_user

            self._user = os_user()
        return self._user

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        if self.store is None:
            return iter(())
        return self.store.query(sql, params)

    def identity(self, dimension: Dimension) -> str:
        return sql_text(self.user if dimension is Dimension.USER else self.machine)

    def _unrecorded_agents(self) -> list[str]:
        """As each agent declares it (stored with its batches: ``agent_tokens``)."""
        return [
            row["agent"]
            for row in self._rows("SELECT agent FROM agent_tokens WHERE tokens_recorded = 0")
        ]


def offset_spans(tz: tzinfo, low_ms: int, high_ms: int) -> list[tuple[int, int, int]]:
    """Split [low, high) into spans of constant UTC offset: (low, high, offset_ms).

    Steps a day at a time and bisects each change to the 15-minute slice (every transition in
    the tz database falls on one).
    """

    def offset(ms: int) -> int:
        moment = datetime.fromtimestamp(ms / 1000, UTC).astimezone(tz)
        delta = moment.utcoffset() or timedelta()
        return int(delta.total_seconds() * 1000)

    spans = []
    start = low_ms
    current = offset(start)
    probe = start
    while probe < high_ms:
        step = min(probe + DAY_MS, high_ms)
        if offset(step - 1) != current:
            lo, hi = probe // QUARTER_HOUR_MS, -(-step // QUARTER_HOUR_MS)
            while hi - lo > 1:  # find the first slice with the new offset
                mid = (lo + hi) // 2
                if offset(mid * QUARTER_HOUR_MS) == current:
                    lo = mid
                else:
                    hi = mid
            change = max(hi * QUARTER_HOUR_MS, start + 1)
            spans.append((start, change, current))
            start, current = change, offset(change)
            probe = change
            continue
        probe = step
    spans.append((start, high_ms, current))
    return spans


def _period(local_ms: int | None, bucket: Bucket | None) -> datetime | None:
    """The naive local start of the period holding a local hour or day."""
    if local_ms is None or bucket is None:
        return None
    moment = _EPOCH + timedelta(milliseconds=local_ms)
    if bucket is Bucket.WEEK:
        day = moment.date()
        return datetime.combine(day - timedelta(days=day.weekday()), datetime.min.time())
    if bucket is Bucket.MONTH:
        return datetime(moment.year, moment.month, 1)  # noqa: DTZ001 - localized later
    return moment


def _localize(naive: datetime, tz: tzinfo) -> datetime:
    return naive.replace(tzinfo=tz)
