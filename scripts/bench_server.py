"""Load benchmark of the team server: N simulated developers uploading at once.

    python scripts/bench_server.py --engine sqlite --developers 50 --batches 20
    python scripts/bench_server.py --engine postgresql      # a throwaway cluster of its own

Starts a real ``agenttail server`` subprocess, gives every developer a token, and has each
post ``--batches`` gzip batches of ``--events`` events (as the http exporter sends them) from
its own thread. Prints stored events per second and request latency percentiles.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.server.postgres import fresh_database, postgres_cluster, wait_for_port  # noqa: E402


def _event(developer: int, number: int) -> dict[str, Any]:
    return {
        "event_id": hashlib.sha256(f"{developer}:{number}".encode()).hexdigest()[:32],
        "revision": 1,
        "kind": "llm_request",
        "agent": "claude_code",
        "session_id": f"s{developer}-{number // 200}",
        "ts_ms": 1_764_000_000_000 + number * 1000,
        "model": "claude-sonnet-4-20250514",
        "input_tokens": 12,
        "output_tokens": 340,
        "cache_read_tokens": 41_000,
        "cache_write_tokens": 900,
        "cache_write_5m_tokens": 900,
        "cache_write_1h_tokens": 0,
        "reasoning_tokens": 0,
        "total_tokens": 42_252,
        "cost_nusd": 20_000_000,
        "is_sidechain": False,
        "counted": True,
        "attrs": {},
    }


def _body(developer: int, batch: int, events: int, user: str) -> bytes:
    rows = [_event(developer, batch * events + n) for n in range(events)]
    pairs = sorted(f"{e['event_id']}:1" for e in rows)
    document = {
        "schema": "agenttail.batch/v1",
        "batch_id": hashlib.sha256("\n".join(pairs).encode()).hexdigest()[:32],
        "sent_at": "2026-12-02T10:00:00.000+00:00",
        "source": {
            "name": "agenttail",
            "version": "bench",
            "host_id": f"machine-{developer}",
            "exporter": "http",
            "user": user,
        },
        "events": rows,
    }
    return gzip.compress(orjson.dumps(document))


@contextlib.contextmanager
def _database(engine: str, folder: Path) -> Iterator[str]:
    if engine == "sqlite":
        yield f"sqlite:///{folder / 'team.db'}"
        return
    with postgres_cluster() as server:
        yield fresh_database(server)


def _cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--developers", type=int, default=50)
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--port", type=int, default=18787)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, _database(args.engine, Path(tmp)) as url:
        tokens = {
            f"dev{n}": _cli("server", "token", "create", f"dev{n}", "--database", url)
            for n in range(args.developers)
        }
        bodies = {
            user: [_body(n, b, args.events, user) for b in range(args.batches)]
            for n, user in enumerate(tokens)
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agenttail",
                "server",
                "--listen",
                f"127.0.0.1:{args.port}",
                "--database",
                url,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port("127.0.0.1", args.port)
            latencies: list[float] = []
            statuses: dict[int, int] = {}
            lock = threading.Lock()
            endpoint = f"http://127.0.0.1:{args.port}/v1/batches"

            def developer(user: str) -> None:
                headers = {
                    "Authorization": f"Bearer {tokens[user]}",
                    "Content-Encoding": "gzip",
                    "Content-Type": "application/json",
                }
                with httpx.Client(timeout=120) as client:
                    for body in bodies[user]:
                        while True:
                            started = time.perf_counter()
                            response = client.post(endpoint, content=body, headers=headers)
                            took = time.perf_counter() - started
                            with lock:
                                statuses[response.status_code] = (
                                    statuses.get(response.status_code, 0) + 1
                                )
                                if response.status_code == 200:
                                    latencies.append(took)
                            if response.status_code != 429:
                                break
                            time.sleep(float(response.headers.get("retry-after", "1")))

            threads = [threading.Thread(target=developer, args=(user,)) for user in tokens]
            started = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(30)
        total = args.developers * args.batches * args.events
        latencies.sort()
        p50 = statistics.median(latencies)
        p95 = latencies[int(0.95 * (len(latencies) - 1))]
        print(f"engine: {args.engine}")
        print(f"developers: {args.developers}, batches each: {args.batches} x {args.events}")
        print(f"stored: {total} events in {elapsed:.1f} s = {total / elapsed:,.0f} events/s")
        print(f"request latency p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
        print(f"statuses: {dict(sorted(statuses.items()))}")


if __name__ == "__main__":
    main()
