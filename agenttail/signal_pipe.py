"""Signals delivered through a pipe: handlers that write one byte and take no lock.

A Python signal handler runs on the main thread between two bytecodes, possibly while that
thread holds a lock. Inside ``threading.Event.wait`` it holds the event's own lock, so a
handler that calls ``event.set()`` waits for itself forever: SIGTERM hung the daemon that
way about once in twenty stops on a loaded machine. A handler here only writes the signal's
number to a pipe; a select on the pipe (``top``) or a relay thread (the daemon) acts on it.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from types import FrameType
from typing import Any

Handler = Callable[[int, FrameType | None], Any] | int | None

_STOP_RELAY = 0  # never a signal's number


class SignalPipe:
    """A pipe that becomes readable when one of ``signums`` comes; each byte is a signal's
    number. The handlers are installed even where a signal was ignored at start (a launcher
    that ignores SIGINT, a job in the background of a script): whoever asks for a signal
    here means to act on it."""

    def __init__(self, *signums: int) -> None:
        self.signums = signums
        self.read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        self._previous: dict[int, Handler] = {}

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.send(signum)

    def send(self, code: int) -> None:
        """Write ``code``; a full pipe is readable already, so nothing waits unwoken."""
        with suppress(BlockingIOError):
            os.write(self._write_fd, bytes([code]))

    def __enter__(self) -> SignalPipe:
        for signum in self.signums:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *_exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        os.close(self.read_fd)
        os.close(self._write_fd)


@contextmanager
def signal_events(events: Mapping[int, threading.Event]) -> Iterator[None]:
    """Set ``events[signum]`` when ``signum`` comes, from a relay thread that reads the pipe:
    whatever the main thread waits on, the handler never touches its lock."""
    with SignalPipe(*events) as pipe:
        relay = threading.Thread(
            target=_relay, args=(pipe.read_fd, events), name="agenttail-signals", daemon=True
        )
        relay.start()
        try:
            yield
        finally:
            pipe.send(_STOP_RELAY)
            relay.join()


def _relay(read_fd: int, events: Mapping[int, threading.Event]) -> None:
    while True:
        for code in os.read(read_fd, 64):
            if code == _STOP_RELAY:
                return
            events[code].set()
