"""Task queue, sweep staleness and failure backoff: the daemon's scheduling promises."""

from __future__ import annotations

import gc
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agenttail.agents.base import Agent, StreamRef, StreamSpec, discover
from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.config import load_config
from agenttail.daemon.runner import DRAIN_GC_THRESHOLD, Pipeline, drain, scan_once
from agenttail.daemon.sweep import SweepCoordinator
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.worker import StreamProcessor, backoff_ms
from agenttail.paths import AppPaths
from agenttail.readers.base import Reader, ReadLimits, ReadResult
from agenttail.readers.jsonl import JsonlReader
from agenttail.store import Store
from agenttail.watermarks import Watermark
from tests.helpers import ClaudeSession


def refs(claude_dir: Path) -> list[StreamRef]:
    return list(discover(ClaudeCodeAgent([claude_dir / "projects"])))


def test_queue_deduplicates_queued_and_in_flight(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("x", "2026-11-01T10:00:00Z"))
    (ref,) = refs(claude_dir)
    queue = TaskQueue()
    assert queue.put(ref)
    assert not queue.put(ref)  # already queued
    assert queue.get(timeout=1) == ref
    assert not queue.put(ref, urgent=True)  # in flight: remembered, not queued twice
    assert queue.pending() == 0
    queue.done(ref)  # the hint that arrived mid-read queues it once more
    assert queue.pending() == 1
    assert queue.get(timeout=1) == ref
    queue.done(ref)
    assert queue.wait_idle(timeout=1)


def test_urgent_hints_jump_the_sweep_backlog(claude_dir: Path) -> None:
    for n in range(3):
        s = ClaudeSession(claude_dir, session_id=f"s{n}")
        s.write(s.prompt("x", "2026-11-01T10:00:00Z"))
    first, second, third = sorted(refs(claude_dir), key=lambda r: r.session_id)
    queue = TaskQueue()
    queue.put(first)
    queue.put(second)
    queue.put(third, urgent=True)
    assert queue.get(timeout=1) == third


def sweep_once(claude_dir: Path) -> int:
    queue = TaskQueue()
    coordinator = SweepCoordinator([ClaudeCodeAgent([claude_dir / "projects"])], queue)
    with Store(AppPaths.resolve().database) as store:
        return coordinator.sweep(store.sessions()).enqueued


def scan() -> None:
    paths = AppPaths.resolve()
    scan_once(Pipeline(paths, load_config(paths), [ClaudeCodeAgent()]))


def test_sweep_queues_only_new_or_changed_files(claude_dir: Path) -> None:
    a = ClaudeSession(claude_dir)
    b = ClaudeSession(claude_dir)
    a.write(a.prompt("x", "2026-11-01T10:00:00Z"))
    b.write(b.prompt("y", "2026-11-01T10:00:00Z"))
    assert sweep_once(claude_dir) == 2
    scan()
    assert sweep_once(claude_dir) == 0  # a no-op rescan reads nothing
    a.write(a.assistant("2026-11-01T10:00:01Z", "m1"))
    assert sweep_once(claude_dir) == 1


@dataclass
class BrokenReader:
    """A reader whose source keeps failing (an unreadable file, a locked database)."""

    name: str = "broken"
    watermark_kind: type[Watermark] = JsonlReader.watermark_kind
    calls: int = 0

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        self.calls += 1
        raise PermissionError(13, "Permission denied", str(path))


class BrokenAgent(Agent):
    name = "broken"

    def __init__(self, root: Path, reader: Reader) -> None:
        super().__init__([root])
        self.streams = (
            StreamSpec("transcript", reader, ("*.jsonl",), lambda p: p.stem, lambda r, c: []),
        )


class FrozenClock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.moment

    def monotonic(self) -> float:
        return self.moment.timestamp()


def test_failing_stream_backs_off_instead_of_spinning(tmp_path: Path) -> None:
    root = tmp_path / "broken-agent"
    root.mkdir()
    (root / "s.jsonl").write_text("{}\n")
    reader = BrokenReader()
    agent = BrokenAgent(root, reader)
    clock = FrozenClock()
    paths = AppPaths.resolve().ensure()
    queue = TaskQueue()
    coordinator = SweepCoordinator([agent], queue, clock)
    with Store(paths.database) as store:
        processor = StreamProcessor(store, {"broken": agent}, clock=clock)

        def sweep_and_process() -> int:
            enqueued = coordinator.sweep(store.sessions()).enqueued
            while (ref := queue.get(timeout=0)) is not None:
                outcome = processor.process(ref)
                assert outcome.error is not None
                queue.done(ref)
            return enqueued

        assert sweep_and_process() == 1
        assert sweep_and_process() == 0  # backing off: the sweep leaves it alone
        clock.moment += timedelta(milliseconds=backoff_ms(1) + 1)
        assert sweep_and_process() == 1
        clock.moment += timedelta(milliseconds=backoff_ms(1) + 1)
        assert sweep_and_process() == 0  # the second failure doubled the delay
        (row,) = store.sessions().values()
        assert row.error_count == 2
        assert reader.calls == 2
        status = next(store.db.query("SELECT last_error, errors_total FROM sessions"))
        assert "PermissionError" in status["last_error"]
    assert backoff_ms(1) < backoff_ms(2) < backoff_ms(3)
    assert backoff_ms(100) == 3_600_000


