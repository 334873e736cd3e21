"""The ``agenttail`` command line."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from agenttail import __version__
from agenttail.cli_support import AgenttailGroup, echo_json, json_option, settings
from agenttail.config import Config
from agenttail.errors import EX_IOERR, AgenttailError
from agenttail.paths import AppPaths
from agenttail.status import gap_lines, status_data
from agenttail.store import Store, empty_store

if TYPE_CHECKING:
    from agenttail.agents.base import Agent

# Commands import the daemon, watchdog, APScheduler and rich only when they need them, so
# `report` and `status` start in tens of milliseconds.


def _agents(config: Config) -> list[Agent]:
    from agenttail.agents.registry import load_agents

    wanted = config.get_list("agents")
    return load_agents(set(wanted) if wanted else None)


def open_readonly(paths: AppPaths) -> Store | None:
    """A read-only store for reports, or None before the first scan."""
    paths.check_readable()
    try:
        size = paths.database.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        raise empty_store(paths.database)
    return Store(paths.database, readonly=True)


@click.group(cls=AgenttailGroup)
@click.version_option(__version__, prog_name="agenttail")
def main() -> None:
    """Usage and cost metrics for AI coding agents, tailed from their session files."""


@main.command()
def run() -> None:
    """Run the daemon in the foreground (what the user service runs)."""
    from agenttail.daemon.lifecycle import lock_holder
    from agenttail.daemon.supervise import serve

    paths, config = settings()
    agents = _agents(config)
    if sys.stderr.isatty() and lock_holder(paths.lock_file) is None:
        for line in _first_steps(agents):
            click.echo(f"agenttail: {line}", err=True)
    sys.exit(serve(paths, config, agents))


def _first_steps(agents: list[Agent]) -> list[str]:
    """What a person starting the daemon by hand wants to know: what it found, what next."""
    from agenttail.agents.base import discover

    found, empty = [], []
    for agent in agents:
        sessions = {ref.session_id for ref in discover(agent)}
        roots = ", ".join(str(root) for root in agent.roots())
        if sessions:
            found.append(f"{len(sessions):,} {agent.label()} sessions under {roots}")
        else:
            empty.append(agent)
    lines = [f"found {text}" for text in found]
    if not found:
        for agent in empty[:3]:
            roots = ", ".join(str(root) for root in agent.roots())
            lines.append(f"no {agent.label()} sessions under {roots}")
        lines.append("no agent sessions found yet; run `agenttail doctor` to see where it looks")
    elif empty:
        names = ", ".join(agent.label() for agent in empty)
        lines.append(f"nothing yet from {names} (`agenttail doctor` shows where it looks)")
    lines.append(
        "running: new usage is read as it is written; now try `agenttail report daily` in "
        "another terminal (Ctrl-C stops the daemon)"
    )
    return lines


@main.command()
@json_option("Print the pass summary as JSON.")
def scan(as_json: bool) -> None:
    """One full pass over every agent's sessions, then exit."""
    from agenttail.daemon.runner import Pipeline, drain
    from agenttail.logs import configure_logging

    paths, config = settings()
    configure_logging("warning", paths.ensure().log_file, owner=False)
    pipeline = Pipeline(paths, config, _agents(config))
    report = pipeline.sweep(retry_failed=True)
    if sys.stderr.isatty() and not as_json and report.enqueued > 1:
        from rich.progress import Progress

        with Progress(transient=True) as progress:
            task = progress.add_task("reading sessions", total=report.enqueued)
            pipeline.on_outcome = lambda _ref, _outcome: progress.advance(task)
            drain(pipeline)
    else:
        drain(pipeline)
    totals = pipeline.totals
    summary = {
        "discovered": report.discovered,
        "processed": totals.streams,
        "records": totals.records,
        "events": totals.events,
        "bytes_read": totals.bytes_read,
        "errors": totals.errors,
        "failed_streams": len(totals.failed),
        "per_agent": report.per_agent,
    }
    problem = _scan_problem(paths, totals.failed)
    if as_json:
        echo_json(summary if problem is None else {**summary, "error": problem.to_dict()})
        if problem is not None:
            sys.exit(problem.exit_code)
        return
    click.echo(
        f"scanned {report.discovered} streams ({totals.streams} changed): "
        f"{totals.records} records, {totals.events} events, {len(totals.failed)} streams failed"
    )
    if problem is not None:
        raise problem


