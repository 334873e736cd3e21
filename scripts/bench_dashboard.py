"""Time what one dashboard refresh asks its server, over HTTP, on an existing store.

    python scripts/bench_analytics.py --events 1000000 --db /tmp/bench-dash/agenttail.db
    python scripts/bench_dashboard.py --home /tmp/bench-dash

Starts the dashboard's server on 127.0.0.1 for the state folder ``--home`` (its
``agenttail.db``), then requests every endpoint the page fetches on a refresh (the same URLs,
no filter) five times each; prints each one's median and the refresh's total, sequential (the
browser asks in parallel, so a refresh takes at most that). A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import time
import urllib.request
from pathlib import Path

from agenttail.dashboard.server import DashboardServer, page_context
from agenttail.paths import AppPaths


def refresh_urls(tz_name: str | None) -> list[str]:
    """The requests of one refresh, as dashboard.js builds them with no filter set."""
    day = page_context(tz_name)
    return [
        "api/version",
        "api/context",
        "api/report/series?bucket=day&by=model",
        f"api/report/daily?since={day['today']}&until={day['today']}",
        f"api/report/weekly?since={day['week_start']}",
        f"api/report/monthly?since={day['month_start']}",
        f"api/report/blocks?since={day['yesterday']}",
        "api/report/session",
        "api/report/projects",
        "api/report/tools",
        "api/report/model",
        "api/report/agents",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, required=True, help="state folder with agenttail.db")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    root = args.home.resolve()
    paths = AppPaths(data_dir=root, config_dir=root, log_dir=root / "log", state_dir=root)
    server = DashboardServer(paths)
    server.start()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    total = 0.0
    try:
        for path in refresh_urls(None):
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                with opener.open(server.url + path, timeout=600) as response:
                    size = len(response.read())
                times.append(time.perf_counter() - started)
            median = statistics.median(times)
            total += median
            print(f"{median * 1000:9.1f} ms  {size:>9,} B  {path}")
    finally:
        server.stop()
    print(f"{total * 1000:9.1f} ms  one refresh, asked one after another")


if __name__ == "__main__":
    main()