def test_vanished_file_is_reported_not_fatal(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("x", "2026-11-01T10:00:00Z"))
    (ref,) = refs(claude_dir)
    s.path.unlink()
    paths = AppPaths.resolve().ensure()
    with Store(paths.database) as store:
        outcome = StreamProcessor(store, {"claude_code": ClaudeCodeAgent()}).process(ref)
        assert outcome.error == "vanished"
        (row,) = store.sessions().values()
        assert row.error_count == 1


def test_stop_event_ends_a_long_read_between_batches(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    s.write(*[s.prompt(f"p{n}", "2026-11-01T10:00:00Z") for n in range(50)])
    (ref,) = refs(claude_dir)
    stop = threading.Event()
    stop.set()
    paths = AppPaths.resolve().ensure()
    with Store(paths.database) as store:
        processor = StreamProcessor(
            store, {"claude_code": ClaudeCodeAgent()}, ReadLimits(max_batch_records=10), stop=stop
        )
        first = processor.process(ref)
        assert (first.batches, first.records, first.finished) == (1, 10, False)
        stop.clear()
        rest = processor.process(ref)
        assert (rest.records, rest.finished) == (40, True)


def test_migration_names_are_the_applied_migrations() -> None:
    from sqlite_utils import Database

    from agenttail.store.migrations import MIGRATION_NAMES, migrations

    db = Database(memory=True)
    migrations.apply(db)
    assert [m.name for m in migrations.applied(db)] == MIGRATION_NAMES
    assert len(set(MIGRATION_NAMES)) == len(MIGRATION_NAMES) > 0


def test_a_locked_store_delays_a_stream_without_losing_it(
    claude_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sqlite3

    import agenttail.store

    monkeypatch.setattr(agenttail.store, "BUSY_TIMEOUT_S", 0.2)
    s = ClaudeSession(claude_dir)
    s.write(s.assistant("2026-11-01T10:00:00Z", "m1"), s.assistant("2026-11-01T10:01:00Z", "m2"))
    (ref,) = refs(claude_dir)
    paths = AppPaths.resolve().ensure()
    with Store(paths.database) as store:
        processor = StreamProcessor(store, {"claude_code": ClaudeCodeAgent()})
        holder = sqlite3.connect(paths.database, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # someone else holds the write lock
        try:
            outcome = processor.process(ref)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert outcome.error is not None and "locked" in outcome.error
        assert store.events_total() == 0
        again = processor.process(ref)
        assert again.error is None
        assert store.events_total() == 2


def test_discovery_matches_pattern_depth_files_only_and_hidden_folders(claude_dir: Path) -> None:
    projects = claude_dir / "projects"
    (projects / ".hidden-project").mkdir(parents=True)
    (projects / ".hidden-project" / "s1.jsonl").write_text("")
    (projects / "p" / "s2.jsonl").mkdir(parents=True)  # a folder named like a session
    (projects / "p" / "s3.jsonl").write_text("")
    (projects / "p" / "s3" / "subagents").mkdir(parents=True)
    (projects / "p" / "s3" / "subagents" / "agent-a1.jsonl").write_text("")
    (projects / "p" / "deep" / "er").mkdir(parents=True)
    (projects / "p" / "deep" / "er" / "x.jsonl").write_text("")  # matches no pattern depth
    (projects / "top.jsonl").write_text("")
    found = {r.path.relative_to(projects).as_posix(): r.session_id for r in refs(claude_dir)}
    assert found == {
        ".hidden-project/s1.jsonl": "s1",
        "p/s3.jsonl": "s3",
        "p/s3/subagents/agent-a1.jsonl": "s3",
    }


def test_a_drain_collects_garbage_less_often_then_as_before(claude_dir: Path) -> None:
    """The collector's thresholds are raised while a drain reads (it finds no cycles among
    parsed lines and events) and are the process's own again after it, also for the daemon."""
    s = ClaudeSession(claude_dir)
    s.write(s.prompt("x", "2026-11-01T10:00:00Z"))
    before = gc.get_threshold()
    during: list[tuple[int, ...]] = []
    paths = AppPaths.resolve().ensure()
    pipeline = Pipeline(
        paths,
        load_config(paths),
        [ClaudeCodeAgent([claude_dir / "projects"])],
        on_outcome=lambda _ref, _outcome: during.append(gc.get_threshold()),
    )
    pipeline.sweep()
    drain(pipeline)
    assert during and during[0][0] >= DRAIN_GC_THRESHOLD > before[0]
    assert during[0][1:] == before[1:]
    assert gc.get_threshold() == before
