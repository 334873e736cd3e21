"""The ``Analytics`` contract: every implementation answers these questions the same way.

The ``analytics`` fixture builds a store from ``FIXTURE`` (plain ``MetricEvent`` values) and
yields an implementation over it, once per implementation in ``IMPLEMENTATIONS``: the local
store, and the team store on SQLite and on a real PostgreSQL, loaded as a daemon sends events
(a local store, the wire encoding, the receiver's decoder, ``TeamStore.ingest``). Every
expected number is computed here, from ``FIXTURE``, by the test's own arithmetic.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agenttail.analytics import (
    Analytics,
    Bucket,
    Dimension,
    LatencyMetric,
    ModelPrice,
    Query,
    Usage,
    price_usage,
)
from agenttail.events import EventKind, MetricEvent, stable_id

SONNET = "claude-sonnet-4-20250514"
HAIKU = "claude-haiku-4-5-20251001"
MYSTERY = "mystery-model-1"  # no price anywhere
HOUR = 3_600_000


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def _request(
    n: int,
    *,
    agent: str,
    session: str,
    project: str | None,
    model: str,
    ts: int,
    run: str,
    duration: float | None = None,
    ttft: float | None = None,
) -> MetricEvent:
    priced = model != MYSTERY
    return MetricEvent(
        event_id=stable_id("req", n),
        kind=EventKind.LLM_REQUEST,
        agent=agent,
        session_id=session,
        ts_ms=ts,
        run_id=run,
        project=project,
        model=model,
        input_tokens=10 + n,
        output_tokens=100 + 2 * n,
        cache_read_tokens=1000 * (n % 3),
        cache_write_tokens=50 * (n % 2),
        cache_write_5m_tokens=50 * (n % 2),
        cost_nusd=(1_000_000 + 7 * n) if priced else None,
        recorded_cost_nusd=2_000_000 if agent == "copilot" else None,
        duration_ms=duration,
        ttft_ms=ttft,
        context_tokens=10 + n + 1000 * (n % 3) + 50 * (n % 2),
    )


def _build() -> list[MetricEvent]:
    events: list[MetricEvent] = []
    # claude_code, session s-alpha in /p/shop: 20 Sonnet requests, one every 10 minutes from
    # 2026-11-02 14:00 UTC, durations 100..2000 ms, ttft 10..200 ms; two runs.
    start = ms("2026-11-02T14:00:00")
    for i in range(20):
        events.append(
            _request(
                i,
                agent="claude_code",
                session="s-alpha",
                project="/p/shop",
                model=SONNET,
                ts=start + i * 600_000,
                run="run-a1" if i < 10 else "run-a2",
                duration=100.0 * (i + 1),
                ttft=10.0 * (i + 1),
            )
        )
    # claude_code, session s-beta in /p/blog: 4 Haiku and 2 unpriced requests late on Nov 3
    # UTC (already Nov 4 in Tokyo), no durations.
    late = ms("2026-11-03T20:00:00")
    for j in range(6):
        events.append(
            _request(
                100 + j,
                agent="claude_code",
                session="s-beta",
                project="/p/blog",
                model=HAIKU if j < 4 else MYSTERY,
                ts=late + j * 60_000,
                run="run-b1",
            )
        )
    # copilot, session s-gamma without a project, 3 Sonnet requests on Nov 10 (another week).
    for k in range(3):
        events.append(
            _request(
                200 + k,
                agent="copilot",
                session="s-gamma",
                project=None,
                model=SONNET,
                ts=ms("2026-11-10T09:00:00") + k * 1000,
                run="run-g1",
                duration=500.0,
            )
        )
    # Tool calls in s-alpha: Bash x10 (3 failed) 10..100 ms, Read x5 (all ok) 5 ms each.
    for i in range(10):
        events.append(
            MetricEvent(
                event_id=stable_id("tool-bash", i),
                kind=EventKind.TOOL_CALL,
                agent="claude_code",
                session_id="s-alpha",
                ts_ms=start + i * 60_000 + 30_000,
                run_id="run-a1",
                project="/p/shop",
                tool_name="Bash",
                ok=i not in (2, 5, 8),
                duration_ms=10.0 * (i + 1),
            )
        )
    for i in range(5):
        events.append(
            MetricEvent(
                event_id=stable_id("tool-read", i),
                kind=EventKind.TOOL_CALL,
                agent="claude_code",
                session_id="s-alpha",
                ts_ms=start + HOUR + i * 1000,
                run_id="run-a2",
                project="/p/shop",
                tool_name="Read",
                ok=True,
                duration_ms=5.0,
            )
        )
    # A Task call whose outcome the source did not record: a call, neither ok nor failed.
    events.append(
        MetricEvent(
            event_id=stable_id("tool-task", 0),
            kind=EventKind.TOOL_CALL,
            agent="claude_code",
            session_id="s-alpha",
            ts_ms=start + HOUR + 10_000,
            run_id="run-a2",
            project="/p/shop",
            tool_name="Task",
        )
    )
    # API errors: 2 rate limits and 1 overloaded on Sonnet in s-alpha; 1 server error in s-gamma.
    for i, (cls, session, agent) in enumerate(
        [
            ("rate_limit", "s-alpha", "claude_code"),
            ("rate_limit", "s-alpha", "claude_code"),
            ("overloaded", "s-alpha", "claude_code"),
            ("server_error", "s-gamma", "copilot"),
        ]
    ):
        events.append(
            MetricEvent(
                event_id=stable_id("err", i),
                kind=EventKind.API_ERROR,
                agent=agent,
                session_id=session,
                ts_ms=start + 2 * HOUR + i * 1000
                if session == "s-alpha"
                else ms("2026-11-10T09:30:00"),
                run_id="run-a2" if session == "s-alpha" else "run-g1",
                project="/p/shop" if session == "s-alpha" else None,
                model=SONNET,
                ok=False,
                error_class=cls,
            )
        )
    events.append(
        MetricEvent(
            event_id=stable_id("compaction", 1),
            kind=EventKind.COMPACTION,
            agent="claude_code",
            session_id="s-alpha",
            ts_ms=start + 90 * 60_000,
            run_id="run-a2",
            project="/p/shop",
        )
    )
    # An estimate: stored, never added to measured totals.
    events.append(
        replace(
            _request(
                300,
                agent="claude_code",
                session="s-beta",
                project="/p/blog",
                model=HAIKU,
                ts=late,
                run="run-b1",
            ),
            estimated=True,
        )
    )
    return events


FIXTURE = _build()
REQUESTS = [e for e in FIXTURE if e.kind == EventKind.LLM_REQUEST and not e.estimated]
TOOLS = [e for e in FIXTURE if e.kind == EventKind.TOOL_CALL]
ERRORS = [e for e in FIXTURE if e.kind == EventKind.API_ERROR]


# -- implementations --------------------------------------------------------------------------


def _sqlite(
    _request: pytest.FixtureRequest, tmp_path: Path, events: Sequence[MetricEvent]
) -> Iterator[Analytics]:
    from agenttail.store import Store
    from agenttail.store.analytics import SqliteAnalytics
    from agenttail.store.events import upsert_events

    path = tmp_path / "analytics.db"
    with Store(path) as writer, writer.transaction():
        upsert_events(writer.conn, events, "fixture", 0)
    with Store(path, readonly=True) as store:
        yield SqliteAnalytics(store)


def _team(engine: str) -> Factory:
    def factory(
        request: pytest.FixtureRequest, tmp_path: Path, events: Sequence[MetricEvent]
    ) -> Iterator[Analytics]:
        from agenttail.store.team.analytics import open_team_analytics
        from tests.server.daemon_upload import upload
        from tests.server.postgres import fresh_database

        tmp_path.mkdir(parents=True, exist_ok=True)
        if engine == "sqlite":
            url = f"sqlite:///{tmp_path / 'team.db'}"
        else:
            url = fresh_database(request.getfixturevalue("postgres_server"))
        upload(url, tmp_path / "daemon", events)
        with open_team_analytics(url) as analytics:
            yield analytics

    return factory


Factory = Callable[[pytest.FixtureRequest, Path, Sequence[MetricEvent]], Iterator[Analytics]]
IMPLEMENTATIONS: dict[str, Factory] = {
    "sqlite": _sqlite,
    "team-sqlite": _team("sqlite"),
    "team-postgresql": _team("postgresql"),
}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def analytics(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Analytics]:
    yield from IMPLEMENTATIONS[request.param](request, tmp_path, FIXTURE)


# -- expected values, by plain arithmetic over FIXTURE -----------------------------------------


def expected_usage(events: Sequence[MetricEvent]) -> Usage:
    return Usage(
        input_tokens=sum(e.input_tokens for e in events),
        output_tokens=sum(e.output_tokens for e in events),
        cache_read_tokens=sum(e.cache_read_tokens for e in events),
        cache_write_tokens=sum(e.cache_write_tokens for e in events),
        reasoning_tokens=sum(e.reasoning_tokens for e in events),
        requests=len(events),
        cost_nusd=sum(e.cost_nusd or 0 for e in events),
        unpriced_requests=sum(1 for e in events if e.cost_nusd is None),
        recorded_cost_nusd=sum(e.recorded_cost_nusd or 0 for e in events),
        recorded_requests=sum(1 for e in events if e.recorded_cost_nusd is not None),
    )


def nearest_rank(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def close(measured: float | None, exact: float) -> bool:
    """Within the histogram's documented bound (2.2%, rounded up to 2.5%)."""
    return measured is not None and abs(measured - exact) <= 0.025 * exact


