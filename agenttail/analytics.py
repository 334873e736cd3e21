"""The read interface every report uses: one ``Analytics`` protocol over a usage store.

Reports and ``--json`` outputs ask this interface, never SQL. The local SQLite store implements
it (``agenttail.store.analytics.SqliteAnalytics``) from trigger-kept rollups; the team store
(SQLite or PostgreSQL, ``agenttail.store.team.analytics.TeamAnalytics``) implements the same
protocol from rollups kept in each batch's transaction and passes the same test suite
(``tests/test_analytics.py``). Anything one engine does differently (bucketing by local
time, histogram bins) stays behind the implementation.

Units: times are epoch milliseconds (UTC); cost is integer nanodollars, ``None`` = unpriced
(never $0); durations are milliseconds.

The value types are named tuples, not frozen dataclasses: the status line imports this module
on every prompt refresh, and a frozen dataclass costs ~0.5 ms to define (fifteen here, plus
~6 ms to import ``dataclasses``), a named tuple a tenth of that. They are immutable all the
same; ``_replace`` makes a changed copy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple, Protocol


class Dimension(StrEnum):
    """What rows are grouped by."""

    AGENT = "agent"
    MODEL = "model"
    PROJECT = "project"
    SESSION = "session"
    TOOL = "tool"
    MACHINE = "machine"
    USER = "user"


class Bucket(StrEnum):
    """Calendar periods in the query's timezone (weeks start on Monday, ISO 8601)."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


class CostSource(StrEnum):
    """Which cost a report shows: agenttail's price, the agent's recorded cost, or both."""

    CALCULATED = "calculated"
    RECORDED = "recorded"
    BOTH = "both"


class LatencyMetric(StrEnum):
    REQUEST = "request"  # a model request's duration, where the source records it
    TTFT = "ttft"  # time to first token, where the source records it
    TOOL = "tool"  # a tool call's duration


class ModelPrice(NamedTuple):
    """A custom price (config.toml ``[prices."model"]``), USD per million tokens.

    Kept as integer nanodollars per million tokens so sums stay exact.
    """

    input: int
    output: int
    cache_read: int
    cache_write: int

    @classmethod
    def per_million_usd(
        cls, input: object, output: object, cache_read: object, cache_write: object
    ) -> ModelPrice:
        from agenttail.money import nusd_from_usd

        def nanos(value: object) -> int:
            nanos = nusd_from_usd(value)
            if nanos is None:
                raise ValueError(f"invalid price {value!r}: use a number of USD >= 0")
            return nanos

        return cls(nanos(input), nanos(output), nanos(cache_read), nanos(cache_write))

    def cost_nusd(self, input: int, output: int, cache_read: int, cache_write: int) -> int:
        """Cost of token sums, rounded half-up to the nanodollar."""
        total = (
            input * self.input
            + output * self.output
            + cache_read * self.cache_read
            + cache_write * self.cache_write
        )
        return (total + 500_000) // 1_000_000


class Query(NamedTuple):
    """Filters every question takes. Empty tuples mean "all"; times bound ``[since, until)``.

    ``prices`` are custom prices that win over the stored (genai-prices) cost for their models.
    """

    agents: tuple[str, ...] = ()
    projects: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    users: tuple[str, ...] = ()  # a team store's developers (the local store: this user)
    machines: tuple[str, ...] = ()  # machine ids (the local store: this host)
    since_ms: int | None = None
    until_ms: int | None = None
    timezone: tzinfo = UTC
    prices: Mapping[str, ModelPrice] = MappingProxyType({})


