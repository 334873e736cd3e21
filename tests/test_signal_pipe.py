"""Signals reach the daemon's events without the handler taking a lock (agenttail/signal_pipe.py).

The handler used to call ``stop.set()`` itself; when SIGTERM landed while the main thread was
inside ``stop.wait`` (holding the event's lock) the daemon hung: seen in CI as an ``agenttail
run`` that never exited after SIGTERM.
"""

from __future__ import annotations

import os
import select
import signal
import threading

from agenttail.signal_pipe import SignalPipe, signal_events


class RecordingEvent(threading.Event):
    """An event that remembers which thread set it."""

    def __init__(self) -> None:
        super().__init__()
        self.set_by: list[str] = []

    def set(self) -> None:
        self.set_by.append(threading.current_thread().name)
        super().set()


def test_a_signal_sets_its_event_off_the_main_thread_and_the_handlers_are_restored() -> None:
    before = signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGUSR2)
    stop, reload = RecordingEvent(), RecordingEvent()
    with signal_events({signal.SIGUSR1: stop, signal.SIGUSR2: reload}):
        signal.raise_signal(signal.SIGUSR2)
        assert reload.wait(5)
        assert not stop.is_set()
        signal.raise_signal(signal.SIGUSR1)
        assert stop.wait(5)
    assert stop.set_by == ["agenttail-signals"] and reload.set_by == ["agenttail-signals"]
    assert (signal.getsignal(signal.SIGUSR1), signal.getsignal(signal.SIGUSR2)) == before
    assert "agenttail-signals" not in {t.name for t in threading.enumerate()}


def test_a_signal_while_the_main_thread_holds_a_lock_the_event_needs_does_not_hang() -> None:
    # The event's wait and set share one lock: hold a lock the event's set needs, as the main
    # thread does inside wait, and let the signal land then.
    gate = threading.Lock()

    class GatedEvent(threading.Event):
        def set(self) -> None:
            if not gate.acquire(timeout=2):  # the lock's holder is the thread setting it
                raise AssertionError("the event was set on the thread that holds its lock")
            try:
                super().set()
            finally:
                gate.release()

    stop = GatedEvent()
    with signal_events({signal.SIGUSR1: stop}):
        with gate:
            signal.raise_signal(signal.SIGUSR1)  # its handler runs here, on this thread
            assert not stop.is_set()
        assert stop.wait(5)


def test_the_pipe_carries_each_signals_number() -> None:
    with SignalPipe(signal.SIGUSR1, signal.SIGUSR2) as pipe:
        signal.raise_signal(signal.SIGUSR2)
        signal.raise_signal(signal.SIGUSR1)
        assert select.select([pipe.read_fd], [], [], 5)[0]
        assert list(os.read(pipe.read_fd, 16)) == [signal.SIGUSR2, signal.SIGUSR1]