# -- usage ------------------------------------------------------------------------------------


def test_summary_counts_measured_requests_only(analytics: Analytics) -> None:
    (row,) = analytics.usage(Query())
    assert row.usage == expected_usage(REQUESTS)
    assert row.usage.unpriced_requests == 2


def test_usage_by_agent_model_and_project(analytics: Analytics) -> None:
    fields = {
        Dimension.AGENT: "agent",
        Dimension.MODEL: "model",
        Dimension.PROJECT: "project",
        Dimension.SESSION: "session_id",
    }
    for dimension, field in fields.items():
        groups: dict[str | None, list[MetricEvent]] = defaultdict(list)
        for event in REQUESTS:
            groups[getattr(event, field)].append(event)
        rows = analytics.usage(Query(), (dimension,))
        assert {r.keys[dimension]: r.usage for r in rows} == {
            key: expected_usage(events) for key, events in groups.items()
        }, dimension


def _days(tz: str) -> dict[str, Usage]:
    groups: dict[str, list[MetricEvent]] = defaultdict(list)
    for event in REQUESTS:
        day = datetime.fromtimestamp(event.ts_ms / 1000, ZoneInfo(tz)).date().isoformat()
        groups[day].append(event)
    return {day: expected_usage(events) for day, events in groups.items()}


