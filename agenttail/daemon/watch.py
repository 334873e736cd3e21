"""watchdog observers on the agents' own folders; their events only hint the task queue.

Handlers do no I/O: they map a path to its stream and queue it. Roots that appear later are
scheduled by ``refresh()`` (called from each sweep); a dead observer thread is replaced; an
inotify limit error falls back to polling with a message naming the sysctl to raise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver
from watchdog.observers.polling import PollingObserver

from agenttail.agents.base import Agent, matching_streams
from agenttail.daemon.tasks import TaskQueue

log = structlog.stdlib.get_logger(__name__)

POLL_INTERVAL_S = 10.0


def inotify_hint() -> str:
    try:
        current = int(Path("/proc/sys/fs/inotify/max_user_watches").read_text().strip())
    except (OSError, ValueError):
        current = 8192
    wanted = max(2**19, 2 * current)
    return f"raise it with: sudo sysctl fs.inotify.max_user_watches={wanted}"


class _Hints(FileSystemEventHandler):
    def __init__(self, agents: Sequence[Agent], queue: TaskQueue) -> None:
        self.agents = agents
        self.queue = queue

    def on_any_event(self, event: FileSystemEvent) -> None:
        try:
            if event.is_directory or event.event_type in ("deleted", "closed_no_write", "opened"):
                return
            raw = getattr(event, "dest_path", "") or event.src_path
            path = Path(os.fsdecode(raw))
            for agent in self.agents:
                refs = matching_streams(agent, path)
                for ref in refs:
                    self.queue.put(ref, urgent=True)
                if refs:
                    return
        except Exception:
            log.exception("watch_handler_failed")


ObserverFactory = Callable[[bool], BaseObserver]


def make_observer(polling: bool) -> BaseObserver:
    """The platform's native observer, or a slow polling one after an inotify limit error."""
    return PollingObserver(timeout=POLL_INTERVAL_S) if polling else Observer()


class Watcher:
    def __init__(
        self,
        agents: Sequence[Agent],
        queue: TaskQueue,
        observer_factory: ObserverFactory = make_observer,
    ) -> None:
        self.agents = agents
        self.handler = _Hints(agents, queue)
        self.observer_factory = observer_factory
        self.observer: BaseObserver | None = None
        self.watched: set[Path] = set()
        # Roots an agent asked to watch without their subfolders (see Agent.watch_recursively).
        self.recursive: dict[Path, bool] = {}
        self.polling = False
        self.restarts = 0
        self._lock = threading.Lock()

    @property
    def observer_name(self) -> str | None:
        return None if self.observer is None else type(self.observer).__name__

    def start(self) -> None:
        with self._lock:
            self._start_observer()
        self.refresh()

    def _start_observer(self) -> None:
        self.observer = self.observer_factory(self.polling)
        self.observer.daemon = True
        self.observer.start()
        self.watched = set()
        log.info("watcher_started", observer=type(self.observer).__name__)

    def refresh(self) -> list[Path]:
        """Watch roots that exist now; restart a dead observer. Returns the watched roots."""
        with self._lock:
            if self.observer is None:
                return []
            if not self.observer.is_alive():
                log.warning("watcher_died_restarting", observer=self.observer_name)
                with contextlib.suppress(Exception):
                    self.observer.stop()
                self.restarts += 1
                self._start_observer()
            for agent in self.agents:
                for root in agent.roots():
                    if root in self.watched or not root.is_dir():
                        continue
                    self.recursive[root] = self.recursive.get(
                        root, False
                    ) or agent.watch_recursively(root)
                    self._schedule(root)
            return sorted(self.watched)

    def _schedule(self, root: Path) -> None:
        assert self.observer is not None
        try:
            recursive = self.recursive.get(root, True)
            self.observer.schedule(self.handler, str(root), recursive=recursive)
            self.watched.add(root)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) and not self.polling:
                log.warning(
                    "inotify_limit_reached_polling",
                    root=str(root),
                    error=str(exc),
                    hint=inotify_hint(),
                    poll_seconds=POLL_INTERVAL_S,
                )
                self._fall_back_to_polling([*sorted(self.watched), root])
            else:
                log.warning("watch_failed", root=str(root), error=repr(exc))

    def _fall_back_to_polling(self, roots: Sequence[Path]) -> None:
        """Replace the native observer by a polling one watching every root it had."""
        assert self.observer is not None
        with contextlib.suppress(Exception):
            self.observer.stop()
        self.polling = True
        self._start_observer()
        for root in roots:
            self._schedule(root)

    def alive(self) -> bool:
        return self.observer is not None and self.observer.is_alive()

    def stop(self) -> None:
        with self._lock:
            if self.observer is not None:
                self.observer.stop()
                self.observer.join(5)
                self.observer = None
