"""``agenttail report ...``: options, JSON output and tables for every report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from agenttail.analytics import Analytics, Bucket, CostSource, Dimension
from agenttail.cli_support import echo_json, json_option, settings
from agenttail.report import (
    ReportError,
    ReportOptions,
    Window,
    agent_report,
    blocks_report,
    daily_report,
    error_report,
    latency_report,
    model_report,
    monthly_report,
    note_lines,
    parse_day,
    project_report,
    resolve_timezone,
    series_report,
    session_detail,
    session_report,
    token_notes,
    tool_report,
    weekly_report,
)

Build = Callable[[Analytics, ReportOptions], dict[str, Any]]
Printer = Callable[[dict[str, Any], dict[str, Any]], None]


def _common(func: Callable[..., None]) -> Callable[..., None]:
    """Options every report takes."""
    options = (
        json_option("Print JSON (a stable contract; schemas/reports/)."),
        click.option(
            "--timezone", "-z", "tz_name", help="IANA timezone for days (default: local)."
        ),
        click.option("--since", help="First day, YYYYMMDD or YYYY-MM-DD."),
        click.option("--until", help="Last day, YYYYMMDD or YYYY-MM-DD."),
        click.option("--agent", "agents", multiple=True, help="Only this agent (repeatable)."),
        click.option(
            "--project", "projects", multiple=True, help="Only this project (repeatable)."
        ),
        click.option("--model", "models", multiple=True, help="Only this model (repeatable)."),
        click.option(
            "--cost-source",
            type=click.Choice([c.value for c in CostSource]),
            default=CostSource.CALCULATED.value,
            show_default=True,
            help="agenttail's price, the cost the agent recorded, or both.",
        ),
        click.option(
            "--order",
            type=click.Choice(["asc", "desc"]),
            help="Row order (default: periods oldest first, rankings largest first).",
        ),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _options(params: dict[str, Any]) -> ReportOptions:
    from agenttail.pricing import custom_prices

    _paths, config = settings(strict=False)
    try:
        window = Window(
            resolve_timezone(params["tz_name"]),
            parse_day(params["since"]) if params["since"] else None,
            parse_day(params["until"]) if params["until"] else None,
        )
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None
    return ReportOptions(
        window=window,
        agents=tuple(params["agents"]),
        projects=tuple(params["projects"]),
        models=tuple(params["models"]),
        cost_source=CostSource(params["cost_source"]),
        order=params["order"],
        prices=custom_prices(config),
    )


def _run(params: dict[str, Any], build: Build, printer: Printer, *, notes: bool = True) -> None:
    """Open the store read-only, build the report, print JSON or a table, and say what the
    window's totals leave out (``notes``: agents without tokens on disk, estimates).

    Store failures and ``AgenttailError`` reach the user through the CLI group's handler.
    """
    from agenttail.paths import AppPaths
    from agenttail.store import open_readonly
    from agenttail.store.analytics import SqliteAnalytics

    options = _options(params)
    store = open_readonly(AppPaths.resolve())
    said: list[dict[str, Any]] = []
    try:
        analytics = SqliteAnalytics(store)
        data = build(analytics, options)
        if notes:
            said = token_notes(analytics, options)
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None
    finally:
        if store is not None:
            store.close()
    if said:
        data["notes"] = said
    if params["as_json"]:
        echo_json(data)
    else:
        printer(data, params)
        for line in note_lines(said):
            click.echo(line)


# -- tables -----------------------------------------------------------------------------------


def cost_cell(row: dict[str, Any]) -> str:
    from agenttail.report_table import cost_cell as cell  # rich loads only to print a table

    return cell(row)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


Column = tuple[str, Callable[[dict[str, Any]], Any], bool]  # header, value, right-aligned


def _cell(value: Any, narrow: bool) -> str:
    """Whole numbers, compact ones (1.2M) on a narrow terminal; text as it is."""
    from agenttail.display import compact_number

    if value is None:
        return ""
    if isinstance(value, bool | str):
        return str(value)
    if isinstance(value, int):
        return compact_number(value) if narrow else f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return str(value)


def _table(
    columns: list[Column], rows: list[dict[str, Any]], footer: dict[str, Any] | None
) -> None:
    from rich import box
    from rich.table import Table

    from agenttail.report_table import print_fitted

    def build(narrow: bool) -> Table:
        table = Table(
            box=box.SIMPLE_HEAD,
            show_footer=footer is not None,
            pad_edge=False,
            collapse_padding=True,
        )
        for index, (header, value, right) in enumerate(columns):
            foot = ""
            if footer is not None:
                foot = "total" if index == 0 else _cell(value(footer), narrow)
            table.add_column(
                header, footer=foot, justify="right" if right else "left", overflow="fold"
            )
        for row in rows:
            table.add_row(*(_cell(value(row), narrow) for _header, value, _right in columns))
        return table

    print_fitted(build)


def _print_unpriced(data: dict[str, Any]) -> None:
    unpriced = data.get("unpriced") or []
    if unpriced:
        items = ", ".join(
            f"{m['model']} ({m['requests']:,} requests, {m['total_tokens']:,} tokens)"
            for m in unpriced
        )
        click.echo(f"unpriced (no cost counted; * marks rows with some): {items}")


def _usage_printer(
    key: str, label: str, columns: tuple[tuple[str, str], ...] = (("agent", "agents"),)
) -> Printer:
    """Usage rows in the shared report table: label, text ``columns`` (header, key), sums."""

    def printer(data: dict[str, Any], params: dict[str, Any]) -> None:
        from agenttail.report_table import print_report_table

        rows: list[dict[str, Any]] = []
        for row in data[key]:
            rows.append(row)
            if params.get("breakdown"):
                rows.extend({**m, label: f"  └ {m['model']}"} for m in row["models"])
        print_report_table(rows, data["totals"], label, extra=columns)
        if params.get("chart"):
            from agenttail.report_chart import print_chart

            print_chart(data[key], label)
        _print_unpriced(data)

    return printer


# -- commands ---------------------------------------------------------------------------------


@click.group()
def report() -> None:
    """Usage reports from the local store (every agent; filter with --agent)."""


def _period_command(name: str, build: Build, key: str, label: str, noun: str) -> None:
    @report.command(name, help=f"Tokens, requests and cost per {noun}.")
    @_common
    @click.option("--breakdown", is_flag=True, help="Per-model rows under each period.")
    @click.option("--chart", is_flag=True, help="A bar chart of cost per period under the table.")
    def command(**params: Any) -> None:
        _run(params, build, _usage_printer(key, label))


_period_command("daily", daily_report, "daily", "date", "day")
_period_command("weekly", weekly_report, "weekly", "week", "week")
_period_command("monthly", monthly_report, "monthly", "month", "month")


def _session_command(session_id: str | None, params: dict[str, Any]) -> None:
    if session_id is None:
        _run(params, session_report, _usage_printer("sessions", "session_id"))
        return

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return session_detail(analytics, options, session_id)

    _run(params, build, _print_session, notes=False)  # one session: the window's notes do not apply


@report.command("session")
@_common
@click.argument("session_id", required=False)
def session_command(session_id: str | None, **params: Any) -> None:
    """Tokens and cost per session; with SESSION_ID (or a unique prefix), its timeline."""
    _session_command(session_id, params)


def _print_session(data: dict[str, Any], _params: dict[str, Any]) -> None:
    summary = data["session"] or {}
    click.echo(
        f"session {summary.get('session_id', '')}  agent {summary.get('agent', '')}  "
        f"project {summary.get('project') or ''}  {summary.get('first_activity', '')} .. "
        f"{summary.get('last_activity', '')}"
    )
    columns: list[Column] = [
        ("run started", lambda r: r["started"][:19], False),
        ("requests", lambda r: len(r["requests"]), True),
        ("tools", lambda r: len(r["tools"]), True),
        ("failed", lambda r: sum(1 for t in r["tools"] if t["ok"] is False), True),
        ("errors", lambda r: len(r["errors"]), True),
        ("tokens", lambda r: r["run_total_tokens"], True),
        (
            "$",
            lambda r: cost_cell(
                {"cost_usd": r["run_cost_usd"], "unpriced_requests": r["run_unpriced_requests"]}
            ),
            True,
        ),
        (
            "context",
            lambda r: _pct(r["requests"][-1]["context_share"]) if r["requests"] else "",
            True,
        ),
    ]
    _table(columns, data["runs"], None)


@report.command("model")
@_common
def model_command(**params: Any) -> None:
    """Tokens, requests, cost, errors and latency per model."""

    def printer(data: dict[str, Any], params: dict[str, Any]) -> None:
        rows = [
            {
                **m,
                "error_pct": _pct(m["error_rate"]),
                "p50": _cell(m["latency_ms"]["p50"], narrow=False),
            }
            for m in data["models"]
        ]
        columns = (("agent", "agents"), ("errors", "error_pct"), ("p50 ms", "p50"))
        _usage_printer("models", "model", columns)({**data, "models": rows}, params)

    _run(params, model_report, printer)


@report.command("projects")
@_common
def projects_command(**params: Any) -> None:
    """Tokens, requests, cost and sessions per project."""
    columns = (("agent", "agents"), ("sessions", "sessions"))
    _run(params, project_report, _usage_printer("projects", "project", columns))


@report.command("agents")
@_common
def agents_command(**params: Any) -> None:
    """Tokens, requests, cost, sessions and tool calls per agent."""
    columns = (("models", "models"), ("sessions", "sessions"), ("tools", "tool_calls"))
    _run(params, agent_report, _usage_printer("agents", "agent", columns))


@report.command("series")
@_common
@click.option(
    "--by",
    type=click.Choice([d.value for d in Dimension]),
    default=Dimension.MODEL.value,
    show_default=True,
)
@click.option(
    "--bucket",
    type=click.Choice([b.value for b in Bucket]),
    default=Bucket.DAY.value,
    show_default=True,
)
def series_command(by: str, bucket: str, **params: Any) -> None:
    """Usage (tool calls with --by tool) per period and group."""

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return series_report(analytics, options, Dimension(by), Bucket(bucket))

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        first: list[Column] = [
            ("period", lambda r: r["period"], False),
            (by, lambda r: str(r["key"])[:40], False),
        ]
        if by == Dimension.TOOL:
            rest: list[Column] = [
                ("calls", lambda r: r["calls"], True),
                ("ok", lambda r: r["ok"], True),
                ("failed", lambda r: r["failed"], True),
            ]
        else:
            rest = [
                ("total", lambda r: r["total_tokens"], True),
                ("requests", lambda r: r["requests"], True),
                ("$", cost_cell, True),
            ]
        _table(first + rest, data["series"], None)

    _run(params, build, printer)


@report.command("tools")
@_common
def tools_command(**params: Any) -> None:
    """Tool calls per tool and agent: ok, failed, success rate, durations."""

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        columns: list[Column] = [
            ("tool", lambda r: str(r.get("tool", "total"))[:30], False),
            ("agent", lambda r: r.get("agent", ""), False),
            ("calls", lambda r: r["calls"], True),
            ("ok", lambda r: r["ok"], True),
            ("failed", lambda r: r["failed"], True),
            ("success", lambda r: _pct(r["success_rate"]), True),
            ("mean ms", lambda r: (r.get("duration_ms") or {}).get("mean"), True),
            ("p50 ms", lambda r: (r.get("duration_ms") or {}).get("p50"), True),
            ("p95 ms", lambda r: (r.get("duration_ms") or {}).get("p95"), True),
        ]
        _table(columns, data["tools"], data["totals"])

    _run(params, tool_report, printer)


def _by_option(default: Dimension, *choices: Dimension) -> Callable[..., Any]:
    return click.option(
        "--by",
        type=click.Choice([c.value for c in choices]),
        default=default.value,
        show_default=True,
    )


@report.command("latency")
@_common
@_by_option(Dimension.MODEL, Dimension.MODEL, Dimension.AGENT, Dimension.TOOL)
def latency_command(by: str, **params: Any) -> None:
    """Request, time-to-first-token and tool durations: mean, p50, p90, p95, p99."""

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return latency_report(analytics, options, Dimension(by))

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        columns: list[Column] = [
            (by, lambda r: str(r["key"])[:40], False),
            ("metric", lambda r: r["metric"], False),
            ("count", lambda r: r["count"], True),
            *(
                (f"{name} ms", (lambda r, n=name: r[f"{n}_ms"]), True)
                for name in ("mean", "p50", "p90", "p95", "p99")
            ),
        ]
        _table(columns, data["latency"], None)

    _run(params, build, printer)


@report.command("errors")
@_common
@_by_option(Dimension.MODEL, Dimension.MODEL, Dimension.AGENT, Dimension.TOOL)
def errors_command(by: str, **params: Any) -> None:
    """API errors and failed tool calls by class, with their rates."""

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return error_report(analytics, options, Dimension(by))

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        columns: list[Column] = [
            (by, lambda r: str(r["key"])[:40], False),
            ("class", lambda r: r["error_class"], False),
            ("errors", lambda r: r["errors"], True),
            ("of", lambda r: r["attempts"], True),
            ("rate", lambda r: _pct(r["error_rate"]), True),
        ]
        _table(columns, data["errors"], None)

    _run(params, build, printer)


def _token_limit(value: str | None) -> int | str | None:
    if value is None or value == "max":
        return value
    try:
        limit = int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a number of tokens or 'max'") from None
    if limit <= 0:
        raise click.BadParameter(f"{value!r}: the limit must be above 0")
    return limit


@report.command("blocks")
@_common
@click.option("--token-limit", help="Tokens per block (a number, or 'max': the largest block).")
def blocks_command(token_limit: str | None, **params: Any) -> None:
    """5-hour usage windows, the active one's burn rate and projection."""
    from agenttail.clock import SYSTEM_CLOCK, now_ms

    limit = _token_limit(token_limit)

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return blocks_report(analytics, options, now_ms(SYSTEM_CLOCK), limit)

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        columns: list[Column] = [
            ("start", lambda r: r["start"][:16], False),
            ("", lambda r: "ACTIVE" if r["active"] else "", False),
            ("total", lambda r: r["total_tokens"], True),
            ("requests", lambda r: r["requests"], True),
            ("$", cost_cell, True),
            ("tokens/h", lambda r: (r["burn_rate"] or {}).get("tokens_per_hour"), True),
            ("projected", lambda r: (r["projection"] or {}).get("total_tokens"), True),
            ("models", lambda r: ",".join(r["models"])[:40], False),
        ]
        _table(columns, data["blocks"], None)
        limit_info = data.get("token_limit")
        if limit_info:
            click.echo(
                f"token limit {limit_info['limit']:,}: {limit_info['percent_used']}% used, "
                f"{limit_info['projected_percent']}% projected"
                + (" (EXCEEDED)" if limit_info["exceeded"] else "")
            )
        _print_unpriced(data)

    _run(params, build, printer)
