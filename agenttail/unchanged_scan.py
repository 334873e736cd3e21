"""``agenttail scan`` when nothing changed, answered before click and the agent plugins load.

After every full scan that stored all it found, ``record`` keeps a sweep manifest in the store:
what discovery looked at (``discovery_trace``), the variables and code it depended on, and the
no-op answer to print. The next ``scan`` first calls ``answer``: the manifest still holding
exactly (every folder's stat, every path's presence, every stream file's stat against the one
the store recorded, the environment, the configuration file, agenttail's and the plugins' code,
the store's schema and the store values discovery used) means a full sweep would queue nothing.
Anything else, and the full sweep runs and records a new manifest.
"""

from __future__ import annotations

import gc
import os
import sqlite3
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from agenttail.discovery_trace import DiscoveryTrace, environment, tracing, unchanged_reason

if TYPE_CHECKING:
    from pathlib import Path

    from agenttail.agents.base import Agent
    from agenttail.daemon.runner import Pipeline, Totals
    from agenttail.daemon.sweep import SweepReport

# Variables every agent's paths may read besides its own (``~``, the XDG and Windows folders).
STANDARD_VARIABLES = ("HOME", "USERPROFILE", "XDG_CONFIG_HOME", "XDG_DATA_HOME",
                      "XDG_STATE_HOME", "XDG_CACHE_HOME", "APPDATA", "LOCALAPPDATA")  # fmt: skip


def unchanged(database: Path) -> tuple[dict[str, Any] | None, str]:
    """The manifest when it vouches that a full sweep would queue nothing, else why not."""
    if not os.access(database, os.W_OK):  # missing or read-only: the full path says so
        return None, "no writable store"
    from agenttail.store import sweep_manifest

    try:
        conn = sqlite3.connect(f"{database.resolve().as_uri()}?mode=ro", uri=True)
    except (sqlite3.Error, OSError) as exc:
        return None, f"store not readable: {exc}"
    try:
        manifest = sweep_manifest.read(conn)
        if manifest is None:
            return None, "no manifest"
        reason = unchanged_reason(manifest, os.environ)
        if reason is None:
            reason = sweep_manifest.store_changed(conn, manifest)
    except (sqlite3.Error, OSError, KeyError, TypeError, ValueError) as exc:  # any doubt: sweep
        return None, f"manifest unreadable: {exc!r}"
    finally:
        conn.close()
    return (manifest, "") if reason is None else (None, reason)


# Why this process's fast path declined, for the full scan's debug log line.
declined = ""


def answer(*, as_json: bool) -> bool:
    """Print the no-op scan's summary and exit if the manifest vouches for it; False: sweep
    in full."""
    global declined
    from agenttail.paths import AppPaths

    gc.disable()  # the manifest's thousands of small lists would trigger collections
    try:
        paths = AppPaths.resolve()
        manifest, declined = unchanged(paths.database)
    finally:
        gc.enable()
    if manifest is None:
        return False
    sys.stdout.write(manifest["output_json" if as_json else "output_text"] + "\n")
    if manifest["log_level"] == "debug":
        from agenttail.lazy_log import LazyLogger, configure_when_used

        configure_when_used("debug", paths.log_file, owner=False)
        LazyLogger(__name__).debug("scan_unchanged", streams=len(manifest["streams"]))
        return True
    sys.stdout.flush()
    os._exit(0)  # nothing left to close: skip the interpreter's teardown (~5 ms)


def rediscover_moved_inputs(pipeline: Pipeline, trace: DiscoveryTrace, report: SweepReport) -> None:
    """Sweep again the agents whose discovery read agenttail's store (Aider looks in every
    project folder the store knows) when this scan's own reading changed what they read: their
    files there are read now, and the manifest recorded holds (else the next scan would sweep
    in full once more). Runs after the drain (and a bulk load's rollups), with its own queue."""
    from agenttail.agents.registry import load_agents
    from agenttail.daemon.runner import Pipeline, drain
    from agenttail.store import Store, sweep_manifest

    for _ in range(2):  # what the second drain stores could move them again, rarely
        if report.problems or not trace.input_agents:
            return
        with Store(pipeline.paths.database, readonly=True) as store:
            if sweep_manifest.store_inputs(store.conn, list(trace.inputs)) == trace.inputs:
                return
        agents = load_agents(set(trace.input_agents))  # new instances: Aider caches its list
        again = Pipeline(
            pipeline.paths, pipeline.config, agents, on_outcome=pipeline.totals.add, workers=1
        )
        trace.inputs.clear()
        with tracing(trace):
            found = again.sweep(retry_failed=True)
        drain(again)
        report.per_agent.update(found.per_agent)
        report.discovered = sum(report.per_agent.values())
        report.enqueued += found.enqueued
        report.backing_off += found.backing_off
        report.problems += found.problems


def record(
    database: Path,
    trace: DiscoveryTrace,
    agents: Sequence[Agent],
    report: SweepReport,
    totals: Totals,
    outputs: Mapping[str, str],
    log_level: str | None,
) -> None:
    """Keep ``trace`` as the store's sweep manifest after a full scan, or drop the old one
    when this scan cannot vouch for what a later one would find."""
    from agenttail.errors import AgenttailError
    from agenttail.lazy_log import LazyLogger
    from agenttail.store import Store, sweep_manifest

    log = LazyLogger(__name__)
    reason = trace.settled()
    if totals.failed or report.problems or report.backing_off:
        reason = "streams failed or folders were unreadable"
    names = [*STANDARD_VARIABLES, *(v for a in agents for v in a.environment_variables())]
    trace.depend_on_code(
        [n for n in sys.modules if n == "agenttail" or n.startswith("agenttail.")]
        + [type(agent).__module__ for agent in agents]
    )
    if reason is None:  # code read after the sweep: as recent as the sweep means edited
        reason = trace.settled()
    try:
        with Store(database) as store, store.transaction():
            if reason is None:
                manifest = trace.manifest(
                    environment=environment(names, os.environ), log_level=log_level, **outputs
                )
                sweep_manifest.write(store.conn, manifest)
            else:
                sweep_manifest.clear(store.conn)
    except (sqlite3.Error, AgenttailError) as exc:  # a full disk: the scan says so itself
        log.debug("sweep_manifest_failed", error=repr(exc))
        return
    log.debug("sweep_manifest", recorded=reason is None, reason=reason)
