"""Wiring of the pipeline shared by ``scan`` and the daemon: store, queue, sweep, workers.

Kept free of APScheduler and watchdog so a one-off ``scan`` starts fast.
"""

from __future__ import annotations

import gc
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from agenttail.agents.base import Agent, StreamRef
from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.config import Config
from agenttail.daemon.sweep import SweepCoordinator, SweepReport
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.worker import Outcome, StreamProcessor, Workers
from agenttail.lazy_log import LazyLogger
from agenttail.paths import AppPaths
from agenttail.readers.base import ReadLimits
from agenttail.store import Store, store_problem

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

    def sweep(
        self, *, retry_failed: bool = False, agents: Sequence[Agent] | None = None
    ) -> SweepReport:
        """Queue what changed, of every agent or only of ``agents`` (then the folders the
        last full sweep could not read stay as they were recorded)."""
        with Store(self.paths.database, readonly=True) as store:
            known = store.sessions()
            recorded = store.discovery_problems()
        coordinator = self.coordinator
        if agents is not None:
            coordinator = SweepCoordinator(agents, self.queue, self.clock)
        report = coordinator.sweep(known, retry_failed=retry_failed)
        log.info(
            "sweep_done",
            discovered=report.discovered,
            enqueued=report.enqueued,
            backing_off=report.backing_off,
        )
        if agents is None and set(report.problems) != set(recorded):  # a writer only then
            for problem in report.problems:
                log.warning(
                    "folder_unreadable", agent=problem.agent, path=problem.path, error=problem.error
                )
            with Store(self.paths.database) as store:
                store.replace_discovery_problems(report.problems, now_ms(self.clock))
        return report

    @contextmanager
    def bulk_load(self) -> Iterator[bool]:
        """Drain a new store's first load in bulk (store/bulk.py): yields whether it does.

        The rollups are built when the block ends, also when it ends with an error: what was
        stored is then complete up to each stream's watermark. One worker loads.
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
                    try:
                        load.finish()
                    except sqlite3.Error as exc:  # a full disk: the next scan reads it all
                        raise store_problem(exc, self.paths.database) from exc


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
