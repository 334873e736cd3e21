"""Every report's options, declared once for both of its doors.

``agenttail report NAME --flag`` and the dashboard's ``GET /api/report/NAME?flag=`` take the
same parameters (``COMMON`` plus the report's own), parse them with ``options_from`` and run
the report with ``ReportSpec.build``: the page and the CLI cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

from agenttail.analytics import Analytics, Bucket, CostSource, Dimension, ModelPrice
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
    parse_day,
    project_report,
    resolve_timezone,
    series_report,
    session_report,
    token_notes,
    tool_report,
    weekly_report,
)


class Param(NamedTuple):
    """One option: ``--NAME`` on the command line, ``?NAME=`` in a URL, ``KEY`` in code."""

    name: str
    key: str
    help: str
    multiple: bool = False
    choices: tuple[str, ...] | None = None
    default: str | None = None
    short: str | None = None


COMMON: tuple[Param, ...] = (
    Param("timezone", "tz_name", "IANA timezone for days (default: local).", short="-z"),
    Param("since", "since", "First day, YYYYMMDD or YYYY-MM-DD."),
    Param("until", "until", "Last day, YYYYMMDD or YYYY-MM-DD."),
    Param("agent", "agents", "Only this agent (repeatable).", multiple=True),
    Param("project", "projects", "Only this project (repeatable).", multiple=True),
    Param("model", "models", "Only this model (repeatable).", multiple=True),
    Param("user", "users", "Only this developer (repeatable; a team store).", multiple=True),
    Param("machine", "machines", "Only this machine id (repeatable; a team store).", multiple=True),
    Param(
        "cost-source",
        "cost_source",
        "agenttail's price, the cost the agent recorded, or both.",
        choices=tuple(c.value for c in CostSource),
        default=CostSource.CALCULATED.value,
    ),
    Param(
        "order",
        "order",
        "Row order (default: periods oldest first, rankings largest first).",
        choices=("asc", "desc"),
    ),
)


def _by(default: Dimension, *choices: Dimension, help_text: str = "Group by.") -> Param:
    return Param(
        "by", "by", help_text, choices=tuple(c.value for c in choices), default=default.value
    )


def options_from(values: Mapping[str, Any], prices: dict[str, ModelPrice]) -> ReportOptions:
    """``ReportOptions`` from parsed ``COMMON`` values (keyed by ``Param.key``)."""
    window = Window(
        resolve_timezone(values.get("tz_name")),
        parse_day(values["since"]) if values.get("since") else None,
        parse_day(values["until"]) if values.get("until") else None,
    )
    return ReportOptions(
        window=window,
        agents=tuple(values.get("agents") or ()),
        projects=tuple(values.get("projects") or ()),
        models=tuple(values.get("models") or ()),
        users=tuple(values.get("users") or ()),
        machines=tuple(values.get("machines") or ()),
        cost_source=CostSource(values.get("cost_source") or CostSource.CALCULATED.value),
        order=values.get("order"),
        prices=prices,
    )


def token_limit(value: str | None) -> int | str | None:
    """``--token-limit``: a positive number of tokens, or ``max`` (the largest block)."""
    if value is None or value == "max":
        return value
    return positive_count("token-limit", value, "a number of tokens or 'max'")


def positive_count(name: str, value: str | None, wanted: str = "a whole number") -> int | None:
    """A parameter that must be a whole number above 0 (or absent)."""
    if value is None:
        return None
    try:
        count = int(value)
    except ValueError:
        raise ReportError(f"{name}: {value!r}: use {wanted}") from None
    if count <= 0:
        raise ReportError(f"{name}: {value!r}: the limit must be above 0")
    return count


Build = Callable[[Analytics, ReportOptions, Mapping[str, Any]], dict[str, Any]]


class ReportSpec(NamedTuple):
    """A report: how to build it, the key of its rows (CSV), its parameters beyond COMMON."""

    name: str
    build: Build
    rows: str
    params: tuple[Param, ...] = ()

    @property
    def all_params(self) -> tuple[Param, ...]:
        return COMMON + self.params


def _plain(report: Callable[[Analytics, ReportOptions], dict[str, Any]]) -> Build:
    return lambda analytics, options, _values: report(analytics, options)


def _blocks(
    analytics: Analytics, options: ReportOptions, values: Mapping[str, Any]
) -> dict[str, Any]:
    from agenttail.clock import SYSTEM_CLOCK, now_ms

    limit = token_limit(values.get("token_limit"))
    return blocks_report(analytics, options, now_ms(SYSTEM_CLOCK), limit)


def _sessions(
    analytics: Analytics, options: ReportOptions, values: Mapping[str, Any]
) -> dict[str, Any]:
    return session_report(analytics, options, positive_count("limit", values.get("limit")))


def _periods(
    report: Callable[[Analytics, ReportOptions, Dimension | None], dict[str, Any]],
) -> Build:
    return lambda analytics, options, values: report(
        analytics, options, Dimension(values["by"]) if values.get("by") else None
    )


# --by of the period reports: a row per period and developer or machine (a team's view).
_PERIOD_BY = Param(
    "by",
    "by",
    "One row per period and developer or machine (a team store's view).",
    choices=(Dimension.USER.value, Dimension.MACHINE.value),
)
_GROUPS = (Dimension.MODEL, Dimension.AGENT, Dimension.TOOL)
REPORTS: dict[str, ReportSpec] = {
    spec.name: spec
    for spec in (
        ReportSpec("daily", _periods(daily_report), "daily", (_PERIOD_BY,)),
        ReportSpec("weekly", _periods(weekly_report), "weekly", (_PERIOD_BY,)),
        ReportSpec("monthly", _periods(monthly_report), "monthly", (_PERIOD_BY,)),
        ReportSpec(
            "session",
            _sessions,
            "sessions",
            (
                Param(
                    "limit",
                    "limit",
                    "Only the N costliest sessions (totals still cover all of them).",
                ),
            ),
        ),
        ReportSpec("model", _plain(model_report), "models"),
        ReportSpec("projects", _plain(project_report), "projects"),
        ReportSpec("agents", _plain(agent_report), "agents"),
        ReportSpec("tools", _plain(tool_report), "tools"),
        ReportSpec(
            "series",
            lambda a, o, v: series_report(a, o, Dimension(v["by"]), Bucket(v["bucket"])),
            "series",
            (
                _by(Dimension.MODEL, *Dimension),
                Param(
                    "bucket",
                    "bucket",
                    "Period length.",
                    choices=tuple(b.value for b in Bucket),
                    default=Bucket.DAY.value,
                ),
            ),
        ),
        ReportSpec(
            "latency",
            lambda a, o, v: latency_report(a, o, Dimension(v["by"])),
            "latency",
            (_by(Dimension.MODEL, *_GROUPS),),
        ),
        ReportSpec(
            "errors",
            lambda a, o, v: error_report(a, o, Dimension(v["by"])),
            "errors",
            (_by(Dimension.MODEL, *_GROUPS),),
        ),
        ReportSpec(
            "blocks",
            _blocks,
            "blocks",
            (
                Param(
                    "token-limit",
                    "token_limit",
                    "Tokens per block (a number, or 'max': the largest block).",
                ),
            ),
        ),
    )
}


def build_report(
    spec: ReportSpec, analytics: Analytics, options: ReportOptions, values: Mapping[str, Any]
) -> dict[str, Any]:
    """The report as ``--json`` prints it: its data, then what the window's totals leave out
    (``notes``: agents without tokens on disk, estimated requests) when there is any."""
    data = spec.build(analytics, options, values)
    notes = token_notes(analytics, options)
    if notes:
        data["notes"] = notes
    return data


def values_from_query(spec: ReportSpec, query: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """A URL's query parameters as the values click would hand the CLI command.

    Unknown names and values outside a parameter's choices are refused, as click does.
    """
    params = {p.name: p for p in spec.all_params}
    unknown = sorted(set(query) - set(params))
    if unknown:
        raise ReportError(
            f"unknown parameter {unknown[0]!r} for report {spec.name} "
            f"(known: {', '.join(sorted(params))})"
        )
    values: dict[str, Any] = {}
    for param in params.values():
        given = [v for v in query.get(param.name, ()) if v != ""]
        if param.choices is not None:
            for value in given:
                if value not in param.choices:
                    raise ReportError(
                        f"{param.name}: {value!r} is not one of {', '.join(param.choices)}"
                    )
        if param.multiple:
            values[param.key] = tuple(given)
        else:
            values[param.key] = given[-1] if given else param.default
    return values
