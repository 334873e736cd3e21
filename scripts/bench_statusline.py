"""How long ``agenttail statusline`` takes on a large store (target: under 50 ms).

    python scripts/bench_statusline.py --events 1000000

Builds a store of synthetic events with ``bench_analytics.py``'s generator, then times
(1) the line itself in process, at the moment of the store's last event (a busy session, an
active block), and (2) the whole hook as Claude Code runs it: a fresh process of the installed
``agenttail`` console script (``agenttail.entry``, which answers before click loads), beside
``python -m agenttail statusline`` and a bare ``python -c pass``. Wall and CPU time, medians of
--runs. The package is byte-compiled first, as an installed one is (the environment may set
PYTHONDONTWRITEBYTECODE). A benchmark, not a test: numbers go in the README.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_analytics import build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp())
    build(home / "agenttail.db", args.events)

    from agenttail.statusline import HookInput, status_line
    from agenttail.store import Store
    from agenttail.store.analytics import SqliteAnalytics

    with Store(home / "agenttail.db", readonly=True) as store:
        last = next(store.query("SELECT max(ts_ms) AS t, session_id FROM events"))
        hook = HookInput(last["session_id"], "claude-sonnet-4-20250514", None)
        samples = []
        for _ in range(args.runs):
            started = time.perf_counter()
            line = status_line(SqliteAnalytics(store), hook, last["t"], UTC, {})
            samples.append((time.perf_counter() - started) * 1000)
    print(line)
    print(f"| in process, at the last event | {statistics.median(samples):.1f} ms |")

    stdin = json.dumps({"session_id": last["session_id"], "model": {"id": hook.model}})
    env = {**os.environ, "AGENTTAIL_HOME": str(home)}
    import agenttail

    compileall.compile_dir(Path(agenttail.__file__).parent, quiet=1)
    console_script = str(Path(sys.executable).parent / "agenttail")
    for label, command in (
        ("bare interpreter (python -c pass)", [sys.executable, "-c", "pass"]),
        ("whole hook (agenttail statusline)", [console_script, "statusline"]),
        ("python -m agenttail statusline", [sys.executable, "-m", "agenttail", "statusline"]),
    ):
        wall, cpu = process_times(command, stdin, env, args.runs)
        print(f"| {label} | {wall:.1f} ms | {cpu:.1f} ms CPU |")


def process_times(
    command: list[str], stdin: str, env: dict[str, str], runs: int
) -> tuple[float, float]:
    """Median wall and CPU (user + system) milliseconds of a fresh process."""
    walls, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, input=stdin, env=env, capture_output=True, text=True, check=True)
        walls.append((time.perf_counter() - started) * 1000)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    return statistics.median(walls), statistics.median(cpus)


if __name__ == "__main__":
    main()