def _scan_problem(paths: AppPaths, failed: dict[tuple[str, str], str]) -> AgenttailError | None:
    """A scan that could not store every stream says so, with a non-zero exit code."""
    if not failed:
        return None
    where = f"`agenttail status --streams` names them; details are in {paths.log_file}"
    if any("disk is full" in error for error in failed.values()):
        return AgenttailError(
            f"the disk is full: {len(failed)} streams could not be stored in {paths.database}",
            "free some space and run `agenttail scan` again (what was stored is kept; the rest "
            f"is read then); {where}",
            path=paths.database,
            exit_code=EX_IOERR,
        )
    return AgenttailError(f"{len(failed)} streams failed in this scan", where)


@main.command()
@json_option()
@click.option("--streams", "all_streams", is_flag=True, help="List every stream, not per agent.")
def status(as_json: bool, all_streams: bool) -> None:
    """Events, lag and errors per agent (``--streams``: per stream), and the upload pipeline."""
    paths, _config = settings(strict=False)
    store = open_readonly(paths)
    try:
        data = status_data(store)
    finally:
        if store is not None:
            store.close()
    data["database"] = str(paths.database)
    from agenttail.status import daemon_section

    data["daemon"] = daemon_section(paths)
    if as_json:
        echo_json(data)
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from agenttail.display import compact_bytes, unique_prefixes

    console = Console()
    console.print(
        f"[bold]{data['events_total']:,}[/] events from [bold]{data['streams_total']:,}[/]"
        f" streams ({data['streams_failing']} failing, {data['bad_lines_total']} bad lines"
        f" skipped, {compact_bytes(data['lag_bytes_total'])} behind)"
    )
    console.print(f"database: {data['database']}", overflow="fold")
    for line in gap_lines(data["gaps"]):
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    for condition in data["daemon"]["conditions"]:
        console.print(f"[bold red]daemon: {condition['message']}[/]", overflow="fold")
    upload = data["upload"]
    if not upload.get("configured"):
        console.print("upload: not configured (events stay local)")
    else:
        console.print(
            f"upload ({upload.get('exporter')}): {upload.get('pending_events', 0)} pending,"
            f" {upload.get('sent_events', 0)} sent, {upload.get('set_aside_batches', 0)} batches"
            f" set aside, pressure {upload.get('queue_pressure')},"
            f" last error: {upload.get('last_error') or 'none'}"
        )
    agents = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    agents.add_column("agent", no_wrap=True)
    for header in ("streams", "sessions", "events", "behind", "failing"):
        agents.add_column(header, justify="right", no_wrap=True)
    agents.add_column("last activity", no_wrap=True)
    for agent in data["agents"]:
        agents.add_row(
            agent["agent"],
            f"{agent['streams']:,}",
            f"{agent['sessions']:,}",
            f"{agent['events']:,}",
            compact_bytes(agent["lag_bytes"]),
            f"{agent['streams_failing']:,}",
            _local_time(agent["last_event_at"]),
        )
    console.print(agents)
    failing = [s for s in data["streams"] if s["current_error"]]
    shown = data["streams"] if all_streams else failing
    if not shown:
        return
    session = unique_prefixes(s["session_id"] for s in data["streams"])  # unique among all
    title = None if all_streams else f"{len(failing)} streams failing now"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True, title=title)
    table.add_column("agent", no_wrap=True)
    table.add_column("session", no_wrap=True)
    table.add_column("file", no_wrap=True)
    for header in ("events", "behind", "errors"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("error now", overflow="fold")
    for item in shown:
        short = session[item["session_id"]]
        name = item["path"].rsplit("/", 1)[-1].replace(item["session_id"], short + "…")
        table.add_row(
            item["agent"],
            short,
            name,
            f"{item['events_total']:,}",
            "" if item["lag_bytes"] is None else compact_bytes(item["lag_bytes"]),
            str(item["error_count"]),
            item["current_error"] or "",
        )
    console.print(table)
    if not all_streams:
        console.print("`agenttail status --streams` lists every stream; `--json` has full paths")


@main.command()
def statusline() -> None:
    """One line for Claude Code's statusLine hook (reads its JSON on stdin; never fails)."""
    from agenttail.statusline import run

    try:
        text = sys.stdin.read()
    except (OSError, UnicodeDecodeError):  # a closed or undecodable stdin still gets a line
        text = ""
    click.echo(run(text))


def _local_time(iso: str | None) -> str:
    if iso is None:
        return "never"
    from datetime import datetime

    return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


from agenttail.report_cli import register as _register_reports  # noqa: E402

_register_reports(main)

from agenttail.service_cli import register as _register_service  # noqa: E402

_register_service(main)

from agenttail.upload.cli import upload as _upload_command  # noqa: E402

main.add_command(_upload_command)

from agenttail.server.cli import server as _server_command  # noqa: E402

main.add_command(_server_command)