@pytest.mark.parametrize("tz", ["UTC", "Asia/Tokyo", "Asia/Kolkata", "America/New_York"])
def test_days_follow_the_timezone(analytics: Analytics, tz: str) -> None:
    rows = analytics.usage(Query(timezone=ZoneInfo(tz)), (), Bucket.DAY)
    found = {r.period.date().isoformat(): r.usage for r in rows if r.period}
    assert found == _days(tz)
    assert all(r.period and r.period.utcoffset() is not None for r in rows)


def test_weeks_start_on_monday_and_months_group_days(analytics: Analytics) -> None:
    weeks = analytics.usage(Query(), (), Bucket.WEEK)
    # Nov 2 and Nov 3 2026 share the week of Monday Nov 2; Nov 10 is in the week of Nov 9.
    by_week = {r.period.date().isoformat(): r.usage.requests for r in weeks if r.period}
    assert by_week == {"2026-11-02": 26, "2026-11-09": 3}
    (month,) = analytics.usage(Query(), (), Bucket.MONTH)
    assert month.period is not None and month.period.date().isoformat() == "2026-11-01"
    assert month.usage == expected_usage(REQUESTS)


def test_hours_bucket(analytics: Analytics) -> None:
    rows = analytics.usage(Query(agents=("claude_code",), models=(SONNET,)), (), Bucket.HOUR)
    expected = Counter(
        datetime.fromtimestamp(e.ts_ms / 1000, UTC).replace(minute=0, second=0)
        for e in REQUESTS
        if e.model == SONNET and e.agent == "claude_code"
    )
    assert {r.period: r.usage.requests for r in rows} == dict(expected)


