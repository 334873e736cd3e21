#!/usr/bin/env python3
"""How long a new user waits: from ``agenttail run`` on a new store to its first sweep done.

Usage::

    .venv/bin/python scripts/bench_first_sweep.py [--target-mb 147] [--runs 3] \
        [--tree before=/tmp/agenttail-before] [--tree after=.] [--work-dir /tmp/agenttail-bench]

On ``bench.py``'s generated Claude Code corpus (``--target-mb 147`` is its 157 MiB one), each
run starts a real daemon (``python -m agenttail run``, the README's quick start) with a new
state folder and polls the store read-only every 20 ms until the daily rollup, which every
report reads, holds the generator's total tokens: the first sweep is then done as a user sees
it. The daemon's CPU (all threads, from /proc) is read at that moment, then it gets SIGTERM.
``--tree LABEL=PATH`` runs the code of another checkout (say an export of main before a change)
through PYTHONPATH with this interpreter; the trees' runs are alternated, so a shared
machine's load falls on both alike, and medians are printed with the load average.
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
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from bench import agenttail_env, corpus_dir, ensure_corpus
from bench_daemon_writes import cpu_seconds
from soak import stop_daemon

ROOT = Path(__file__).resolve().parents[1]
POLL_S = 0.02
TOTAL = (
    "SELECT coalesce(sum(input_tokens + output_tokens + cache_read_tokens"
    " + cache_write_tokens), 0) FROM usage_rollup_daily"
)


def stored_total(database: Path) -> int:
    """Total tokens the reports would show now (-1 while the store is not readable yet)."""
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute(TOTAL).fetchone()[0])
    except sqlite3.Error:
        return -1


def first_sweep(tree: Path, corpus: Path, total: int, timeout: float) -> dict[str, float]:
    """One daemon start on a new store: seconds and CPU seconds until reports show it all."""
    with tempfile.TemporaryDirectory(prefix="agenttail-first-sweep-") as home:
        env = agenttail_env(corpus, Path(home), [])
        env.pop("NOTIFY_SOCKET", None)
        env["PYTHONPATH"] = str(tree)
        database = Path(home) / "agenttail.db"
        started = time.perf_counter()
        daemon = subprocess.Popen(
            [sys.executable, "-m", "agenttail", "run"],
            env=env,
            cwd=tree,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            while stored_total(database) != total:
                if daemon.poll() is not None:
                    raise SystemExit(f"the daemon of {tree} exited with {daemon.returncode}")
                if time.perf_counter() - started > timeout:
                    raise SystemExit(f"{tree}: not done after {timeout} s")
                time.sleep(POLL_S)
            wall = time.perf_counter() - started
            cpu = cpu_seconds(daemon.pid)
        finally:
            stop_daemon(daemon)
    return {"wall_s": wall, "cpu_s": cpu}


def check_tree(tree: Path) -> None:
    """The code a tree's runs import must be that tree's, not this interpreter's install."""
    done = subprocess.run(
        [sys.executable, "-c", "import agenttail; print(agenttail.__file__)"],
        env={**os.environ, "PYTHONPATH": str(tree)},
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    )
    imported = Path(done.stdout.strip()).resolve()
    if not imported.is_relative_to(tree.resolve()):
        raise SystemExit(f"--tree {tree} imports agenttail from {imported}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--target-mb", type=float, default=147.0)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--huge-line-mb", type=float, default=0.0)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/agenttail-bench"))
    p.add_argument(
        "--tree",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a checkout to measure (repeatable; default: this one, as 'current')",
    )
    args = p.parse_args(argv)
    trees = {}
    for item in args.tree or [f"current={ROOT}"]:
        label, sep, path = item.partition("=")
        if not sep:
            raise SystemExit(f"--tree expects LABEL=PATH, got {item!r}")
        trees[label] = Path(path).resolve()
        check_tree(trees[label])
    corpus = corpus_dir(args.work_dir, args)
    expected, _generated = ensure_corpus(corpus, args)
    total = int(expected["totals"]["totalTokens"])
    size = sum(f.stat().st_size for f in corpus.rglob("*.jsonl"))
    runs: dict[str, list[dict[str, float]]] = {label: [] for label in trees}
    loads = [os.getloadavg()[0]]
    for _ in range(args.runs):
        for label, tree in trees.items():
            runs[label].append(first_sweep(tree, corpus, total, args.timeout))
            loads.append(os.getloadavg()[0])
    results: dict[str, Any] = {
        "corpus_mib": round(size / 2**20, 1),
        "load_average": [round(x, 2) for x in loads],
        "trees": {},
    }
    print(f"first sweep of `agenttail run` on a new store, {results['corpus_mib']} MiB corpus")
    print(f"load average during the runs: {min(loads):.1f}-{max(loads):.1f}")
    print("| code | wall (median) | CPU (median) | runs (wall / CPU) |")
    print("|---|---|---|---|")
    for label, measured in runs.items():
        wall = statistics.median(r["wall_s"] for r in measured)
        cpu = statistics.median(r["cpu_s"] for r in measured)
        each = ", ".join(f"{r['wall_s']:.2f} / {r['cpu_s']:.2f}" for r in measured)
        print(f"| {label} | {wall:.2f} s | {cpu:.2f} s | {each} |")
        results["trees"][label] = {"wall_s": wall, "cpu_s": cpu, "runs": measured}
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
