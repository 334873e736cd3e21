"""watchdog observers on the agents' own folders; their events only hint the task queue.

Handlers do no I/O: they map a path to its stream and queue it. Roots that appear later are
scheduled by ``refresh()`` (called from each sweep); a root deleted, replaced or whose emitter
stopped is noticed by ``check()`` (a stat per root, every main-loop tick) and re-armed as soon
as it exists again; a dead observer thread is replaced; an inotify limit error falls back to
polling with a message naming the sysctl to raise.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog
from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import BaseObserver, ObservedWatch
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


@dataclass(frozen=True)
class Armed:
    """A scheduled watch and the identity of the folder it was armed on."""

    watch: ObservedWatch
    dev: int
    ino: int


def _identity(root: Path) -> tuple[int, int] | None:
    try:
        st = root.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino) if stat.S_ISDIR(st.st_mode) else None


class Watcher:
    def __init__(
        self,
        agents: Sequence[Agent],
        queue: TaskQueue,
        observer_factory: ObserverFactory = make_observer,
        on_rearm: Callable[[], object] | None = None,
    ) -> None:
        self.agents = agents
        self.handler = _Hints(agents, queue)
        self.observer_factory = observer_factory
        self.on_rearm = on_rearm
        self.observer: BaseObserver | None = None
        self.armed: dict[Path, Armed] = {}
        # Roots whose watch was lost (deleted, replaced, emitter gone): checked every tick.
        self.lost: set[Path] = set()
        # Roots an agent asked to watch without their subfolders (see Agent.watch_recursively).
        self.recursive: dict[Path, bool] = {}
        self.polling = False
        self.restarts = 0
        self.generation = 0  # bumped whenever the set of armed watches changes
        self._lock = threading.Lock()

    @property
    def watched(self) -> set[Path]:
        return set(self.armed)

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
        self.armed = {}
        self.generation += 1
        log.info("watcher_started", observer=type(self.observer).__name__)

    def refresh(self) -> list[Path]:
        """Watch roots that exist now; re-arm lost watches; restart a dead observer.

        Returns the watched roots."""
        with self._lock:
            if self.observer is None:
                return []
            if not self.observer.is_alive():
                log.warning("watcher_died_restarting", observer=self.observer_name)
                with contextlib.suppress(Exception):
                    self.observer.stop()
                self.restarts += 1
                self._start_observer()
            self._drop_lost_watches()
            for agent in self.agents:
                for root in agent.roots():
                    if root in self.armed or not root.is_dir():
                        continue
                    self.recursive[root] = self.recursive.get(
                        root, False
                    ) or agent.watch_recursively(root)
                    self._schedule(root)
            return sorted(self.armed)

    def check(self) -> None:
        """Cheap per-tick check (a stat per root): re-arm a watch whose folder was deleted,
        replaced or whose emitter stopped, as soon as the folder exists again."""
        with self._lock:
            if self.observer is None or not self.observer.is_alive():
                return
            self._drop_lost_watches()
            back = [root for root in sorted(self.lost) if root.is_dir()]
            for root in back:
                self._schedule(root)
        if back and self.on_rearm is not None:
            self.on_rearm()  # files created before the new watch existed: sweep for them

    def _drop_lost_watches(self) -> None:
        assert self.observer is not None
        emitters = {emitter.watch: emitter for emitter in self.observer.emitters}
        for root, armed in list(self.armed.items()):
            emitter = emitters.get(armed.watch)
            identity = _identity(root)
            if identity == (armed.dev, armed.ino) and emitter is not None and emitter.is_alive():
                continue
            reason = "deleted" if identity is None else "replaced"
            if identity == (armed.dev, armed.ino):
                reason = "watch stopped"
            log.warning("watch_lost", root=str(root), reason=reason)
            with contextlib.suppress(Exception):
                self.observer.unschedule(armed.watch)
            del self.armed[root]
            self.lost.add(root)
            self.generation += 1

    def describe(self) -> list[dict[str, object]]:
        """Every root the daemon watches or lost, with the folder identity it was armed on."""
        with self._lock:
            entries: list[dict[str, object]] = [
                {"path": str(root), "live": True, "dev": armed.dev, "ino": armed.ino}
                for root, armed in sorted(self.armed.items())
            ]
            entries += [{"path": str(root), "live": False} for root in sorted(self.lost)]
            return entries

    def _schedule(self, root: Path) -> None:
        assert self.observer is not None
        identity = _identity(root)
        if identity is None:
            self.lost.add(root)
            return
        try:
            recursive = self.recursive.get(root, True)
            watch = self.observer.schedule(self.handler, str(root), recursive=recursive)
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EMFILE) and not self.polling:
                log.warning(
                    "inotify_limit_reached_polling",
                    root=str(root),
                    error=str(exc),
                    hint=inotify_hint(),
                    poll_seconds=POLL_INTERVAL_S,
                )
                self._fall_back_to_polling([*sorted(self.armed), root])
            else:
                log.warning("watch_failed", root=str(root), error=repr(exc))
            return
        self.armed[root] = Armed(watch, *identity)
        if root in self.lost:
            self.lost.discard(root)
            log.info("watch_rearmed", root=str(root))
        self.generation += 1

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


def verify_watches(entries: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The daemon's published watches checked against the folders as they are now (``doctor``).

    A watch is ``watching`` only while its folder still has the identity it was armed on; a
    folder deleted or replaced since is reported as such, whatever the daemon last wrote.
    """
    report = []
    for entry in entries:
        root = Path(str(entry.get("path")))
        identity = _identity(root)
        if not entry.get("live"):
            state = "lost: folder missing" if identity is None else "lost: re-arming"
        elif identity is None:
            state = "lost: folder deleted"
        elif identity != (entry.get("dev"), entry.get("ino")):
            state = "lost: folder replaced, re-arming"
        else:
            state = "watching"
        report.append({"path": str(root), "state": state, "live": state == "watching"})
    return report