def test_filters_narrow_every_question(analytics: Analytics) -> None:
    since, until = ms("2026-11-03T00:00:00"), ms("2026-11-04T00:00:00")
    query = Query(since_ms=since, until_ms=until)
    (row,) = analytics.usage(query)
    assert row.usage == expected_usage([e for e in REQUESTS if since <= e.ts_ms < until])
    # Ragged ends (read from 15-minute slices) around whole days (read from daily rollups).
    since, until = ms("2026-11-02T14:30:00"), ms("2026-11-10T09:00:00")
    (row,) = analytics.usage(Query(since_ms=since, until_ms=until))
    assert row.usage == expected_usage([e for e in REQUESTS if since <= e.ts_ms < until])
    # A long window: four-week slices in the middle, days and finer slices at its ends.
    wide = Query(since_ms=ms("2026-08-30T07:00:00"), until_ms=ms("2027-01-03T05:15:00"))
    (row,) = analytics.usage(wide)
    assert row.usage == expected_usage(REQUESTS)
    assert sum(t.calls for t in analytics.tool_stats(wide)) == len(TOOLS)
    assert sum(e.errors for e in analytics.errors(wide, Dimension.AGENT)) == len(ERRORS) + 3
    since = ms("2026-11-02T14:15:00")
    tools = analytics.tool_stats(Query(since_ms=since, until_ms=until))
    assert sum(t.calls for t in tools) == sum(1 for t in TOOLS if since <= t.ts_ms < until)
    (row,) = analytics.usage(Query(agents=("copilot",)))
    assert row.usage == expected_usage([e for e in REQUESTS if e.agent == "copilot"])
    (row,) = analytics.usage(Query(projects=("/p/blog",), models=(HAIKU,)))
    assert row.usage == expected_usage(
        [e for e in REQUESTS if e.project == "/p/blog" and e.model == HAIKU]
    )
    assert analytics.usage(Query(agents=("nobody",))) == []
    assert analytics.tool_stats(Query(projects=("/p/blog",))) == []
    assert analytics.sessions(Query(agents=("copilot",)))[0].session_id == "s-gamma"


def test_custom_prices_win_and_price_unpriced_models(analytics: Analytics) -> None:
    price = ModelPrice.per_million_usd(1.5, 6, 0.15, 1.875)
    rows = analytics.usage(Query(prices={MYSTERY: price}), (Dimension.MODEL,))
    mystery = next(r.usage for r in rows if r.keys[Dimension.MODEL] == MYSTERY)
    events = [e for e in REQUESTS if e.model == MYSTERY]
    # $1.5 per million = 1500 nanodollars per token, and so on.
    cost = sum(
        e.input_tokens * 1500
        + e.output_tokens * 6000
        + e.cache_read_tokens * 150
        + e.cache_write_tokens * 1875
        for e in events
    )
    assert (mystery.cost_nusd, mystery.unpriced_requests) == (cost, 0)
    (total,) = analytics.usage(Query(prices={MYSTERY: price}))
    assert total.usage.cost_nusd == expected_usage(REQUESTS).cost_nusd + cost
    assert total.usage.unpriced_requests == 0
    assert price_usage(SONNET, total.usage, {}) == total.usage
    sessions = {x.session_id: x for x in analytics.sessions(Query(prices={MYSTERY: price}))}
    beta = [e for e in REQUESTS if e.session_id == "s-beta" and e.model != MYSTERY]
    assert sessions["s-beta"].usage.cost_nusd == expected_usage(beta).cost_nusd + cost
    assert sessions["s-beta"].usage.unpriced_requests == 0
    assert sessions["s-alpha"].usage == expected_usage(
        [e for e in REQUESTS if e.session_id == "s-alpha"]
    )


# -- models, latency, tools, errors -----------------------------------------------------------


