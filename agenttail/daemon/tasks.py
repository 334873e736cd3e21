"""The task queue: (path, stream) pairs, de-duplicated whether queued or in flight.

A hint for a stream that is being processed is remembered and the stream queued again when
the worker finishes, so a write that lands mid-read is never missed.
"""

from __future__ import annotations

import threading
from collections import deque

from agenttail.agents.base import StreamRef

Key = tuple[str, str]


class TaskQueue:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._urgent: deque[Key] = deque()
        self._backlog: deque[Key] = deque()
        self._queued: dict[Key, StreamRef] = {}
        self._in_flight: set[Key] = set()
        self._again: dict[Key, StreamRef] = {}
        self._closed = False

    def put(self, ref: StreamRef, *, urgent: bool = False) -> bool:
        """Queue ``ref`` unless it is already queued; True when it was added."""
        key = ref.key
        with self._cond:
            if self._closed or key in self._queued:
                return False
            if key in self._in_flight:
                self._again[key] = ref
                return False
            self._queued[key] = ref
            (self._urgent if urgent else self._backlog).append(key)
            self._cond.notify()
            return True

    def get(self, timeout: float | None = None) -> StreamRef | None:
        """The next task (urgent hints first), or None on timeout or close."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._closed or self._urgent or self._backlog, timeout
            ):
                return None
            if self._closed:
                return None
            key = (self._urgent or self._backlog).popleft()
            self._in_flight.add(key)
            return self._queued.pop(key)

    def wait_pending(self, timeout: float | None = None) -> bool:
        """Block until a task is queued (without taking it); False on timeout or close."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or self._urgent or self._backlog, timeout)
            return not self._closed and bool(self._urgent or self._backlog)

    def done(self, ref: StreamRef, *, again: bool = False) -> None:
        """Finish ``ref``; queue it once more if asked or if a hint arrived meanwhile."""
        key = ref.key
        with self._cond:
            self._in_flight.discard(key)
            again_ref = self._again.pop(key, None)
            if (again or again_ref is not None) and not self._closed:
                self._queued[key] = again_ref or ref
                self._backlog.append(key)
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until nothing is queued or in flight."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self._closed or not (self._queued or self._in_flight), timeout
            )

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def pending(self) -> int:
        with self._cond:
            return len(self._queued)

    def in_flight(self) -> int:
        with self._cond:
            return len(self._in_flight)
