"""Wiring of the pipeline: one full pass (``scan``) or the long-running daemon (``run``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.background import BackgroundScheduler

from agenttail.agents.base import Agent, StreamRef
from agenttail.clock import SYSTEM_CLOCK, Clock
from agenttail.config import Config
from agenttail.daemon.sweep import SweepCoordinator, SweepReport
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.watch import Watcher
from agenttail.daemon.worker import Outcome, StreamProcessor, Workers
from agenttail.paths import AppPaths
from agenttail.readers.base import ReadLimits
from agenttail.store import Store

log = structlog.stdlib.get_logger(__name__)


def limits_from(config: Config) -> ReadLimits:
    return ReadLimits(
        max_line_bytes=config.get_int("max_line_bytes"),
        max_batch_bytes=config.get_int("max_batch_bytes"),
        max_batch_records=config.get_int("max_batch_records"),
    )


@dataclass
class Totals:
    streams: int = 0
    records: int = 0
    events: int = 0
    bytes_read: int = 0
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ref: StreamRef, outcome: Outcome) -> None:
        with self.lock:
            self.streams += 1
            self.records += outcome.records
            self.events += outcome.events
            self.bytes_read += outcome.bytes_read
            self.errors += outcome.error is not None


class Pipeline:
    """Store, queue, sweep and workers: what both ``scan`` and ``run`` need."""

    def __init__(
        self,
        paths: AppPaths,
        config: Config,
        agents: Sequence[Agent],
        clock: Clock = SYSTEM_CLOCK,
        on_outcome: Callable[[StreamRef, Outcome], None] | None = None,
    ) -> None:
        self.paths = paths.ensure()
        self.config = config
        self.agents = list(agents)
        self.clock = clock
        self.queue = TaskQueue()
        self.totals = Totals()
        self.on_outcome = on_outcome
        Store(paths.database).close()  # migrate once, before any thread opens it
        self.coordinator = SweepCoordinator(self.agents, self.queue, clock)
        by_name = {a.name: a for a in self.agents}
        limits = limits_from(config)
        self.workers = Workers(
            self.queue,
            lambda stop: StreamProcessor(Store(paths.database), by_name, limits, clock, stop=stop),
            config.get_int("workers"),
            self._record,
        )

    def _record(self, ref: StreamRef, outcome: Outcome) -> None:
        self.totals.add(ref, outcome)
        if self.on_outcome is not None:
            self.on_outcome(ref, outcome)

    def sweep(self) -> SweepReport:
        with Store(self.paths.database) as store:
            known = store.sessions()
        report = self.coordinator.sweep(known)
        log.info(
            "sweep_done",
            discovered=report.discovered,
            enqueued=report.enqueued,
            backing_off=report.backing_off,
        )
        return report


def drain(pipeline: Pipeline) -> None:
    """Process everything queued, then stop the workers."""
    pipeline.workers.start()
    try:
        pipeline.queue.wait_idle()
    finally:
        pipeline.workers.stop()


def scan_once(pipeline: Pipeline) -> SweepReport:
    """One full pass: sweep, drain the queue, stop."""
    report = pipeline.sweep()
    drain(pipeline)
    return report


class Daemon:
    """The long-running service: scheduled sweeps, watchdog hints, workers."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.watcher = Watcher(pipeline.agents, pipeline.queue)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self.jobs: dict[str, Callable[[], object]] = {"sweep": self._sweep_job}

    def _sweep_job(self) -> None:
        try:
            self.pipeline.sweep()
            self.watcher.refresh()
        except Exception:
            log.exception("sweep_failed")

    def add_job(self, name: str, func: Callable[[], object], seconds: float) -> None:
        """Extra periodic work (uploads, housekeeping) on the same scheduler."""
        self.jobs[name] = func
        self.scheduler.add_job(func, "interval", seconds=seconds, id=name, jitter=seconds / 10)

    def start(self) -> None:
        self.pipeline.workers.start()
        self.watcher.start()
        interval = self.pipeline.config.get_int("sweep_interval_seconds")
        self.scheduler.add_job(
            self._sweep_job,
            "interval",
            seconds=interval,
            id="sweep",
            jitter=max(1, interval // 10),
            next_run_time=datetime.now(UTC),
        )
        self.scheduler.start()
        log.info("daemon_started", workers=self.pipeline.workers.count)

    def healthy(self) -> bool:
        """Checked by the main loop before it pings the systemd watchdog."""
        if not self.watcher.alive():
            self.watcher.refresh()
        return self.pipeline.workers.alive() and self.scheduler.running

    def request_sweep(self) -> None:
        self.scheduler.modify_job("sweep", next_run_time=datetime.now(UTC))

    def apply_config(self, config: Config) -> list[str]:
        """Take a reloaded config (SIGHUP); returns the changed keys that need a restart."""
        old = self.pipeline.config
        changed = [k for k in config.values if config.values[k] != old.values.get(k)]
        self.pipeline.config = config
        interval = config.get_int("sweep_interval_seconds")
        if "sweep_interval_seconds" in changed and self.scheduler.running:
            self.scheduler.reschedule_job(
                "sweep", trigger="interval", seconds=interval, jitter=max(1, interval // 10)
            )
        live = {"sweep_interval_seconds", "log_level"}
        return [k for k in changed if k not in live and not k.startswith("upload.")]

    def describe(self) -> dict[str, object]:
        """A snapshot for sd_notify STATUS= and ``doctor``."""
        return {
            "observer": self.watcher.observer_name,
            "polling": self.watcher.polling,
            "watched": [str(p) for p in sorted(self.watcher.watched)],
            "queued": self.pipeline.queue.pending(),
            "in_flight": self.pipeline.queue.in_flight(),
            "workers": self.pipeline.workers.count,
            "sweep_interval_seconds": self.pipeline.config.get_int("sweep_interval_seconds"),
        }

    def stop(self) -> None:
        """Finish the current batches, then stop every thread.

        Workers are told first (they stop between batches) so a large backlog cannot hold
        up the exit; a sweep that is running only enqueues into the closed queue.
        """
        self.pipeline.workers.stop_event.set()
        self.pipeline.queue.close()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.watcher.stop()
        self.pipeline.workers.stop()
        log.info("daemon_stopped")

    def run_until(self, stop: threading.Event, tick: float = 1.0) -> None:
        self.start()
        try:
            while not stop.wait(tick):
                self.healthy()
        finally:
            self.stop()
