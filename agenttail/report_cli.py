"""``agenttail report ...``: options, JSON output and tables for every report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from agenttail.analytics import Analytics, Dimension
from agenttail.cli_support import echo_json, json_option, settings
from agenttail.report import ReportError, ReportOptions, note_lines, session_detail
from agenttail.report_params import COMMON, REPORTS, Param, build_report, options_from

Build = Callable[[Analytics, ReportOptions], dict[str, Any]]
Printer = Callable[[dict[str, Any], dict[str, Any]], None]


Command = Callable[..., None]


def _click_options(params: tuple[Param, ...]) -> Callable[[Command], Command]:
    """Click options from the shared declarations (the dashboard's URLs take the same)."""

    def decorate(func: Command) -> Command:
        for param in reversed(params):
            names = [f"--{param.name}", *([param.short] if param.short else []), param.key]
            func = click.option(
                *names,
                multiple=param.multiple,
                type=click.Choice(param.choices) if param.choices else None,
                default=param.default,
                show_default=param.default is not None,
                help=param.help,
            )(func)
        return func

    return decorate


def _common(func: Callable[..., None]) -> Callable[..., None]:
    """Options every report takes (``--database`` only here: the dashboard reads the local
    store)."""
    func = _click_options(COMMON)(func)
    func = click.option(
        "--database",
        metavar="URL",
        help="Report on a team store: sqlite:///PATH or postgresql://... (the URL "
        "`agenttail server --database` writes).",
    )(func)
    return json_option("Print JSON (a stable contract; schemas/reports/).")(func)


def _run(params: dict[str, Any], build: Build | str, printer: Printer) -> None:
    """Open the store read-only (the local one, or the team's with ``--database``), build the
    report (a ``REPORTS`` name or a function), print JSON or a table.

    Store failures and ``AgenttailError`` reach the user through the CLI group's handler.
    """
    from agenttail.config import custom_prices

    _paths, config = settings(strict=False)
    try:
        options = options_from(params, custom_prices(config))
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None
    if params["database"]:
        from agenttail.store.team.analytics import open_team_analytics

        with open_team_analytics(params["database"]) as team:
            data = _build(build, team, options, params)
    else:
        from agenttail.paths import AppPaths
        from agenttail.store import open_readonly
        from agenttail.store.analytics import SqliteAnalytics

        store = open_readonly(AppPaths.resolve())
        try:
            analytics = SqliteAnalytics(store, config.get_str("upload.user"))
            data = _build(build, analytics, options, params)
        finally:
            if store is not None:
                store.close()
    if params["as_json"]:
        echo_json(data)
    else:
        printer(data, params)
        for line in note_lines(data.get("notes", [])):
            click.echo(line)


def _build(
    build: Build | str, analytics: Analytics, options: ReportOptions, params: dict[str, Any]
) -> dict[str, Any]:
    try:
        if isinstance(build, str):
            return build_report(REPORTS[build], analytics, options, params)
        return build(analytics, options)
    except ReportError as exc:
        raise click.BadParameter(str(exc)) from None


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
    """Usage reports from the local store, or a team store with --database (every agent;
    filter with --agent, --user, --machine)."""


def _period_command(name: str, key: str, label: str, noun: str) -> None:
    @report.command(name, help=f"Tokens, requests and cost per {noun}.")
    @_common
    @_click_options(REPORTS[name].params)
    @click.option("--breakdown", is_flag=True, help="Per-model rows under each period.")
    @click.option("--chart", is_flag=True, help="A bar chart of cost per period under the table.")
    def command(**params: Any) -> None:
        by = params["by"]
        columns = (((by, by),) if by else ()) + (("agent", "agents"),)
        _run(params, name, _usage_printer(key, label, columns))


_period_command("daily", "daily", "date", "day")
_period_command("weekly", "weekly", "week", "week")
_period_command("monthly", "monthly", "month", "month")


def _session_command(session_id: str | None, params: dict[str, Any]) -> None:
    if session_id is None:
        _run(params, "session", _usage_printer("sessions", "session_id"))
        return

    if params.get("limit") is not None:
        raise click.UsageError("--limit picks among sessions: leave it out with a SESSION_ID")

    def build(analytics: Analytics, options: ReportOptions) -> dict[str, Any]:
        return session_detail(analytics, options, session_id)

    _run(params, build, _print_session)  # one session: the window's notes do not apply


@report.command("session")
@_common
@_click_options(REPORTS["session"].params)
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

    _run(params, "model", printer)


@report.command("projects")
@_common
def projects_command(**params: Any) -> None:
    """Tokens, requests, cost and sessions per project."""
    columns = (("agent", "agents"), ("sessions", "sessions"))
    _run(params, "projects", _usage_printer("projects", "project", columns))


@report.command("agents")
@_common
def agents_command(**params: Any) -> None:
    """Tokens, requests, cost, sessions and tool calls per agent."""
    columns = (("models", "models"), ("sessions", "sessions"), ("tools", "tool_calls"))
    _run(params, "agents", _usage_printer("agents", "agent", columns))


@report.command("series")
@_common
@_click_options(REPORTS["series"].params)
@click.option("--chart", is_flag=True, help="A bar chart per period and group under the table.")
def series_command(**params: Any) -> None:
    """Usage (tool calls with --by tool) per period and group."""
    by = params["by"]

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
        if params.get("chart"):
            from agenttail.report_chart import print_chart

            bars = [{**row, "bar": f"{row['period']} {row['key']}"} for row in data["series"]]
            print_chart(bars, "bar", per=f"{params['bucket']} and {by}")

    _run(params, "series", printer)


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

    _run(params, "tools", printer)


@report.command("latency")
@_common
@_click_options(REPORTS["latency"].params)
def latency_command(**params: Any) -> None:
    """Request, time-to-first-token and tool durations: mean, p50, p90, p95, p99."""
    by = params["by"]

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

    _run(params, "latency", printer)


@report.command("errors")
@_common
@_click_options(REPORTS["errors"].params)
def errors_command(**params: Any) -> None:
    """API errors and failed tool calls by class, with their rates."""
    by = params["by"]

    def printer(data: dict[str, Any], _params: dict[str, Any]) -> None:
        columns: list[Column] = [
            (by, lambda r: str(r["key"])[:40], False),
            ("class", lambda r: r["error_class"], False),
            ("errors", lambda r: r["errors"], True),
            ("of", lambda r: r["attempts"], True),
            ("rate", lambda r: _pct(r["error_rate"]), True),
        ]
        _table(columns, data["errors"], None)

    _run(params, "errors", printer)


@report.command("blocks")
@_common
@_click_options(REPORTS["blocks"].params)
def blocks_command(**params: Any) -> None:
    """5-hour usage windows, the active one's burn rate and projection."""

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

    _run(params, "blocks", printer)
