"""``agenttail top``: a live terminal view of today's cost per agent, the active 5-hour block,
the latest requests and the latest tool failures.

It only reads the store (never scans): twice a second it asks SQLite whether another connection
committed (``PRAGMA data_version``, no table read) and redraws when one did, and every
``interval`` seconds anyway (the clock moves the block's projection). On a terminal it draws on
the alternate screen and quits on ``q`` or Ctrl-C, leaving the terminal as it found it; nothing
but plain keys and standard escape codes, so it works over SSH and in tmux. When stdout is not
a terminal it prints one plain frame every ``interval`` seconds instead.
"""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import sys
import termios
import time
import tty
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any

from agenttail.analytics import Analytics, Dimension, ModelPrice, RecentEvent, Usage
from agenttail.clock import now_ms
from agenttail.display import dollars, unique_prefixes
from agenttail.errors import AgenttailError
from agenttail.paths import AppPaths
from agenttail.report import active_block, today_options
from agenttail.signal_pipe import SignalPipe
from agenttail.store import Store, store_problem

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

POLL_S = 0.5  # how often the store is asked whether anything was committed
FAILURE_WINDOW_MS = 24 * 60 * 60 * 1000  # failures shown: the last day's (bounds the index walk)
REQUEST_ROWS = 10
FAILURE_ROWS = 5
QUIT_KEYS = (b"q", b"Q")


@dataclass(frozen=True, slots=True)
class Frame:
    """Everything one screen shows, read at ``now_ms``."""

    now_ms: int
    tz: tzinfo
    today: list[tuple[str, Usage]]  # per agent, largest cost first
    block: dict[str, Any] | None  # as ``report blocks --json`` shows the active one
    requests: list[RecentEvent]
    failures: list[RecentEvent]
    problem: str | None = None  # why the store could not be read just now


def gather(analytics: Analytics, at_ms: int, tz: tzinfo, prices: dict[str, ModelPrice]) -> Frame:
    today_query = today_options(tz, at_ms, prices).query
    per_agent = [
        (row.keys[Dimension.AGENT] or "unknown", row.usage)
        for row in analytics.usage(today_query, (Dimension.AGENT,))
    ]
    per_agent.sort(key=lambda item: (-item[1].cost_nusd, -item[1].total_tokens, item[0]))
    recent = today_query._replace(since_ms=None)
    return Frame(
        now_ms=at_ms,
        tz=tz,
        today=per_agent,
        block=active_block(analytics, tz, at_ms, prices),
        requests=analytics.latest_requests(recent, REQUEST_ROWS),
        failures=analytics.latest_tool_failures(
            recent._replace(since_ms=at_ms - FAILURE_WINDOW_MS), FAILURE_ROWS
        ),
    )


# -- drawing ----------------------------------------------------------------------------------


def _clock(ms: int, frame: Frame) -> str:
    moment = datetime.fromtimestamp(ms / 1000, frame.tz)
    if moment.date() == datetime.fromtimestamp(frame.now_ms / 1000, frame.tz).date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M")


def _seconds(duration_ms: float | None) -> str:
    return "" if duration_ms is None else f"{duration_ms / 1000:,.1f} s"


def _hours_minutes(ms: int) -> str:
    minutes = max(ms, 0) // 60_000
    return f"{minutes // 60}h{minutes % 60:02d}m"


def _usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.2f}"


def block_line(frame: Frame) -> str:
    """``block 14:00-19:00 · $3.97 so far · $1.20/h · projected $8.50 · 2h03m left``."""
    block = frame.block
    if block is None:
        return "block: none active (no Claude Code request in the last 5 hours)"
    start, end = (
        datetime.fromisoformat(block[key]).astimezone(frame.tz) for key in ("start", "end")
    )
    parts = [
        f"block {start:%H:%M}-{end:%H:%M}",
        f"{_usd(block['cost_usd'])} so far",
    ]
    burn, projection = block["burn_rate"], block["projection"]
    if burn is not None and projection is not None:
        rate = burn["cost_per_hour"]
        parts.append(
            f"${rate:,.2f}/h" if rate is not None else f"{burn['tokens_per_hour']:,.0f} tokens/h"
        )
        parts.append(f"projected {_usd(projection['cost_usd'])}")
    left_ms = int(end.timestamp() * 1000) - frame.now_ms
    parts.append(f"{_hours_minutes(left_ms)} left")
    return " · ".join(parts)


