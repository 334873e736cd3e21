"""The daemon's main thread: start, report READY, ping the watchdog while healthy, reload, stop.

Signal handlers only set events; everything they ask for happens here, on the main thread,
between ticks. The watchdog is pinged only after ``Daemon.healthy()`` checked the workers,
the observer and the scheduler, so a hung pipeline gets restarted by systemd.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from agenttail.agents.base import Agent
from agenttail.config import Config, ConfigError, load_config
from agenttail.daemon.background import Daemon
from agenttail.daemon.lifecycle import (
    AlreadyRunning,
    InstanceLock,
    Notifier,
    runtime_state_file,
    write_runtime_state,
)
from agenttail.daemon.pause import RETRY_S, is_disk_full
from agenttail.daemon.runner import Pipeline
from agenttail.logs import configure_logging
from agenttail.paths import AppPaths
from agenttail.signal_pipe import signal_events
from agenttail.store import Store
from agenttail.upload.loop import upload_loop

log = structlog.stdlib.get_logger(__name__)

STATE_EVERY_S = 15.0


def status_line(snapshot: dict[str, object]) -> str:
    watched = snapshot.get("watched") or []
    count = len(watched) if isinstance(watched, list) else 0
    mode = "polling" if snapshot.get("polling") else snapshot.get("observer")
    line = f"watching {count} roots ({mode}); {snapshot.get('queued', 0)} streams queued"
    first_load = snapshot.get("first_load")
    if isinstance(first_load, dict):
        line += f"; first load: {first_load['streams_done']} of {first_load['streams']} streams"
    return line


def supervise(
    daemon: Daemon,
    stop: threading.Event,
    reload: threading.Event,
    *,
    reload_config: Callable[[], Config],
    notifier: Notifier | None = None,
    state_file: Path | None = None,
    tick: float = 1.0,
) -> None:
    """Run ``daemon`` until ``stop`` is set; ``reload`` re-reads the config in place."""
    notifier = notifier or Notifier()
    interval = notifier.ping_interval(tick)
    started = time.time()
    daemon.start()
    try:
        snapshot = daemon.describe()
        _publish(state_file, snapshot, started)
        notifier.ready(status_line(snapshot))
        log.info("daemon_ready", pid=os.getpid(), **snapshot)
        last_state = time.monotonic()
        published_version = daemon.state_version()
        while not stop.wait(interval):
            if reload.is_set():
                reload.clear()
                _reload(daemon, reload_config, notifier)
            if daemon.healthy():
                notifier.watchdog()
            else:
                log.warning("daemon_unhealthy_skipping_watchdog", **daemon.describe())
            # Published at once when a watch is lost or re-armed or the disk fills up or
            # frees, so `doctor` and `status` never show a state that is gone.
            changed = daemon.state_version() != published_version
            if changed or time.monotonic() - last_state >= STATE_EVERY_S:
                published_version = daemon.state_version()
                snapshot = daemon.describe()
                _publish(state_file, snapshot, started)
                notifier.status(status_line(snapshot))
                last_state = time.monotonic()
    finally:
        notifier.stopping()
        log.info("daemon_stopping")
        daemon.stop()
        if state_file is not None:
            state_file.unlink(missing_ok=True)


def _reload(daemon: Daemon, reload_config: Callable[[], Config], notifier: Notifier) -> None:
    notifier.notify("RELOADING=1")
    try:
        config = reload_config()
    except ConfigError as exc:
        log.error("config_reload_failed", error=str(exc), kept="previous configuration")
    else:
        needs_restart = daemon.apply_config(config)
        log.info("config_reloaded", restart_needed_for=needs_restart)
    notifier.notify("READY=1", f"STATUS={status_line(daemon.describe())}")


def _publish(path: Path | None, snapshot: dict[str, object], started: float) -> None:
    if path is not None:
        write_runtime_state(
            path, {**snapshot, "pid": os.getpid(), "started_at": started, "updated_at": time.time()}
        )


EX_TEMPFAIL = 75  # sysexits: another instance runs; try again later


def wait_for_space(paths: AppPaths, stop: threading.Event, notifier: Notifier) -> bool:
    """Create or migrate the store, waiting (up, and saying why) while the disk is full.

    False when stopped meanwhile. The service manager sees READY with a "disk full" status
    and keeps getting watchdog pings, so it neither times the start out nor restarts us.
    """
    started = time.time()
    waiting = False
    while True:
        try:
            Store.ensure_schema(paths.database)
            return True
        except (sqlite3.Error, OSError) as exc:
            if not is_disk_full(exc):
                raise
            if not waiting:
                waiting = True
                log.error(
                    "disk_full",
                    error=str(exc),
                    database=str(paths.database),
                    retry_seconds=RETRY_S,
                    hint="free some space: the daemon starts by itself once it can",
                )
                condition = {"condition": "disk_full", "since": started, "error": str(exc)}
                _publish(runtime_state_file(paths), {"conditions": [condition]}, started)
                notifier.ready("disk full: waiting for space to create the store")
        deadline = time.monotonic() + RETRY_S
        while time.monotonic() < deadline:
            if stop.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
                return False
            notifier.watchdog()


def serve(paths: AppPaths, config: Config, agents: Sequence[Agent]) -> int:
    """``agenttail run``: lock, log, wire signals, supervise; returns the exit status."""
    paths.ensure()
    configure_logging(config.get_str("log_level") or "info", paths.log_file)
    lock = InstanceLock(paths.lock_file)
    try:
        lock.acquire()
    except AlreadyRunning as exc:
        sys.stderr.write(f"agenttail: {exc}\n")
        return EX_TEMPFAIL
    stop, reload = threading.Event(), threading.Event()

    def reload_config() -> Config:
        fresh = load_config(paths)
        configure_logging(fresh.get_str("log_level") or "info", paths.log_file)
        return fresh

    notifier = Notifier()
    try:
        with signal_events({signal.SIGTERM: stop, signal.SIGINT: stop, signal.SIGHUP: reload}):
            if not wait_for_space(paths, stop, notifier):
                runtime_state_file(paths).unlink(missing_ok=True)
                return 0
            daemon = Daemon(Pipeline(paths, config, agents))
            daemon.attach(upload_loop(paths, config))
            if config.get("dashboard.serve"):
                from agenttail.dashboard.launch import DaemonDashboard

                daemon.attach(DaemonDashboard(paths, config))
            supervise(
                daemon,
                stop,
                reload,
                reload_config=reload_config,
                notifier=notifier,
                state_file=runtime_state_file(paths),
            )
    finally:
        lock.release()
    return 0
