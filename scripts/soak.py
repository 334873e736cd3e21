#!/usr/bin/env python3
"""Soak the real daemon: append Claude Code lines at a fixed rate and watch its RSS.

Usage::

    .venv/bin/python scripts/soak.py [--minutes 30] [--rate 100] [--files 5] \
        [--sample-seconds 10] [--work-dir DIR] [--results .bench/soak.json]

Starts ``python -m agenttail run`` as a subprocess with its own ``AGENTTAIL_HOME`` and
``CLAUDE_CONFIG_DIR`` in a temporary folder, appends a realistic mix of transcript lines (a
prompt, an assistant request with a tool call, its tool result with a few KiB of output, a
closing assistant request) round-robin to ``--files`` session files at ``--rate`` lines per
second, and samples the daemon's RSS with psutil. At the end it checks that every request
reached the store exactly once, stops the daemon with SIGTERM and prints start, plateau and
end RSS: start is the first sample after a one-minute warm-up, plateau the median of the
second half, and drift the largest distance of any later sample from start.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psutil

WARM_UP_S = 60.0
CWD = "/home/dev/soak"
TOOL_OUTPUT = "".join(f"line {i}: ok\n" for i in range(300))  # about 3.5 KiB


class Session:
    """One transcript file under ``projects/<escaped cwd>/<session>.jsonl``."""

    def __init__(self, config_dir: Path) -> None:
        self.session_id = str(uuid.uuid4())
        project = config_dir / "projects" / CWD.replace("/", "-")
        project.mkdir(parents=True, exist_ok=True)
        self.path = project / f"{self.session_id}.jsonl"
        self.parent: str | None = None
        self.step = 0
        self.requests = 0

    def _envelope(self, kind: str) -> dict[str, Any]:
        record_uuid = str(uuid.uuid4())
        ts = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
        data = {
            "parentUuid": self.parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": CWD,
            "sessionId": self.session_id,
            "version": "2.1.44",
            "gitBranch": "main",
            "type": kind,
            "uuid": record_uuid,
            "timestamp": ts,
        }
        self.parent = record_uuid
        return data

    def _assistant(self, content: list[dict[str, Any]]) -> dict[str, Any]:
        self.requests += 1
        return {
            **self._envelope("assistant"),
            "requestId": f"req_{uuid.uuid4().hex}",
            "message": {
                "id": f"msg_{uuid.uuid4().hex}",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": content,
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 12,
                    "cache_creation_input_tokens": 300,
                    "cache_read_input_tokens": 20_000,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 300,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": 150,
                    "service_tier": "standard",
                },
            },
        }

    def next_line(self) -> str:
        """The next record of a prompt / tool call / tool result / answer cycle."""
        phase = self.step % 4
        self.step += 1
        tool_id = f"toolu_{self.session_id[:8]}_{self.step // 4}"
        if phase == 0:
            record = {
                **self._envelope("user"),
                "message": {"role": "user", "content": "run the tests please"},
            }
        elif phase == 1:
            record = self._assistant(
                [{"type": "tool_use", "id": tool_id, "name": "Bash", "input": {"command": "ls"}}]
            )
        elif phase == 2:
            record = {
                **self._envelope("user"),
                "message": {
                    "role": "user",
                    "content": [
                        {"type": "tool_result", "tool_use_id": tool_id, "content": TOOL_OUTPUT}
                    ],
                },
                "toolUseResult": {"stdout": TOOL_OUTPUT},
            }
        else:
            record = self._assistant([{"type": "text", "text": "All tests pass."}])
        return json.dumps(record) + "\n"


def counted_requests(database: Path) -> int:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*) FROM events WHERE counted = 1 AND kind = 'llm_request'"
            ).fetchone()
    except sqlite3.Error:
        return -1
    return int(row[0])


def stop_daemon(daemon: subprocess.Popen[bytes]) -> None:
    """SIGTERM as a service manager sends it; killed after 30 s."""
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(30)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def summarize(samples: list[tuple[float, int, float]]) -> dict[str, Any]:
    """Start (after warm-up), plateau (median of the second half), end, drift, per 1k lines."""
    settled = [s for s in samples if s[0] >= WARM_UP_S] or samples
    start_t, start_lines, start_rss = settled[0]
    end_t, end_lines, end_rss = settled[-1]
    half = settled[len(settled) // 2 :]
    lines = max(1, end_lines - start_lines)
    return {
        "start_rss_mb": round(start_rss, 1),
        "plateau_rss_mb": round(statistics.median(s[2] for s in half), 1),
        "end_rss_mb": round(end_rss, 1),
        "max_rss_mb": round(max(s[2] for s in samples), 1),
        "drift_mb": round(max(abs(s[2] - start_rss) for s in settled), 1),
        "growth_mb_per_1k_lines": round((end_rss - start_rss) / lines * 1000, 3),
        "measured_from_s": round(start_t, 1),
        "measured_to_s": round(end_t, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=100.0, help="lines appended per second")
    parser.add_argument("--files", type=int, default=5, help="session files written round-robin")
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument("--work-dir", type=Path, default=None)
    parser.add_argument("--results", type=Path, default=None, help="also write JSON here")
    args = parser.parse_args()

    work = args.work_dir or Path(tempfile.mkdtemp(prefix="agenttail-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTAIL_")}
    env.pop("NOTIFY_SOCKET", None)
    env.update(
        AGENTTAIL_HOME=str(work / "home"),
        CLAUDE_CONFIG_DIR=str(work / "claude"),
        HOME=str(work / "user-home"),  # no other agent's real sessions in the soak
        XDG_CONFIG_HOME=str(work / "user-home" / ".config"),
        COPILOT_HOME=str(work / "user-home" / ".copilot"),
    )
    sessions = [Session(work / "claude") for _ in range(args.files)]
    log = open(work / "daemon.stderr", "wb")  # noqa: SIM115 - closed in finally
    daemon = subprocess.Popen(
        [sys.executable, "-m", "agenttail", "run"], env=env, stderr=log, stdout=log
    )
    proc = psutil.Process(daemon.pid)
    samples: list[tuple[float, int, float]] = []
    written = 0
    started = time.monotonic()
    next_sample = started
    duration = args.minutes * 60
    try:
        while (now := time.monotonic()) - started < duration:
            due = int((now - started) * args.rate)
            while written < due:
                session = sessions[written % len(sessions)]
                with open(session.path, "a", encoding="utf-8") as handle:
                    handle.write(session.next_line())
                written += 1
            if now >= next_sample:
                rss = proc.memory_info().rss / 2**20
                samples.append((now - started, written, rss))
                print(f"{now - started:7.0f}s {written:8d} lines  rss {rss:6.1f} MB", flush=True)
                next_sample += args.sample_seconds
            time.sleep(min(0.05, 1 / args.rate))
        expected = sum(s.requests for s in sessions)
        deadline = time.monotonic() + 120
        while counted_requests(work / "home" / "agenttail.db") != expected:
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
        stored = counted_requests(work / "home" / "agenttail.db")
        cpu = proc.cpu_times()
    finally:
        stop_daemon(daemon)
        log.close()
    result = {
        "minutes": args.minutes,
        "rate_lines_per_s": args.rate,
        "files": args.files,
        "lines": written,
        "requests_written": expected,
        "requests_stored": stored,
        "daemon_cpu_s": round(cpu.user + cpu.system, 1),
        "exit_code": daemon.returncode,
        **summarize(samples),
        "samples": [{"t_s": round(t, 1), "lines": n, "rss_mb": round(r, 1)} for t, n, r in samples],
    }
    if args.results:
        args.results.parent.mkdir(parents=True, exist_ok=True)
        args.results.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: v for k, v in result.items() if k != "samples"}, indent=2))
    return 0 if stored == expected and daemon.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