def test_model_stats(analytics: Analytics) -> None:
    stats = {s.model: s for s in analytics.model_stats(Query())}
    sonnet = stats[SONNET]
    requests = [e for e in REQUESTS if e.model == SONNET]
    errors = [e for e in ERRORS if e.model == SONNET]
    assert sonnet.usage == expected_usage(requests)
    assert sonnet.agents == ("claude_code", "copilot")
    assert sonnet.api_errors == len(errors) == 4
    assert sonnet.error_rate == pytest.approx(4 / (23 + 4))
    durations = [e.duration_ms for e in requests if e.duration_ms is not None]
    assert sonnet.latency.count == len(durations) == 23
    assert sonnet.latency.mean == pytest.approx(sum(durations) / len(durations))
    assert close(sonnet.latency.p50, nearest_rank(durations, 0.5))
    assert close(sonnet.latency.p95, nearest_rank(durations, 0.95))
    assert stats[MYSTERY].latency.count == 0 and stats[MYSTERY].latency.p50 is None


def test_latency_percentiles_per_model_and_agent(analytics: Analytics) -> None:
    rows = {(r.metric, r.key): r.durations for r in analytics.latency(Query(), Dimension.MODEL)}
    requests = [e.duration_ms for e in REQUESTS if e.model == SONNET and e.duration_ms]
    ttft = [e.ttft_ms for e in REQUESTS if e.model == SONNET and e.ttft_ms]
    for metric, values in ((LatencyMetric.REQUEST, requests), (LatencyMetric.TTFT, ttft)):
        found = rows[(metric, SONNET)]
        assert found.count == len(values)
        for name, fraction in (("p50", 0.5), ("p90", 0.9), ("p95", 0.95), ("p99", 0.99)):
            assert close(getattr(found, name), nearest_rank(values, fraction)), (metric, name)
    by_agent = {(r.metric, r.key): r.durations for r in analytics.latency(Query(), Dimension.AGENT)}
    copilot = by_agent[(LatencyMetric.REQUEST, "copilot")]
    assert copilot.count == 3
    assert copilot.mean == pytest.approx(500.0)
    assert close(copilot.p99, 500.0)
    tools = by_agent[(LatencyMetric.TOOL, "claude_code")]
    timed = [t.duration_ms for t in TOOLS if t.duration_ms is not None]
    assert tools.count == len(timed)
    assert close(tools.p50, nearest_rank(timed, 0.5))


def test_tool_stats_success_rates_and_durations(analytics: Analytics) -> None:
    stats = {s.tool: s for s in analytics.tool_stats(Query())}
    for name in ("Bash", "Read"):
        calls = [t for t in TOOLS if t.tool_name == name]
        found = stats[name]
        ok = sum(1 for t in calls if t.ok)
        assert (found.agent, found.calls, found.ok, found.failed) == (
            "claude_code",
            len(calls),
            ok,
            len(calls) - ok,
        )
        assert found.success_rate == pytest.approx(ok / len(calls))
        durations = [t.duration_ms or 0 for t in calls]
        assert found.durations.mean == pytest.approx(sum(durations) / len(durations))
        assert close(found.durations.p50, nearest_rank(durations, 0.5))
        assert close(found.durations.p95, nearest_rank(durations, 0.95))
    assert stats["Bash"].success_rate == pytest.approx(0.7)
    task = stats["Task"]  # outcome unknown: a call, neither ok nor failed
    assert (task.calls, task.ok, task.failed, task.success_rate) == (1, 0, 0, None)


def test_tool_calls_per_day(analytics: Analytics) -> None:
    rows = analytics.tool_stats(Query(), Bucket.DAY)
    assert [(r.period and r.period.date().isoformat(), r.tool, r.calls) for r in rows] == [
        ("2026-11-02", "Bash", 10),
        ("2026-11-02", "Read", 5),
        ("2026-11-02", "Task", 1),
    ]


