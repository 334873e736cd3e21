"""Wiring of the pipeline shared by ``scan`` and the daemon: store, queue, sweep, workers.

Kept free of APScheduler and watchdog so a one-off ``scan`` starts fast.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agenttail.agents.base import Agent, StreamRef
from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.config import Config
from agenttail.daemon.pause import is_disk_full
from agenttail.daemon.sweep import SweepCoordinator, SweepReport
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.worker import Outcome, StreamProcessor, Workers
from agenttail.lazy_log import LazyLogger
from agenttail.paths import AppPaths
from agenttail.readers.base import ReadLimits
from agenttail.store import Store, store_problem

if TYPE_CHECKING:
    from agenttail.store.bulk import BulkLoad

log = LazyLogger(__name__)


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
    # The distinct streams whose last attempt failed, with that attempt's error.
    failed: dict[tuple[str, str], str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, ref: StreamRef, outcome: Outcome) -> None:
        with self.lock:
            self.streams += 1
            self.records += outcome.records
            self.events += outcome.events
            self.bytes_read += outcome.bytes_read
            self.errors += outcome.error is not None
            if outcome.error is None:
                self.failed.pop(ref.key, None)
            else:
                self.failed[ref.key] = outcome.error


class Pipeline:
    """Store, queue, sweep and workers: what both ``scan`` and ``run`` need."""

    def __init__(
        self,
        paths: AppPaths,
        config: Config,
        agents: Sequence[Agent],
        clock: Clock = SYSTEM_CLOCK,
        on_outcome: Callable[[StreamRef, Outcome], None] | None = None,
        workers: int | None = None,
    ) -> None:
        self.paths = paths.ensure()
        self.config = config
        self.agents = list(agents)
        self.clock = clock
        self.queue = TaskQueue()
        self.totals = Totals()
        self.on_outcome = on_outcome
        self.bulk = False  # the workers load a new store (see bulk_load)
        Store.ensure_schema(paths.database)  # migrate once, before any thread opens it
        self.coordinator = SweepCoordinator(self.agents, self.queue, clock)
        by_name = {a.name: a for a in self.agents}
        limits = limits_from(config)
        self.workers = Workers(
            self.queue,
            lambda stop: StreamProcessor(
                Store(paths.database, bulk=self.bulk), by_name, limits, clock, stop=stop
            ),
            config.get_int("workers") if workers is None else workers,
            self._record,
        )

    def _record(self, ref: StreamRef, outcome: Outcome) -> None:
        self.totals.add(ref, outcome)
        if self.on_outcome is not None:
            self.on_outcome(ref, outcome)

    def store_is_new(self) -> bool:
        """Whether the store holds no events yet (its first load goes in bulk)."""
        with Store(self.paths.database, readonly=True) as store:
            return not store.holds_events()

    def sweep(self, *, retry_failed: bool = False) -> SweepReport:
        with Store(self.paths.database, readonly=True) as store:
            known = store.sessions()
            recorded = store.discovery_problems()
        report = self.coordinator.sweep(known, retry_failed=retry_failed)
        log.info(
            "sweep_done",
            discovered=report.discovered,
            enqueued=report.enqueued,
            backing_off=report.backing_off,
        )
        if set(report.problems) != set(recorded):  # a writer only when something changed
            for problem in report.problems:
                log.warning(
                    "folder_unreadable", agent=problem.agent, path=problem.path, error=problem.error
                )
            with Store(self.paths.database) as store:
                store.replace_discovery_problems(report.problems, now_ms(self.clock))
        return report

    @contextmanager
    def bulk_load(self, on_full: Callable[[Exception], bool] | None = None) -> Iterator[bool]:
        """Drain a new store's first load in bulk (store/bulk.py): yields whether it does.

        The rollups are built when the block ends, also when it ends with an error: what was
        stored is then complete up to each stream's watermark. One worker loads. When that
        build meets a full disk, ``on_full`` (if any) waits and says whether to try again.
        """
        with Store(self.paths.database) as store:
            load = store.begin_bulk_load()
            self.bulk = load is not None
            workers = self.workers.count
            if self.bulk:  # a loader holds the write lock ~1 s at a time: a second would wait
                self.workers.count = 1
            try:
                yield self.bulk
            finally:
                self.bulk = False
                self.workers.count = workers
                if load is not None:
                    self._finish_load(load, on_full)

    def _finish_load(self, load: BulkLoad, on_full: Callable[[Exception], bool] | None) -> None:
        while True:
            try:
                load.finish()
                return
            except sqlite3.Error as exc:
                if on_full is not None and is_disk_full(exc) and on_full(exc):
                    continue  # space again: the rollups of everything loaded are built now
                load.abandon()  # its next writer resets the store: every file is read again
                raise store_problem(exc, self.paths.database) from exc
            except BaseException:
                load.abandon()
                raise


# A drain allocates mostly short-lived objects without cycles (parsed lines, events, rows) that
# reference counting frees at once; the cyclic collector's default pass after every 700 net
# allocations found nothing to free and cost ~0.07 s of a 157 MiB cold scan's ~1.9 s.
DRAIN_GC_THRESHOLD = 10_000


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often for the block (a drain), then as before."""
    thresholds = gc.get_threshold()
    gc.set_threshold(max(DRAIN_GC_THRESHOLD, thresholds[0]), *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class FirstLoad:
    """The daemon's first sweep of a store without events, loaded in bulk as ``scan`` loads it.

    It has its own queue and one worker, so the daemon's steady workers (started when it ends)
    never read a stream at the same time. Reports see no usage until it ends: the rollups are
    built in the transaction that ends it. ``stop`` ends it between batches; the rollups of
    what was stored are built then, and the next start reads the rest the usual way. A load
    killed outright leaves the store to be reset and read again (store/bulk.py). When that
    build meets a full disk, the daemon's pause shows it and the build is tried again at each
    retry time, so nothing loaded is read twice.
    """

    def __init__(self, pipeline: Pipeline) -> None:
        self.daemon_totals = pipeline.totals  # what the daemon has read, this load included
        self.pause = pipeline.workers.pause  # the daemon's: a full disk shows in its status
        self.loader = Pipeline(
            pipeline.paths,
            pipeline.config,
            pipeline.agents,
            pipeline.clock,
            on_outcome=self._count,
            workers=1,
        )
        self.streams = 0  # queued by its sweep
        self.done = 0  # streams read to their end (or failed)

    def _count(self, ref: StreamRef, outcome: Outcome) -> None:
        self.daemon_totals.add(ref, outcome)
        if outcome.finished or outcome.error is not None:
            self.done += 1

    def run(self) -> bool:
        """Sweep and load in bulk; False when the store holds events (nothing is read then)."""
        started = time.monotonic()
        with self.loader.bulk_load(on_full=self._wait_for_space) as bulk:
            if not bulk:
                return False
            self.streams = self.loader.sweep(retry_failed=True).enqueued
            drain(self.loader)
        if self.pause is not None:  # its last commit succeeded: there is space (if it paused)
            self.pause.clear()
        totals = self.loader.totals
        log.info(
            "first_load_done",
            streams=totals.streams,
            events=totals.events,
            bytes_read=totals.bytes_read,
            failed_streams=len(totals.failed),
            seconds=round(time.monotonic() - started, 3),
        )
        return True

    def _wait_for_space(self, exc: Exception) -> bool:
        """Pause until the retry time; whether to try the build again (not when stopping)."""
        if self.pause is None:
            return False
        return self.pause.hold(str(exc), self.loader.workers.stop_event)

    def progress(self) -> dict[str, int]:
        """How many of the streams its sweep queued are read (0 of 0 before that sweep)."""
        return {"streams_done": min(self.done, self.streams), "streams": self.streams}

    def stop(self) -> None:
        """End the load after the current batch (its rollups are built as it ends)."""
        self.loader.workers.stop_event.set()
        self.loader.queue.close()


def drain(pipeline: Pipeline) -> None:
    """Process everything queued, then stop the workers."""
    if not pipeline.queue.pending():
        return
    with fewer_collections():
        pipeline.workers.start()
        try:
            pipeline.queue.wait_idle()
        finally:
            pipeline.workers.stop()


def scan_once(pipeline: Pipeline) -> SweepReport:
    """One full pass: sweep, drain the queue (in bulk into a new store), stop."""
    report = pipeline.sweep()
    with pipeline.bulk_load():
        drain(pipeline)
    return report
