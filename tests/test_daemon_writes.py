"""The running daemon's writes stay small (issue 13): a steady stream of appends is stored in
one transaction per commit interval, an append after a quiet spell at once, and the WAL is cut
back to nothing when the daemon has nothing to do.

How few bytes that writes per appended byte is measured by scripts/bench_daemon_writes.py (a
benchmark, numbers in the README); these tests pin the behaviour behind it.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from agenttail.agents.base import discover
from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.worker import StreamProcessor, Workers
from agenttail.paths import AppPaths
from agenttail.store import Store
from tests.daemon_process import DaemonProcess, counted_requests, daemon_env, wait_until
from tests.helpers import ClaudeSession


class TracedWorkers:
    """One worker over a real store whose connection reports every COMMIT it runs."""

    def __init__(self, claude_dir: Path, interval_s: float) -> None:
        self.database = AppPaths.resolve().ensure().database
        Store.ensure_schema(self.database)
        self.agent = ClaudeCodeAgent([claude_dir / "projects"])
        self.queue = TaskQueue()
        self.commits = 0
        self.lock = threading.Lock()

        def processor(stop: threading.Event) -> StreamProcessor:
            store = Store(self.database)
            store.conn.set_trace_callback(self._trace)
            return StreamProcessor(store, {self.agent.name: self.agent}, stop=stop)

        self.workers = Workers(self.queue, processor, count=1)
        self.workers.pacer.interval_s = interval_s

    def _trace(self, sql: str) -> None:
        if sql.strip().upper() == "COMMIT":
            with self.lock:
                self.commits += 1

    def hint(self) -> None:
        """What the watcher does on a write: queue every session file."""
        for ref in discover(self.agent):
            self.queue.put(ref, urgent=True)

    def requests(self) -> int:
        return counted_requests(self.database)[0]


def test_a_steady_stream_of_appends_is_stored_in_one_commit_per_interval(
    claude_dir: Path,
) -> None:
    sessions = [ClaudeSession(claude_dir) for _ in range(3)]
    traced = TracedWorkers(claude_dir, interval_s=0.5)
    traced.workers.start()
    try:
        started = time.monotonic()
        for n in range(60):  # ~20 lines a second over three files, as a busy agent writes
            session = sessions[n % 3]
            session.write(session.assistant(f"2026-11-20T10:00:{n:02d}.000Z", f"msg_{n}"))
            traced.hint()
            time.sleep(0.05)
        assert wait_until(lambda: traced.requests() == 60, 30), traced.requests()
        elapsed = time.monotonic() - started
    finally:
        traced.workers.stop()
    # One commit per line (and per re-read) before; now one per half second, plus the first
    # at once and the re-reads that found nothing after the last group.
    assert traced.commits <= elapsed / 0.5 + 4, (traced.commits, elapsed)
    assert traced.commits < 60 / 3


def test_an_append_after_a_quiet_spell_is_stored_at_once(claude_dir: Path) -> None:
    session = ClaudeSession(claude_dir)
    traced = TracedWorkers(claude_dir, interval_s=30.0)
    traced.workers.start()
    try:
        session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1"))
        traced.hint()
        assert wait_until(lambda: traced.requests() == 1, 10)  # not after the 30 s interval
        time.sleep(0.2)
        session.write(session.assistant("2026-11-20T10:00:01.000Z", "msg_2"))
        traced.hint()  # within the interval: waits for its neighbours
        assert not wait_until(lambda: traced.requests() == 2, 2)
    finally:
        traced.workers.stop()
    # What waited when the daemon stopped was not stored, and is not lost: the watermark is
    # before it, so the next start reads it.
    (ref,) = discover(traced.agent)
    with Store(traced.database) as store:
        StreamProcessor(store, {traced.agent.name: traced.agent}).process(ref)
    assert traced.requests() == 2


def test_the_daemon_cuts_its_wal_to_nothing_when_idle(claude_dir: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = daemon_env(AGENTTAIL_HOME=str(home))
    wal = home / "agenttail.db-wal"
    sessions = [ClaudeSession(claude_dir) for _ in range(3)]
    for session in sessions:  # the sessions exist when the daemon starts
        session.write(session.prompt("go", "2026-11-20T09:59:00.000Z"))
    with DaemonProcess(env, home, tmp_path / "daemon.stderr") as daemon:
        daemon.wait_ready()
        for n in range(90):
            session = sessions[n % 3]
            ts = f"2026-11-20T10:{n // 60:02d}:{n % 60:02d}.000Z"
            session.write(session.assistant(ts, f"m{n}"))
            time.sleep(0.02)
        assert wait_until(lambda: counted_requests(home / "agenttail.db")[0] == 90, 30), (
            counted_requests(home / "agenttail.db"),
            daemon.stderr()[-3000:],
        )
        assert wait_until(lambda: wal.exists() and wal.stat().st_size == 0, 10), (
            wal.stat().st_size,
            daemon.stderr(),
        )
        assert daemon.terminate()[0] == 0
    assert counted_requests(home / "agenttail.db") == (90, 90 * 100)