class Usage(NamedTuple):
    """Token and cost sums over counted, measured (not estimated) model requests."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    requests: int = 0
    cost_nusd: int = 0  # priced requests only
    unpriced_requests: int = 0
    recorded_cost_nusd: int = 0  # requests whose source recorded a cost
    recorded_requests: int = 0

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def __add__(self, other: Usage) -> Usage:  # type: ignore[override]  # sums, not concatenates
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
            self.requests + other.requests,
            self.cost_nusd + other.cost_nusd,
            self.unpriced_requests + other.unpriced_requests,
            self.recorded_cost_nusd + other.recorded_cost_nusd,
            self.recorded_requests + other.recorded_requests,
        )


def price_usage(model: str | None, usage: Usage, prices: Mapping[str, ModelPrice]) -> Usage:
    """``usage`` of one model with its custom price, if it has one (it wins over the stored
    cost and prices requests that had none)."""
    price = prices.get(model) if model else None
    if price is None:
        return usage
    cost = price.cost_nusd(
        usage.input_tokens, usage.output_tokens, usage.cache_read_tokens, usage.cache_write_tokens
    )
    return usage._replace(cost_nusd=cost, unpriced_requests=0)


class UsageRow(NamedTuple):
    """Usage of one group in one period. ``period`` is the period's local start (or None
    without a bucket); ``keys`` holds one value per requested dimension (None = unknown)."""

    period: datetime | None
    keys: Mapping[Dimension, str | None]
    usage: Usage


class Percentiles(NamedTuple):
    """A duration distribution in milliseconds; ``count`` values, exact mean."""

    count: int  # type: ignore[assignment]  # the field shadows tuple.count, unused here
    mean: float | None
    p50: float | None
    p90: float | None
    p95: float | None
    p99: float | None


class LatencyRow(NamedTuple):
    key: str | None  # the model or agent
    metric: LatencyMetric
    durations: Percentiles


class ModelStats(NamedTuple):
    model: str | None
    agents: tuple[str, ...]
    usage: Usage
    api_errors: int
    latency: Percentiles  # request durations

    @property
    def error_rate(self) -> float | None:
        attempts = self.usage.requests + self.api_errors
        return None if attempts == 0 else self.api_errors / attempts


class ToolStats(NamedTuple):
    """Calls of one tool by one agent (a call counts once per tool-use id)."""

    period: datetime | None
    tool: str | None
    agent: str
    calls: int
    ok: int
    failed: int
    durations: Percentiles

    @property
    def success_rate(self) -> float | None:
        decided = self.ok + self.failed
        return None if decided == 0 else self.ok / decided


class ErrorRow(NamedTuple):
    """Errors of one class in one group. ``attempts`` is the group's denominator: requests
    plus API errors for a model or agent, calls for a tool."""

    key: str | None
    error_class: str
    errors: int
    attempts: int


class ToolUse(NamedTuple):
    tool: str | None
    calls: int
    failed: int
    mean_duration_ms: float | None


class SessionStats(NamedTuple):
    agent: str
    session_id: str
    project: str | None
    first_ms: int
    last_ms: int
    turns: int
    usage: Usage
    models: tuple[str, ...]
    tool_calls: int
    tool_failed: int
    api_errors: int
    compactions: int
    peak_context_tokens: int | None


class TimelineEvent(NamedTuple):
    """One event of a session, in order, for ``report session ID``."""

    kind: str
    ts_ms: int
    run_id: str | None
    model: str | None
    tool: str | None
    ok: bool | None
    duration_ms: float | None
    error_class: str | None
    usage: Usage  # one request's tokens and cost (zero for other kinds)
    context_tokens: int | None


class RecentEvent(NamedTuple):
    """One recent event of any session, for the live view: a model request or a failed tool
    call."""

    kind: str
    ts_ms: int
    agent: str
    session_id: str
    project: str | None
    model: str | None  # None for a tool call
    tool: str | None  # None for a request
    duration_ms: float | None
    error_class: str | None
    usage: Usage  # one request's tokens and cost (zero for a tool call)


class Activity(NamedTuple):
    """Usage in one whole UTC hour (or a finer slice), for 5-hour blocks."""

    start_ms: int
    end_ms: int
    model: str | None
    usage: Usage


class TokenNote(NamedTuple):
    """An agent whose activity in a window the token totals leave out, said plainly."""

    agent: str
    tokens_recorded: bool  # False: the agent keeps no token usage on disk
    estimated_requests: int  # estimated requests: counted, but never in a ``Usage``


class Analytics(Protocol):
    """Read questions over a usage store; every method honours every ``Query`` filter."""

    def usage(
        self,
        query: Query,
        group_by: Sequence[Dimension] = (),
        bucket: Bucket | None = None,
    ) -> list[UsageRow]:
        """Usage per period (local calendar, ``query.timezone``) and group; no empty rows."""
        ...

    def model_stats(self, query: Query) -> list[ModelStats]: ...

    def tool_stats(self, query: Query, bucket: Bucket | None = None) -> list[ToolStats]:
        """Per (period, tool, agent); percentiles only when ``bucket`` is None."""
        ...

    def latency(self, query: Query, group_by: Dimension) -> list[LatencyRow]:
        """Request, time-to-first-token and tool durations per model or agent."""
        ...

    def errors(self, query: Query, group_by: Dimension) -> list[ErrorRow]:
        """API errors and failed tool calls by class, per model, agent or tool."""
        ...

    def sessions(self, query: Query) -> list[SessionStats]:
        """Sessions active in the window (whole-session totals), latest first."""
        ...

    def resolve_session(self, prefix: str) -> list[str]:
        """Session ids starting with ``prefix``: at most two, enough to tell it is unique."""
        ...

    def session_timeline(self, session_id: str) -> list[TimelineEvent]:
        """Every counted event of one session (a unique prefix of its id), in time order."""
        ...

    def latest_requests(self, query: Query, limit: int) -> list[RecentEvent]:
        """The newest measured model requests in the window, newest first, custom prices
        applied."""
        ...

    def latest_tool_failures(self, query: Query, limit: int) -> list[RecentEvent]:
        """The newest failed tool calls in the window (an unknown outcome is no failure),
        newest first; the model filter does not apply."""
        ...

    def activity(self, query: Query) -> list[Activity]:
        """Usage per UTC hour (or finer slice) and model, oldest first; a slice never
        straddles a whole hour."""
        ...

    def activity_span(self, query: Query) -> tuple[int, int] | None:
        """Exact first and last request time in the window, or None."""
        ...

    def token_notes(self, query: Query) -> list[TokenNote]:
        """Agents with activity in the window that keep no tokens on disk, or with estimated
        requests there; only agents needing a note, by name."""
        ...
