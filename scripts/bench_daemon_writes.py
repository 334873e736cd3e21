#!/usr/bin/env python3
"""What the running daemon writes to disk per appended transcript byte (issue 13).

Usage::

    .venv/bin/python scripts/bench_daemon_writes.py [--minutes 3] [--rate 20] [--files 5] \
        [--idle-seconds 60] [--work-dir DIR] [--results .bench/writes.json]

Starts a real ``python -m agenttail run`` with its own ``AGENTTAIL_HOME`` and
``CLAUDE_CONFIG_DIR`` on the working folder's disk (not tmpfs: the kernel counts block-layer
writes only for a real file system), appends ``soak.py``'s realistic Claude Code mix
round-robin to ``--files`` session files at ``--rate`` lines per second, and measures:

- write amplification: the daemon's ``/proc/<pid>/io`` ``write_bytes`` less
  ``cancelled_write_bytes`` (bytes it caused to be sent to storage, less those of temporary
  files deleted before they reached it: WAL frames, checkpoints, log lines) over the appended
  transcript bytes, after a warm-up (the first commits create rollup rows and pages), and
  ``wchar`` (every byte handed to ``write()``) beside it;
- the WAL's size, sampled every second (largest and last) beside the database's;
- append-to-visible latency: from the append of a request line to the moment a reader sees it
  counted in the store (polled every ms), under the load and for single appends to an idle
  daemon;
- idle CPU: the daemon's user + system time over ``--idle-seconds`` with nothing appended.

At the end every request written must be stored exactly once. A benchmark, not a test: the
numbers go in the README.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from soak import Session, counted_requests, stop_daemon

WARM_UP_S = 30.0
IDLE_PROBES = 10
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def proc_io(pid: int) -> dict[str, int]:
    fields = Path(f"/proc/{pid}/io").read_text().split("\n")
    return {k: int(v) for k, v in (line.split(": ") for line in fields if ": " in line)}


def cpu_seconds(pid: int) -> float:
    stat = Path(f"/proc/{pid}/stat").read_text()
    after_name = stat.rsplit(")", 1)[1].split()
    return (int(after_name[11]) + int(after_name[12])) / CLOCK_TICKS  # utime + stime


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


class Visibility:
    """Polls the store for the counted request total; times each awaited total."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.waiting: list[tuple[int, float]] = []  # (total to reach, appended at)
        self.latencies_ms: list[float] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="visibility", daemon=True)

    def expect(self, total: int, appended_at: float) -> None:
        with self.lock:
            self.waiting.append((total, appended_at))

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        while not self.stop.is_set():
            if conn is None:
                try:
                    conn = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=5)
                except sqlite3.Error:
                    time.sleep(0.05)
                    continue
            try:
                (seen,) = conn.execute(
                    "SELECT count(*) FROM events WHERE counted = 1 AND kind = 'llm_request'"
                ).fetchone()
            except sqlite3.Error:
                seen = -1
            now = time.perf_counter()
            with self.lock:
                while self.waiting and self.waiting[0][0] <= seen:
                    _total, appended = self.waiting.pop(0)
                    self.latencies_ms.append((now - appended) * 1000)
            time.sleep(0.001)
        if conn is not None:
            conn.close()

    def drain(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not self.waiting:
                    return True
            time.sleep(0.01)
        return False


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0, help="measured load, after warm-up")
    parser.add_argument("--rate", type=float, default=20.0, help="lines appended per second")
    parser.add_argument("--files", type=int, default=5, help="session files written round-robin")
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument(
        "--commit-interval-ms", type=int, default=None, help="the daemon's commit_interval_ms"
    )
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="agenttail-writes-", dir="/var/tmp"))
    home = work / "home"
    database, wal = home / "agenttail.db", home / "agenttail.db-wal"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTAIL_")}
    env.pop("NOTIFY_SOCKET", None)
    env.update(
        AGENTTAIL_HOME=str(home),
        CLAUDE_CONFIG_DIR=str(work / "claude"),
        HOME=str(work / "user-home"),  # no other agent's real sessions
        XDG_CONFIG_HOME=str(work / "user-home" / ".config"),
        COPILOT_HOME=str(work / "user-home" / ".copilot"),
    )
    if args.commit_interval_ms is not None:
        env["AGENTTAIL_COMMIT_INTERVAL_MS"] = str(args.commit_interval_ms)
    sessions = [Session(work / "claude") for _ in range(args.files)]
    log = open(work / "daemon.stderr", "wb")  # noqa: SIM115 - closed in finally
    daemon = subprocess.Popen(
        [sys.executable, "-m", "agenttail", "run"], env=env, stderr=log, stdout=log
    )
    visibility = Visibility(database)
    requests = 0
    appended = 0

    def append(session: Session) -> None:
        nonlocal requests, appended
        before = session.requests
        line = session.next_line()
        with open(session.path, "a", encoding="utf-8") as handle:
            handle.write(line)
        appended += len(line.encode())
        if session.requests > before:
            requests += 1
            visibility.expect(requests, time.perf_counter())

    wal_samples: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while not database.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(2.0)  # the first sweep of an empty folder
        visibility.thread.start()
        written = 0
        started = time.monotonic()
        measured_from = started + WARM_UP_S
        end = measured_from + args.minutes * 60
        io_start: dict[str, int] | None = None
        appended_start = 0
        next_sample = started
        while (now := time.monotonic()) < end:
            if io_start is None and now >= measured_from:
                io_start, appended_start = proc_io(daemon.pid), appended
                latencies_before = len(visibility.latencies_ms)
            due = int((now - started) * args.rate)
            while written < due:
                append(sessions[written % len(sessions)])
                written += 1
            if now >= next_sample:
                if io_start is not None:
                    wal_samples.append(size(wal))
                next_sample += 1.0
            time.sleep(min(0.01, 1 / args.rate))
        assert io_start is not None
        visibility.drain(120)
        io_end = proc_io(daemon.pid)
        load_bytes = appended - appended_start
        load_latencies = visibility.latencies_ms[latencies_before:]

        time.sleep(10.0)  # let a quiet-time checkpoint (if any) happen before idle is measured
        idle_io_start, idle_cpu_start = proc_io(daemon.pid), cpu_seconds(daemon.pid)
        time.sleep(args.idle_seconds)
        idle_cpu = cpu_seconds(daemon.pid) - idle_cpu_start
        idle_io_end = proc_io(daemon.pid)
        idle_written = idle_io_end["write_bytes"] - idle_io_start["write_bytes"]
        wal_after_idle = size(wal)

        idle_from = len(visibility.latencies_ms)
        for _ in range(IDLE_PROBES):  # appends to an idle daemon, 2 s apart
            for _phase in range(2):  # a prompt, then the request
                append(sessions[0])
            visibility.drain(30)
            time.sleep(2.0)
            for _phase in range(2):  # its tool result, then the answer
                append(sessions[0])
            visibility.drain(30)
            time.sleep(2.0)
        idle_latencies = visibility.latencies_ms[idle_from:]
        stored = counted_requests(database)
    finally:
        visibility.stop.set()
        stop_daemon(daemon)
        log.close()
    written_bytes = (io_end["write_bytes"] - io_end["cancelled_write_bytes"]) - (
        io_start["write_bytes"] - io_start["cancelled_write_bytes"]
    )
    result: dict[str, Any] = {
        "minutes": args.minutes,
        "rate_lines_per_s": args.rate,
        "files": args.files,
        "appended_bytes": load_bytes,
        "daemon_write_bytes": written_bytes,
        "write_amplification": round(written_bytes / load_bytes, 2),
        "daemon_wchar": io_end["wchar"] - io_start["wchar"],
        "wchar_amplification": round((io_end["wchar"] - io_start["wchar"]) / load_bytes, 2),
        "wal_max_mb": round(max(wal_samples) / 2**20, 2),
        "wal_end_of_load_mb": round(wal_samples[-1] / 2**20, 2),
        "wal_after_idle_mb": round(wal_after_idle / 2**20, 2),
        "database_mb": round(size(database) / 2**20, 2),
        "load_latency_ms_p50": round(statistics.median(load_latencies), 1),
        "load_latency_ms_p95": round(percentile(load_latencies, 0.95), 1),
        "idle_latency_ms_p50": round(statistics.median(idle_latencies), 1),
        "idle_latency_ms_max": round(max(idle_latencies), 1),
        "idle_cpu_percent": round(100 * idle_cpu / args.idle_seconds, 3),
        "idle_write_bytes": idle_written,
        "requests_written": requests,
        "requests_stored": stored,
        "exit_code": daemon.returncode,
    }
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if stored == requests and daemon.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
