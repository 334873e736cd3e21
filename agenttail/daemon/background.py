"""The long-running daemon: scheduled sweeps, watchdog hints and workers on one pipeline."""

from __future__ import annotations

import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from agenttail.config import Config
from agenttail.daemon.pause import DiskFullPause, is_disk_full
from agenttail.daemon.runner import FirstLoad, Pipeline
from agenttail.daemon.store_keeper import StoreKeeper, file_identity, is_broken_store
from agenttail.daemon.watch import Watcher
from agenttail.errors import AgenttailError

log = structlog.stdlib.get_logger(__name__)

# Changing these needs a restart: they size threads or are captured when the pipeline is built.
RESTART_KEYS = frozenset(
    {"workers", "agents", "max_line_bytes", "max_batch_bytes", "max_batch_records"}
)


class Companion(Protocol):
    """Work with its own thread next to the pipeline (the upload loop): started after the
    pipeline, stopped first (bounded), handed every reloaded config."""

    name: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def apply_config(self, config: Config) -> None: ...


class Daemon:
    """The long-running service: scheduled sweeps, watchdog hints, workers."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.watcher = Watcher(pipeline.agents, pipeline.queue, on_rearm=self.request_sweep)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.companions: list[Companion] = []
        self.pause = DiskFullPause(on_clear=self.request_sweep)
        pipeline.workers.pause = self.pause
        self.keeper = StoreKeeper(pipeline.paths.database, on_rebuilt=self.request_sweep)
        pipeline.workers.keeper = self.keeper
        pipeline.workers.pacer.interval_s = pipeline.config.get_int("commit_interval_ms") / 1000
        self.first_load: FirstLoad | None = None
        self.loading: threading.Thread | None = None
        self._phase = 0  # bumped when the first load starts and ends (published at once)
        self._steady = threading.Lock()  # the steady workers start once, never after stop
        self._sweep_paused = False  # a sweep met a full disk: the next that succeeds clears it

    def _sweep_job(self) -> None:
        if self.first_load is not None:  # its own sweep covers discovery; one follows it
            return
        try:
            self.keeper.check()
            seen = file_identity(self.keeper.path)
            try:
                self.pipeline.sweep()
            except sqlite3.DatabaseError as exc:
                if not is_broken_store(exc):
                    raise
                self.keeper.recover(seen, str(exc))
                self.pipeline.sweep()
            self.watcher.refresh()
        except Exception as exc:
            if not is_disk_full(exc):
                log.exception("sweep_failed")
                return
            self.pause.trip(str(exc))  # said once; swept again at the retry time
            self._sweep_paused = True
            retry_at = datetime.now(UTC) + timedelta(seconds=self.pause.retry_s)
            self.scheduler.modify_job("sweep", next_run_time=retry_at)
        else:
            if self._sweep_paused:
                self._sweep_paused = False
                self.pause.clear()

    def attach(self, companion: Companion) -> None:
        self.companions.append(companion)

    def start(self) -> None:
        """Start every thread; on a store without events, the first sweep loads it in bulk
        (``FirstLoad``, on its own thread) and the steady workers and sweeps start after it.

        Meanwhile the watcher's hints wait in the queue, and the sweep that follows the load
        finds every file appended or created during it (its stat differs from the one stored
        with the watermark), so the rest of those files is read from the watermark.
        """
        try:
            new = self.pipeline.store_is_new()
        except sqlite3.Error:  # damaged or busy: the steady workers and sweeps deal with it
            new = False
        if new:
            self.first_load = FirstLoad(self.pipeline)
            self._phase += 1
        self.watcher.start()
        interval = self.pipeline.config.get_int("sweep_interval_seconds")
        self.scheduler.add_job(
            self._sweep_job,
            "interval",
            seconds=interval,
            id="sweep",
            jitter=max(1, interval // 10),
            next_run_time=datetime.now(UTC) if self.first_load is None else None,  # None: paused
        )
        self.scheduler.start()
        for companion in self.companions:
            companion.start()
        if self.first_load is None:
            self._start_steady()
        else:
            self.loading = threading.Thread(
                target=self._load_first, args=(self.first_load,), name="agenttail-first-load"
            )
            self.loading.start()
        log.info("daemon_started", workers=self.pipeline.workers.count)

    def _load_first(self, first_load: FirstLoad) -> None:
        try:
            first_load.run()
        except AgenttailError as exc:  # a full disk at its end: the store is reset, read again
            log.error("first_load_failed", error=exc.message, hint="it is read again")
        except Exception:
            log.exception("first_load_failed")
        finally:
            self.first_load = None
            self._phase += 1
            self._start_steady(sweep=True)

    def _start_steady(self, *, sweep: bool = False) -> None:
        """Start the steady workers (and ask for a sweep), unless the daemon is stopping."""
        with self._steady:
            if not self.pipeline.workers.stop_event.is_set():
                self.pipeline.workers.start()
                if sweep:
                    self.request_sweep()

    def healthy(self) -> bool:
        """Checked by the main loop before it pings the systemd watchdog."""
        if self.watcher.alive():
            self.watcher.check()
        else:
            self.watcher.refresh()
        return self.pipeline.workers.alive() and self.scheduler.running

    def request_sweep(self) -> None:
        self.scheduler.modify_job("sweep", next_run_time=datetime.now(UTC))

    def apply_config(self, config: Config) -> list[str]:
        """Take a reloaded config (SIGHUP); returns the changed keys that need a restart.

        The sweep and commit intervals, the log level and every ``upload.*`` key apply at once.
        """
        old = self.pipeline.config
        changed = [k for k in config.values if config.values[k] != old.values.get(k)]
        self.pipeline.config = config
        self.pipeline.workers.pacer.interval_s = config.get_int("commit_interval_ms") / 1000
        interval = config.get_int("sweep_interval_seconds")
        if "sweep_interval_seconds" in changed and self.scheduler.running:
            self.scheduler.reschedule_job(
                "sweep", trigger="interval", seconds=interval, jitter=max(1, interval // 10)
            )
        for companion in self.companions:
            companion.apply_config(config)
        return [k for k in changed if k in RESTART_KEYS]

    def state_version(self) -> tuple[int, int, int, int]:
        """Changes whenever what ``describe`` reports about watches, conditions or the first
        load (its start, its sweep, its end) changes; its progress is published every 15 s."""
        first_load = self.first_load
        queued = -1 if first_load is None else first_load.streams
        return (self.watcher.generation, self.pause.version, self._phase, queued)

    def describe(self) -> dict[str, object]:
        """A snapshot for sd_notify STATUS= and ``doctor``."""
        first_load = self.first_load
        return {
            "observer": self.watcher.observer_name,
            "polling": self.watcher.polling,
            "watched": [str(p) for p in sorted(self.watcher.watched)],
            "watches": self.watcher.describe(),
            "conditions": [c for c in (self.pause.describe(),) if c is not None],
            "queued": self.pipeline.queue.pending(),
            "in_flight": self.pipeline.queue.in_flight(),
            "workers": self.pipeline.workers.count,
            "sweep_interval_seconds": self.pipeline.config.get_int("sweep_interval_seconds"),
            "first_load": None if first_load is None else first_load.progress(),
        }

    def stop(self) -> None:
        """Finish the current batches, then stop every thread.

        A first load stops after its current batch and builds the rollups of what it stored.

        Workers are told first (they stop between batches) so a large backlog cannot hold
        up the exit; a sweep that is running only enqueues into the closed queue. Companions
        stop next, each within its own bound (the upload loop: a short grace for the request
        in flight).
        """
        with self._steady:
            self.pipeline.workers.stop_event.set()
        first_load = self.first_load
        if first_load is not None:
            first_load.stop()
        self.pipeline.queue.close()
        for companion in self.companions:
            companion.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.watcher.stop()
        if self.loading is not None:  # it builds the rollups of what it stored
            self.loading.join()
        self.pipeline.workers.stop()
        self.keeper.close()
        log.info("daemon_stopped")

    def run_until(self, stop: threading.Event, tick: float = 1.0) -> None:
        self.start()
        try:
            while not stop.wait(tick):
                self.healthy()
        finally:
            self.stop()
