"""What one redraw of ``agenttail top`` costs on a large store, and what its idle poll costs.

    python scripts/bench_top.py --events 1000000

Builds a store of synthetic events with ``bench_analytics.py``'s generator, then times, at the
moment of the store's last event (a busy day, an active block): the poll the view runs twice a
second (``PRAGMA data_version``), reading one frame (``top.gather``: today per agent, the
active block, latest requests, tool failures) and drawing it (120x40). Medians of --runs. A
benchmark, not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_analytics import build


def median_ms(action: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    build(home / "agenttail.db", args.events)

    from rich.console import Console

    from agenttail.store import Store
    from agenttail.store.analytics import SqliteAnalytics
    from agenttail.top import gather, render

    with Store(home / "agenttail.db", readonly=True) as store:
        last = next(store.query("SELECT max(ts_ms) AS t FROM events"))["t"]
        analytics = SqliteAnalytics(store)
        poll = median_ms(store.data_version, args.runs * 50)
        read = median_ms(lambda: gather(analytics, last, UTC, {}), args.runs)
        frame = gather(analytics, last, UTC, {})
        console = Console(width=120, height=40, file=open("/dev/null", "w"))  # noqa: SIM115
        draw = median_ms(lambda: console.print(render(frame, height=40)), args.runs)
    print(f"| poll (PRAGMA data_version) | {poll * 1000:.0f} us |")
    print(f"| read one frame | {read:.1f} ms |")
    print(f"| draw one frame (120x40) | {draw:.1f} ms |")


if __name__ == "__main__":
    main()