def _fitted(frame: Frame, height: int | None) -> tuple[list[RecentEvent], list[RecentEvent]]:
    """The latest requests and failures that fit a live screen of ``height`` lines with
    everything else on it (a third of the free lines at most for failures, at least one row
    each); all of them in a plain frame."""
    if height is None:
        return frame.requests, frame.failures
    # Header, today and block lines (one spare for a wrapped block line), three blank lines,
    # three table heads of three lines, and the agent rows.
    free = height - 16 - max(len(frame.today), 1)
    failures = frame.failures[: max(free // 3, 1)]
    return frame.requests[: max(free - max(len(failures), 1), 1)], failures


def render(frame: Frame, *, height: int | None = None) -> RenderableType:
    """The frame; ``height`` is the live screen's (rows are cut to fit), None for plain text."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    def table(title: str, *columns: tuple[str, bool]) -> Table:
        grid = Table(
            title=title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
            collapse_padding=True,
        )
        for header, right in columns:
            grid.add_column(header, justify="right" if right else "left", no_wrap=True)
        return grid

    now = datetime.fromtimestamp(frame.now_ms / 1000, frame.tz)
    header = f"agenttail top · {now:%Y-%m-%d %H:%M:%S %Z}" + (
        " · q quits" if height is not None else ""
    )
    parts: list[RenderableType] = [Text(header, style="bold")]
    if frame.problem:  # no numbers rather than zeros that look true
        parts.append(Text(frame.problem, style="bold red"))
        return Group(*parts)
    total = sum((usage for _agent, usage in frame.today), Usage())
    parts.append(
        Text(
            f"today {dollars(total)} · {total.requests:,} requests · {total.total_tokens:,} tokens"
        )
    )
    parts.append(Text(block_line(frame)))
    today = table(
        "today per agent", ("agent", False), ("requests", True), ("tokens", True), ("cost", True)
    )
    for agent, usage in frame.today:
        today.add_row(agent, f"{usage.requests:,}", f"{usage.total_tokens:,}", dollars(usage))
    if not frame.today:
        today.add_row("(no requests yet today)", "", "", "")
    parts.extend((Text(""), today))
    latest = table(
        "latest requests",
        ("time", False),
        ("agent", False),
        ("model", False),
        ("tokens", True),
        ("cost", True),
        ("duration", True),
    )
    requests, failures_shown = _fitted(frame, height)
    for event in requests:
        latest.add_row(
            _clock(event.ts_ms, frame),
            event.agent,
            (event.model or "unknown")[:32],
            f"{event.usage.total_tokens:,}",
            dollars(event.usage, digits=4),
            _seconds(event.duration_ms),
        )
    parts.extend((Text(""), latest))
    failures = table(
        "tool failures (last 24 h)",
        ("time", False),
        ("agent", False),
        ("tool", False),
        ("session", False),
        ("duration", True),
    )
    sessions = unique_prefixes(event.session_id for event in failures_shown)
    for event in failures_shown:
        failures.add_row(
            _clock(event.ts_ms, frame),
            event.agent,
            (event.tool or "unknown")[:32],
            sessions[event.session_id],
            _seconds(event.duration_ms),
        )
    if not frame.failures:
        failures.add_row("none", "", "", "", "")
    parts.extend((Text(""), failures))
    return Group(*parts)


# -- the store, watched -----------------------------------------------------------------------


class StoreWatch:
    """The store opened read-only, opened again when the file is replaced (the daemon rebuilds
    a damaged store), with a cheap question: was anything committed since the last look?"""

    def __init__(self, paths: AppPaths) -> None:
        self.paths = paths
        self.store: Store | None = None
        self._identity: tuple[int, int] | None = None
        self._version: int | None = None

    def _file(self) -> tuple[int, int] | None:
        try:
            stat = self.paths.database.stat()
        except FileNotFoundError:
            return None
        return (stat.st_dev, stat.st_ino) if stat.st_size else None

    def changed(self) -> bool:
        identity = self._file()
        if identity != self._identity or self.store is None:
            self.close()
            self._identity = identity
            if identity is not None:
                self.store = Store(self.paths.database, readonly=True)
            return True
        version = self.store.data_version()
        changed, self._version = version != self._version, version
        return changed

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None
        self._version = None

    def frame(self, tz: tzinfo, prices: dict[str, ModelPrice]) -> Frame:
        from agenttail.store.analytics import SqliteAnalytics

        return gather(SqliteAnalytics(self.store), now_ms(), tz, prices)


def _safe_frame(watch: StoreWatch, tz: tzinfo, prices: dict[str, ModelPrice]) -> Frame:
    """A frame, or an empty one saying why the store cannot be read just now (the view keeps
    running: the daemon may be rebuilding it)."""
    try:
        watch.changed()
        return watch.frame(tz, prices)
    except sqlite3.Error as exc:
        watch.close()
        problem = str(store_problem(exc, watch.paths.database))
    except AgenttailError as exc:
        watch.close()
        problem = str(exc)
    return Frame(now_ms(), tz, [], None, [], [], problem=problem)


# -- running ----------------------------------------------------------------------------------


def run_top(
    paths: AppPaths,
    tz: tzinfo,
    prices: dict[str, ModelPrice],
    *,
    once: bool,
    interval: float,
) -> int:
    """Exit status 0 however it ends (q, Ctrl-C, a closed pipe)."""
    from rich.console import Console

    with ctrl_c() as interrupted:
        paths.check_readable()
        watch = StoreWatch(paths)
        try:
            if once or not sys.stdout.isatty():
                console = Console(highlight=False)
                while True:
                    console.print(render(_frame_or_fail(watch, tz, prices)))
                    if once:
                        return 0
                    sys.stdout.flush()
                    if _ready([interrupted], interval):
                        return 0
                    console.print()
            _live(Console(highlight=False), watch, tz, prices, interval, interrupted)
            return 0
        except BrokenPipeError:
            _quiet_stdout()
            return 0
        finally:
            watch.close()


@contextmanager
def ctrl_c() -> Iterator[int]:
    """A file descriptor that becomes readable when Ctrl-C (SIGINT) comes: the view's waits
    select on it, so Ctrl-C ends a wait at once and the view quits at its next wait.

    The handler never raises. A KeyboardInterrupt raised wherever the signal lands can be
    swallowed ("Exception ignored": it landed in a finalizer run in the middle of a read or a
    draw, and the view keeps running) or cut the terminal's restoration short. It is
    installed even when SIGINT was ignored at start (a launcher that ignores it, a job in the
    background of a script or CI run): Ctrl-C is how this view quits, and a piped ``top``
    would otherwise never stop on it.
    """
    with SignalPipe(signal.SIGINT) as pipe:
        yield pipe.read_fd


def _ready(fds: list[int], timeout: float) -> list[int]:
    """Those of ``fds`` readable within ``timeout`` seconds."""
    ready, _, _ = select.select(fds, [], [], timeout)
    return ready


def _frame_or_fail(watch: StoreWatch, tz: tzinfo, prices: dict[str, ModelPrice]) -> Frame:
    """Plain frames report an unreadable store the way every report does (one line, exit
    code); the live view shows it on screen and keeps trying."""
    try:
        watch.changed()
        return watch.frame(tz, prices)
    except sqlite3.Error as exc:
        raise store_problem(exc, watch.paths.database) from None


def _live(
    console: Console,
    watch: StoreWatch,
    tz: tzinfo,
    prices: dict[str, ModelPrice],
    interval: float,
    interrupted: int,
) -> None:
    from rich.live import Live

    def draw() -> RenderableType:
        # The terminal's own size, now: COLUMNS/LINES (which rich would prefer) are a snapshot
        # from the shell's start, and the screen may have been resized since.
        console.size = os.get_terminal_size(sys.stdout.fileno())
        return render(_safe_frame(watch, tz, prices), height=console.height)

    resized: list[bool] = []
    previous = signal.signal(signal.SIGWINCH, lambda _signum, _frame: resized.append(True))
    try:
        with (
            _keys(interrupted) as pressed,
            Live(
                draw(),
                console=console,
                screen=True,
                auto_refresh=False,
                redirect_stdout=False,
                redirect_stderr=False,
            ) as live,
        ):
            drawn = time.monotonic()
            while not pressed(POLL_S):
                stale = resized or time.monotonic() - drawn >= interval
                try:
                    changed = watch.changed()
                except sqlite3.Error:
                    changed = True  # the frame says what went wrong
                if changed or stale:
                    resized.clear()
                    live.update(draw(), refresh=True)
                    drawn = time.monotonic()
    finally:
        signal.signal(signal.SIGWINCH, previous)


@contextmanager
def _keys(interrupted: int) -> Iterator[Callable[[float], bool]]:
    """``pressed(timeout)``: waits up to ``timeout`` seconds and tells whether a quit key or
    Ctrl-C (``interrupted`` readable, see ``ctrl_c``) came.

    Keys are read one at a time without echo (cbreak: Ctrl-C still sends SIGINT); the
    terminal's settings are restored on the way out, however it is left. Without a terminal
    on stdin it only waits for Ctrl-C.
    """
    if not sys.stdin.isatty():
        yield lambda timeout: bool(_ready([interrupted], timeout))
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)

    def pressed(timeout: float) -> bool:
        ready = _ready([interrupted, fd], timeout)
        if interrupted in ready:
            return True
        if not ready:
            return False
        data = os.read(fd, 64)
        return not data or any(key in data for key in QUIT_KEYS)

    try:
        tty.setcbreak(fd)
        yield pressed
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _quiet_stdout() -> None:
    """After the reader of a pipe left: no second error when Python flushes stdout at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
