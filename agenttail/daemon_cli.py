"""``agenttail run`` and ``agenttail scan``: the daemon in the foreground and one full pass."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

import click

from agenttail.cli_support import echo_json, json_bytes, json_option, settings
from agenttail.errors import EX_IOERR, AgenttailError
from agenttail.lazy_log import LazyLogger
from agenttail.paths import AppPaths

if TYPE_CHECKING:
    from agenttail.agents.base import Agent
    from agenttail.daemon.runner import Totals

log = LazyLogger(__name__)


@click.command()
def run() -> None:
    """Run the daemon in the foreground (what the user service runs)."""
    from agenttail.agents.registry import configured_agents
    from agenttail.daemon.lifecycle import lock_holder
    from agenttail.daemon.supervise import serve

    paths, config = settings()
    agents = configured_agents(config)
    if sys.stderr.isatty() and lock_holder(paths.lock_file) is None:
        for line in _first_steps(agents, paths):
            click.echo(f"agenttail: {line}", err=True)
    sys.exit(serve(paths, config, agents))


def _store_is_new(paths: AppPaths) -> bool:
    """No event stored yet: the daemon's first sweep then loads the history in bulk."""
    import sqlite3

    from agenttail.store import open_readonly

    try:
        store = open_readonly(paths)
    except (AgenttailError, sqlite3.Error):
        return False
    if store is None:
        return True
    try:
        return not store.holds_events()
    except sqlite3.Error:
        return True  # no schema yet
    finally:
        store.close()


def _first_steps(agents: list[Agent], paths: AppPaths) -> list[str]:
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
    if found and _store_is_new(paths):
        lines.append(
            "reading that history first: reports show it when this load ends (seconds per "
            "100 MB; `agenttail status` shows how far it is)"
        )
    lines.append(
        "running: new usage is read as it is written; now try `agenttail report daily` in "
        "another terminal (Ctrl-C stops the daemon)"
    )
    return lines


@click.command()
@json_option("Print the pass summary as JSON.")
def scan(as_json: bool) -> None:
    """One full pass over every agent's sessions, then exit.

    When the last scan's sweep manifest still holds, the console script answered before this
    runs (``unchanged_scan``); here the full sweep records a new one.
    """
    from agenttail import unchanged_scan
    from agenttail.agents.registry import configured_agents
    from agenttail.config import config_file
    from agenttail.daemon.runner import Pipeline, Totals, drain
    from agenttail.discovery_trace import tracing
    from agenttail.lazy_log import configure_when_used

    with tracing() as trace:
        paths, config = settings()
        trace.read_file(str(config_file(paths, os.environ)))
        log_level = config.get_str("log_level")
        level = "debug" if log_level == "debug" else "warning"
        configure_when_used(level, paths.ensure().log_file, owner=False)
        if unchanged_scan.declined:
            log.debug("scan_sweeps", reason=unchanged_scan.declined)
        # One worker: two threads share the GIL and wait for each other's write lock
        # (measured ~25% slower); the daemon's `workers` setting is for its steady state.
        agents = configured_agents(config)
        pipeline = Pipeline(paths, config, agents, workers=1)
        report = pipeline.sweep(retry_failed=True)
    with pipeline.bulk_load():
        if sys.stderr.isatty() and not as_json and report.enqueued > 1:
            from rich.progress import Progress

            with Progress(transient=True) as progress:
                task = progress.add_task("reading sessions", total=report.enqueued)
                pipeline.on_outcome = lambda _ref, _outcome: progress.advance(task)
                drain(pipeline)
        else:
            drain(pipeline)
    unchanged_scan.rediscover_moved_inputs(pipeline, trace, report)
    totals = pipeline.totals
    summary = _summary(report.discovered, totals, report.per_agent)
    unchanged = _summary(report.discovered, Totals(), report.per_agent)
    unchanged_scan.record(
        paths.database,
        trace,
        agents,
        report,
        totals,
        {"output_json": json_bytes(unchanged).decode(), "output_text": _line(unchanged)},
        log_level,
    )
    problem = _scan_problem(paths, totals.failed)
    if as_json:
        echo_json(summary if problem is None else {**summary, "error": problem.to_dict()})
        if problem is not None:
            sys.exit(problem.exit_code)
        return
    click.echo(_line(summary))
    if problem is not None:
        raise problem


def _summary(discovered: int, totals: Totals, per_agent: dict[str, int]) -> dict[str, Any]:
    return {
        "discovered": discovered,
        "processed": totals.streams,
        "records": totals.records,
        "events": totals.events,
        "bytes_read": totals.bytes_read,
        "errors": totals.errors,
        "failed_streams": len(totals.failed),
        "per_agent": per_agent,
    }


def _line(summary: dict[str, Any]) -> str:
    return (
        f"scanned {summary['discovered']} streams ({summary['processed']} changed): "
        f"{summary['records']} records, {summary['events']} events, "
        f"{summary['failed_streams']} streams failed"
    )


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