def test_errors_by_class_with_rates(analytics: Analytics) -> None:
    by_model = {(e.key, e.error_class): e for e in analytics.errors(Query(), Dimension.MODEL)}
    sonnet_requests = sum(1 for e in REQUESTS if e.model == SONNET)
    assert {k: v.errors for k, v in by_model.items()} == {
        (SONNET, "rate_limit"): 2,
        (SONNET, "overloaded"): 1,
        (SONNET, "server_error"): 1,
    }
    assert by_model[(SONNET, "rate_limit")].attempts == sonnet_requests + len(ERRORS)
    by_tool = analytics.errors(Query(), Dimension.TOOL)
    assert [(e.key, e.error_class, e.errors, e.attempts) for e in by_tool] == [
        ("Bash", "tool_failure", 3, 10)
    ]
    by_agent = {(e.key, e.error_class): e for e in analytics.errors(Query(), Dimension.AGENT)}
    claude_requests = sum(1 for e in REQUESTS if e.agent == "claude_code")
    assert by_agent[("claude_code", "tool_failure")].attempts == len(TOOLS)
    assert by_agent[("claude_code", "rate_limit")].attempts == claude_requests + 3
    assert by_agent[("copilot", "server_error")].attempts == 3 + 1


# -- sessions and timelines -------------------------------------------------------------------


def test_sessions(analytics: Analytics) -> None:
    sessions = {s.session_id: s for s in analytics.sessions(Query())}
    assert list(sessions) == ["s-gamma", "s-beta", "s-alpha"]  # latest first
    alpha = sessions["s-alpha"]
    events = [e for e in FIXTURE if e.session_id == "s-alpha"]
    assert alpha.usage == expected_usage([e for e in REQUESTS if e.session_id == "s-alpha"])
    assert (alpha.agent, alpha.project, alpha.models) == ("claude_code", "/p/shop", (SONNET,))
    assert alpha.first_ms == min(e.ts_ms for e in events)
    assert alpha.last_ms == max(e.ts_ms for e in events)
    assert alpha.turns == 2
    assert (alpha.tool_calls, alpha.tool_failed, alpha.api_errors, alpha.compactions) == (
        sum(1 for e in events if e.kind == EventKind.TOOL_CALL),
        sum(1 for e in events if e.kind == EventKind.TOOL_CALL and e.ok is False),
        3,
        1,
    )
    assert alpha.peak_context_tokens == max(e.context_tokens or 0 for e in events)
    beta = sessions["s-beta"]
    assert beta.models == (HAIKU, MYSTERY)
    assert beta.usage.unpriced_requests == 2
    assert sessions["s-gamma"].project is None
    window = Query(since_ms=ms("2026-11-03T00:00:00"), until_ms=ms("2026-11-04T00:00:00"))
    assert [s.session_id for s in analytics.sessions(window)] == ["s-beta"]
    assert [s.session_id for s in analytics.sessions(Query(models=(MYSTERY,)))] == ["s-beta"]


def test_session_timeline_in_order(analytics: Analytics) -> None:
    assert analytics.resolve_session("s-al") == ["s-alpha"]
    assert analytics.resolve_session("s-") == ["s-alpha", "s-beta"]
    assert analytics.resolve_session("nope") == []
    timeline = analytics.session_timeline("s-alpha")
    expected = sorted(
        (e for e in FIXTURE if e.session_id == "s-alpha"), key=lambda e: (e.ts_ms, e.event_id)
    )
    assert [(t.kind, t.ts_ms) for t in timeline] == [(str(e.kind), e.ts_ms) for e in expected]
    first = next(t for t in timeline if t.kind == "llm_request")
    assert first.usage == expected_usage([REQUESTS[0]])
    assert first.context_tokens == REQUESTS[0].context_tokens
    failed = [t.tool for t in timeline if t.kind == "tool_call" and t.ok is False]
    assert failed == ["Bash"] * 3


