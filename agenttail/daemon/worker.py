"""Processing one stream: read a batch, turn it into events, commit both with the watermark.

A stream that keeps failing backs off exponentially (its ``next_retry_at`` is honoured by the
sweep) instead of spinning; bad input inside a file is counted by the reader, not an error.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from agenttail.agents.base import Agent, AgentContext, StreamRef, StreamState
from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.daemon.pause import DiskFullPause, is_disk_full
from agenttail.daemon.store_keeper import Identity, StoreKeeper, is_broken_store
from agenttail.daemon.tasks import TaskQueue
from agenttail.lazy_log import LazyLogger
from agenttail.readers.base import ReadLimits
from agenttail.store import FileStat, Store
from agenttail.validation import valid_events
from agenttail.watermarks import parse_watermark

log = LazyLogger(__name__)

BACKOFF_BASE_MS = 5_000
BACKOFF_MAX_MS = 3_600_000


def backoff_ms(failures: int) -> int:
    """Delay before the next attempt after ``failures`` consecutive failures."""
    return int(min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** max(0, failures - 1)))


@dataclass
class Outcome:
    records: int = 0
    events: int = 0
    batches: int = 0
    bytes_read: int = 0
    reset: bool = False
    finished: bool = True
    error: str | None = None
    disk_full: bool = False
    store_broken: bool = False


class StreamProcessor:
    """Owns one store connection; use from one thread."""

    def __init__(
        self,
        store: Store,
        agents: Mapping[str, Agent],
        limits: ReadLimits | None = None,
        clock: Clock = SYSTEM_CLOCK,
        max_batches: int = 50,
        stop: threading.Event | None = None,
    ) -> None:
        self.store = store
        self.agents = agents
        self.limits = limits or ReadLimits()
        self.clock = clock
        self.max_batches = max_batches
        self.stop = stop or threading.Event()
        self.store_identity: Identity | None = None  # set by a StoreKeeper that follows it

    def process(self, ref: StreamRef) -> Outcome:
        """Read ``ref`` from its watermark; ``finished`` False means call again for more."""
        outcome = Outcome()
        try:
            self._process(ref, outcome)
        except FileNotFoundError:
            outcome.error = "vanished"
            self._fail(ref, "vanished: the file was removed before it could be read")
        except (OSError, sqlite3.Error, ValueError) as exc:
            outcome.error = repr(exc)
            if is_disk_full(exc):
                # Not the stream's fault, and no failure record could be written anyway.
                outcome.error = f"the disk is full: {exc}"
                outcome.disk_full = True
            elif is_broken_store(exc):
                outcome.store_broken = True  # the store, not the stream: see StoreKeeper
            else:
                self._fail(ref, f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            log.exception("stream_crashed", path=ref.path_text)
            outcome.error = repr(exc)
            self._fail(ref, f"internal error: {type(exc).__name__}: {exc}")
        return outcome

    def _process(self, ref: StreamRef, outcome: Outcome) -> None:
        agent = self.agents[ref.agent]
        row = self.store.session(ref)
        watermark = parse_watermark(ref.spec.watermark_kind, row.watermark if row else None)
        state = StreamState(dict(row.state) if row else {})
        stat = FileStat.of(ref.path)
        if row is not None and row.watermark and watermark is None:
            log.warning("watermark_unreadable", path=ref.path_text, stream=ref.kind)
        while True:
            result = ref.spec.reader.read(ref.path, watermark, self.limits)
            if result.reset:
                outcome.reset = True
                state = StreamState({})
                log.info("stream_reset", path=ref.path_text, reason=result.reset_reason)
            events, invalid = valid_events(
                agent.to_events(result.records, AgentContext(ref, state))
            )
            done = result.at_end or self.stop.is_set() or outcome.batches + 1 >= self.max_batches
            self.store.commit_batch(
                ref,
                events,
                result,
                state,
                stat if result.at_end else None,
                now_ms(self.clock),
                invalid,
                tokens_recorded=agent.tokens_recorded,
            )
            if invalid:
                log.warning(
                    "invalid_records_skipped",
                    path=ref.path_text,
                    count=len(invalid),
                    reason=invalid[-1],
                )
            outcome.batches += 1
            outcome.records += len(result.records)
            outcome.events += len(events)
            outcome.bytes_read += result.bytes_read
            if result.malformed or result.invalid_utf8 or result.oversized:
                log.warning(
                    "bad_lines_skipped",
                    path=ref.path_text,
                    malformed=result.malformed,
                    invalid_utf8=result.invalid_utf8,
                    oversized=result.oversized,
                )
            watermark = result.watermark
            if done:
                outcome.finished = result.at_end
                return

    def _fail(self, ref: StreamRef, message: str) -> None:
        now = now_ms(self.clock)
        try:
            row = self.store.session(ref)
            failures = (row.error_count if row else 0) + 1
            self.store.record_failure(ref, message, now, now + backoff_ms(failures))
        except sqlite3.Error as exc:  # the store itself is locked or broken: retry later
            log.error("record_failure_failed", path=ref.path_text, error=repr(exc))
            return
        log.warning("stream_failed", path=ref.path_text, stream=ref.kind, error=message)


class CommitPacer:
    """Spaces the daemon's commits at least ``interval_s`` apart, the first after a quiet spell
    at once: an append to an idle daemon is visible in milliseconds, while a steady stream of
    appends is stored in one transaction per interval instead of one per line (each commit
    writes every index and rollup page it touched to the WAL again: ~40 KB for a 1 KB line).

    Shared by the workers: one at a time gathers the queued streams into a group (``turn``).
    A worker that found more work than one group holds (a backlog) sets ``behind``, and the
    next group starts without waiting.
    """

    def __init__(self, interval_s: float = 0.0) -> None:
        self.interval_s = interval_s
        self.behind = False
        self._last = float("-inf")
        self.turn = threading.Lock()

    def delay(self) -> float:
        """Seconds to wait before the next group (0 after a quiet spell or when behind)."""
        if self.behind:
            return 0.0
        return max(0.0, self._last + self.interval_s - time.monotonic())

    def committed(self) -> None:
        self._last = time.monotonic()


# A commit group takes further queued streams for at most this long: a backlog is stored in
# transactions of this much work, without waiting for the interval.
MAX_GROUP_S = 0.5


class Workers:
    """A small pool of threads, each with its own store connection, draining a TaskQueue.

    With a ``pacer`` interval (the daemon), a worker stores the streams queued meanwhile in
    one commit group; without (``scan``), every batch commits on its own.
    """

    def __init__(
        self,
        queue: TaskQueue,
        make_processor: Callable[[threading.Event], StreamProcessor],
        count: int,
        on_outcome: Callable[[StreamRef, Outcome], None] | None = None,
        pause: DiskFullPause | None = None,
        keeper: StoreKeeper | None = None,
    ) -> None:
        self.queue = queue
        self.make_processor = make_processor
        self.count = count
        self.on_outcome = on_outcome
        # The daemon pauses on a full disk; a one-off scan reports the streams as failed.
        self.pause = pause
        self.keeper = keeper  # the daemon follows a replaced or damaged store
        self.pacer = CommitPacer()  # the daemon sets its interval
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.count):
            thread = threading.Thread(
                target=self._run, name=f"agenttail-worker-{index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)

    def alive(self) -> bool:
        return all(t.is_alive() for t in self.threads)

    def _open(self) -> StreamProcessor | None:
        """This worker's processor, None when the pool stops first. A store that cannot be
        opened at this moment (the daemon's steady workers start when its first load ends,
        maybe while the file is being replaced) is tried again every half second; on a full
        disk (a store reset by a first load that met it) the daemon pauses until there is
        space, and asks for the sweep that reads everything again."""
        tripped = False
        while True:
            try:
                processor = self.make_processor(self.stop_event)
                if self.keeper is not None:  # a connection whose file the keeper knows
                    processor.store.close()
                    processor.store, processor.store_identity = self.keeper.open()
            except (OSError, sqlite3.Error) as exc:
                if self.pause is not None and is_disk_full(exc):
                    tripped = True
                    self.pause.hold(str(exc), self.stop_event)
                else:
                    log.warning("store_open_failed", error=repr(exc))
                    self.stop_event.wait(0.5)
                if self.stop_event.is_set():
                    return None
            else:
                if tripped and self.pause is not None:
                    self.pause.clear()
                return processor

    def _run(self) -> None:
        processor = self._open()
        if processor is None:
            return
        unsaved = False  # committed since the last checkpoint
        try:
            while not self.stop_event.is_set():
                if self.pause is not None:
                    self.pause.wait(self.stop_event)
                if self.pacer.interval_s > 0:
                    if not self.queue.wait_pending(timeout=0.5):
                        if unsaved:  # one attempt per quiet spell: a reader may hold the WAL
                            self._checkpoint(processor)
                            unsaved = False
                        continue
                    if self.keeper is not None:
                        self._follow_store(processor)
                    with self.pacer.turn:
                        self.stop_event.wait(self.pacer.delay())
                        unsaved = self._run_group(processor) or unsaved
                    continue
                ref = self.queue.get(timeout=0.5)
                if ref is None:
                    self._commit_group(processor)  # an idle loader holds no lock
                    continue
                if self.keeper is not None:
                    self._follow_store(processor)
                self._finish(processor, ref, self._process(processor, ref))
        finally:
            self._commit_group(processor)
            processor.store.close()

    @staticmethod
    def _process(processor: StreamProcessor, ref: StreamRef) -> Outcome:
        try:
            return processor.process(ref)
        except Exception:
            log.exception("worker_task_crashed", path=ref.path_text)
            return Outcome(error="crashed")

    def _run_group(self, processor: StreamProcessor) -> bool:
        """Store the queued streams in one transaction; False when there was none to take."""
        first = self.queue.get(timeout=0)
        if first is None:  # another worker took them
            return False
        try:
            processor.store.begin_group()
        except sqlite3.Error:  # locked or full: each batch then reports its own failure
            self._finish(processor, first, self._process(processor, first))
            return True
        done = [(first, self._process(processor, first))]
        started = time.monotonic()
        while (ref := self.queue.get(timeout=0)) is not None:
            done.append((ref, self._process(processor, ref)))
            if time.monotonic() - started >= MAX_GROUP_S or self.stop_event.is_set():
                break
        self.pacer.behind = self.queue.pending() > 0
        lost: sqlite3.Error | None = None
        try:
            committed = processor.store.commit_group()
        except sqlite3.Error as exc:
            committed, lost = False, exc
        keeper = self.keeper
        moved = committed and keeper is not None and not keeper.holds(processor.store_identity)
        if moved:
            # The store was replaced or damaged while the group was read (a group waits up to
            # commit_interval_ms): what it committed went to the old file, so read it again.
            committed = False
        if any(outcome.records for _, outcome in done):  # a re-read that found nothing
            self.pacer.committed()  # does not hold back the next append
        if not committed:  # nothing of the group was stored: every stream is read again
            error = f"commit failed: {lost!r}" if lost else "the group was rolled back"
            if moved:
                error = "the store was replaced while the group was read"
            log.warning("commit_group_lost", streams=len(done), error=error)
            done = [
                (
                    ref,
                    Outcome(
                        error=error,
                        finished=False,
                        disk_full=lost is not None and is_disk_full(lost),
                        store_broken=lost is not None and is_broken_store(lost),
                    ),
                )
                for ref, _ in done
            ]
        for ref, outcome in done:
            self._finish(processor, ref, outcome, again=not committed)
        return True

    def _finish(
        self, processor: StreamProcessor, ref: StreamRef, outcome: Outcome, *, again: bool = False
    ) -> None:
        again = again or (not outcome.finished and outcome.error is None)
        if self.pause is not None:
            if outcome.disk_full:
                self.pause.trip(outcome.error or "disk full")
                again = True  # back to the queue: read again once there is space
            elif outcome.error is None:
                self.pause.clear()
        if self.keeper is not None and outcome.store_broken:
            self.keeper.recover(processor.store_identity, outcome.error or "")
            again = True  # read again into the rebuilt store
        self.queue.done(ref, again=again and not self.stop_event.is_set())
        if self.on_outcome is not None:
            self.on_outcome(ref, outcome)

    @staticmethod
    def _checkpoint(processor: StreamProcessor) -> None:
        """A quiet moment: copy the WAL into the database and cut it to nothing."""
        try:
            processor.store.checkpoint()
        except sqlite3.Error as exc:  # full, say: the next quiet moment tries again
            log.info("idle_checkpoint_failed", error=repr(exc))

    @staticmethod
    def _commit_group(processor: StreamProcessor) -> None:
        """Commit a bulk loader's open group (a no-op otherwise); if that fails (a full disk),
        its batches and their watermarks are rolled back together (the next scan reads them
        again)."""
        if not processor.store.bulk:
            return
        try:
            processor.store.commit_group()
        except sqlite3.Error as exc:
            log.error("bulk_commit_failed", error=repr(exc), hint="the next scan reads it again")

    def _follow_store(self, processor: StreamProcessor) -> None:
        assert self.keeper is not None
        try:
            processor.store, processor.store_identity = self.keeper.follow(
                processor.store, processor.store_identity
            )
        except (OSError, sqlite3.Error) as exc:  # a full disk, say: the task reports it
            log.warning("store_reopen_failed", error=repr(exc))

    def stop(self, timeout: float = 15.0) -> None:
        """Wait for the current batches; ``timeout`` bounds the whole pool, not each thread."""
        self.stop_event.set()
        self.queue.close()
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in self.threads if t.is_alive()]
        if stuck:
            log.error("workers_did_not_stop", threads=stuck, timeout=timeout)


def stat_or_none(path: Path) -> FileStat | None:
    try:
        return FileStat.of(path)
    except OSError:
        return None
