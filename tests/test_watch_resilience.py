"""The watcher survives inotify limits and a dead observer thread."""

from __future__ import annotations

import errno
from pathlib import Path

import structlog
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.watch import Watcher, make_observer
from tests.helpers import ClaudeSession


class LimitedObserver(PollingObserver):
    """Stands in for inotify at its watch limit: schedule() raises ENOSPC."""

    def schedule(self, *args: object, **kwargs: object) -> object:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")


def limited(polling: bool) -> BaseObserver:
    return PollingObserver(timeout=0.1) if polling else LimitedObserver(timeout=0.1)


def test_watch_limit_falls_back_to_polling_with_the_sysctl(claude_dir: Path) -> None:
    roots = [claude_dir / "a" / "projects", claude_dir / "b" / "projects"]
    for root in roots:
        root.mkdir(parents=True)
    queue = TaskQueue()
    watcher = Watcher([ClaudeCodeAgent(roots)], queue, observer_factory=limited)
    with structlog.testing.capture_logs() as logs:
        watcher.start()
    try:
        assert watcher.polling
        assert watcher.observer_name == "PollingObserver"
        assert watcher.watched == set(roots)  # no root is left behind by the switch
        warning = next(e for e in logs if e["event"] == "inotify_limit_reached_polling")
        assert "sysctl fs.inotify.max_user_watches=" in warning["hint"]
        session = ClaudeSession(claude_dir / "a")
        session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1"))
        ref = queue.get(timeout=5)  # polling still turns the write into a hint
        assert ref is not None and ref.path == session.path
    finally:
        watcher.stop()


def test_dead_observer_is_restarted_and_watches_again(claude_dir: Path) -> None:
    root = claude_dir / "projects"
    root.mkdir(parents=True)
    queue = TaskQueue()
    watcher = Watcher([ClaudeCodeAgent([root])], queue, observer_factory=make_observer)
    watcher.start()
    try:
        dead = watcher.observer
        assert dead is not None
        dead.stop()
        dead.join(5)
        assert not watcher.alive()
        assert watcher.refresh() == [root]
        assert watcher.alive() and watcher.observer is not dead
        assert watcher.restarts == 1
        session = ClaudeSession(claude_dir)
        session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1"))
        ref = queue.get(timeout=5)
        assert ref is not None and ref.path == session.path
    finally:
        watcher.stop()


def test_root_created_later_is_watched_at_the_next_refresh(claude_dir: Path) -> None:
    root = claude_dir / "projects"
    queue = TaskQueue()
    watcher = Watcher([ClaudeCodeAgent([root])], queue)
    watcher.start()
    try:
        assert watcher.refresh() == []
        root.mkdir(parents=True)
        assert watcher.refresh() == [root]
    finally:
        watcher.stop()


def test_exporter_folder_named_by_the_user_is_not_watched_recursively(tmp_path: Path) -> None:
    from agenttail.agents.copilot_cli import CopilotCliAgent
    from agenttail.daemon.tasks import TaskQueue
    from agenttail.daemon.watch import Watcher

    home = tmp_path / ".copilot"
    (home / "session-state").mkdir(parents=True)
    elsewhere = tmp_path / "anywhere"
    elsewhere.mkdir()
    agent = CopilotCliAgent(roots=[home], exporter=elsewhere / "copilot-otel.jsonl")
    watcher = Watcher([agent], TaskQueue())
    watcher.start()
    try:
        assert watcher.observer is not None
        watches = {Path(w.path): w.is_recursive for w in watcher.observer._watches}
    finally:
        watcher.stop()
    assert watches == {home: True, elsewhere: False}


def test_a_commit_to_a_wal_database_queues_every_stream_reading_it(tmp_path: Path) -> None:
    """OpenCode commits into ``opencode.db-wal``; its messages and tool parts are two streams."""
    import sqlite3

    from agenttail.agents.opencode import OpenCodeAgent

    root = tmp_path / "opencode"
    root.mkdir()
    db = sqlite3.connect(root / "opencode.db", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("CREATE TABLE message (id TEXT PRIMARY KEY, data TEXT)")
    queue = TaskQueue()
    watcher = Watcher([OpenCodeAgent([root])], queue)
    watcher.start()
    try:
        db.execute("INSERT INTO message VALUES ('msg_1', '{}')")
        kinds = set()
        while len(kinds) < 2 and (ref := queue.get(timeout=5)) is not None:
            assert ref.path == root / "opencode.db"
            kinds.add(ref.kind)
            queue.done(ref)
        assert kinds == {"messages", "parts"}
    finally:
        watcher.stop()
        db.close()