def test_activity_slices_and_exact_span(analytics: Analytics) -> None:
    slices = analytics.activity(Query(agents=("claude_code",)))
    assert sum((s.usage for s in slices), Usage()) == expected_usage(
        [e for e in REQUESTS if e.agent == "claude_code"]
    )
    assert all(s.end_ms - s.start_ms <= HOUR for s in slices)
    assert all(s.start_ms // HOUR == (s.end_ms - 1) // HOUR for s in slices)
    assert [s.start_ms for s in slices] == sorted(s.start_ms for s in slices)
    span = analytics.activity_span(
        Query(agents=("claude_code",), until_ms=ms("2026-11-03T00:00:00"))
    )
    alpha = [e.ts_ms for e in REQUESTS if e.session_id == "s-alpha"]
    assert span == (min(alpha), max(alpha))
    assert analytics.activity_span(Query(agents=("nobody",))) is None


def _newest_first(events: Sequence[MetricEvent]) -> list[MetricEvent]:
    return sorted(events, key=lambda e: (e.ts_ms, e.event_id), reverse=True)


def test_latest_requests_newest_first_with_their_own_numbers(analytics: Analytics) -> None:
    latest = analytics.latest_requests(Query(), 4)
    expected = _newest_first(REQUESTS)[:4]  # the estimate is never among them
    assert [(r.ts_ms, r.agent, r.session_id, r.model) for r in latest] == [
        (e.ts_ms, e.agent, e.session_id, e.model) for e in expected
    ]
    assert [r.usage for r in latest] == [expected_usage([e]) for e in expected]
    assert [r.duration_ms for r in latest] == [e.duration_ms for e in expected]
    assert {r.kind for r in latest} == {"llm_request"} and {r.tool for r in latest} == {None}
    # Filters and the window apply; an unpriced request stays unpriced, a custom price wins.
    beta = analytics.latest_requests(
        Query(agents=("claude_code",), until_ms=ms("2026-11-04T00:00:00")), 3
    )
    expected_beta = _newest_first([e for e in REQUESTS if e.session_id == "s-beta"])[:3]
    assert [r.ts_ms for r in beta] == [e.ts_ms for e in expected_beta]
    assert beta[0].model == MYSTERY and beta[0].usage.unpriced_requests == 1
    price = ModelPrice.per_million_usd(1, 2, 0, 0)
    (priced,) = analytics.latest_requests(Query(models=(MYSTERY,), prices={MYSTERY: price}), 1)
    newest = expected_beta[0]
    assert priced.usage.cost_nusd == newest.input_tokens * 1000 + newest.output_tokens * 2000
    assert priced.usage.unpriced_requests == 0
    assert analytics.latest_requests(Query(), 0) == []


def test_latest_tool_failures_are_failed_calls_only(analytics: Analytics) -> None:
    failed = _newest_first([e for e in TOOLS if e.ok is False])
    latest = analytics.latest_tool_failures(Query(models=(SONNET,)), 10)  # no model on tools
    assert [(r.ts_ms, r.tool, r.agent, r.session_id, r.duration_ms) for r in latest] == [
        (e.ts_ms, e.tool_name, e.agent, e.session_id, e.duration_ms) for e in failed
    ]
    assert {r.usage for r in latest} == {Usage()}
    window = Query(since_ms=failed[1].ts_ms, until_ms=failed[0].ts_ms)
    assert [r.ts_ms for r in analytics.latest_tool_failures(window, 10)] == [failed[1].ts_ms]
    assert analytics.latest_tool_failures(Query(agents=("copilot",)), 10) == []


def test_empty_store_answers_empty(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    for name, factory in IMPLEMENTATIONS.items():
        for empty in factory(request, tmp_path / name, []):
            assert empty.usage(Query()) == []
            assert empty.usage(Query(), (Dimension.MODEL,), Bucket.DAY) == []
            assert empty.sessions(Query()) == []
            assert empty.tool_stats(Query()) == []
            assert empty.activity_span(Query()) is None
            assert empty.latest_requests(Query(), 5) == []
            assert empty.latest_tool_failures(Query(), 5) == []


def test_token_notes_count_estimated_requests(analytics: Analytics) -> None:
    from agenttail.analytics import TokenNote

    estimated = [e for e in FIXTURE if e.estimated]
    assert [e.agent for e in estimated] == ["claude_code"]
    assert analytics.token_notes(Query()) == [TokenNote("claude_code", True, len(estimated))]
    assert analytics.token_notes(Query(agents=("copilot",))) == []
    assert analytics.token_notes(Query(until_ms=ms("2026-11-03T00:00:00"))) == []
