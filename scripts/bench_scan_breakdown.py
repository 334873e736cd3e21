#!/usr/bin/env python3
"""Where the CPU of a cold ``agenttail scan`` goes, stage by stage (issue 13's breakdown).

Usage::

    .venv/bin/python scripts/bench_scan_breakdown.py [--target-mb 147] [--runs 3] \
        [--work-dir /tmp/agenttail-bench]

Each run is a fresh interpreter that scans the generated Claude Code corpus (the one
``scripts/bench.py`` makes, reused when present) into a new store, with each stage's thread CPU
time summed by wrapping the functions that do it: interpreter start, imports (genai-prices'
apart), the new store's schema, the sweep, reading lines (with ``orjson`` parsing), the agent's
record logic, the range check, storing events (SQLite upserts) and per-stream bookkeeping, the
rollups and indexes built at the end, and the cyclic garbage collector. It prints the median
of each stage over ``--runs``; the wrappers add a little time of their own (~1 us a call). The
``orjson`` share of reading is measured apart, parsing every line of the corpus once.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import bench

CHILD_FLAG = "--child"


def _wrap(owner: Any, name: str, stage: str, spent: dict[str, float]) -> None:
    original = getattr(owner, name)

    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[stage] += time.thread_time() - start

    setattr(owner, name, timed)


def child() -> None:
    """One instrumented scan; prints the seconds per stage as JSON."""
    started = resource.getrusage(resource.RUSAGE_SELF)
    spent: dict[str, float] = {"interpreter start": started.ru_utime + started.ru_stime}
    for stage in ("read + parse", "record logic", "range check", "event upserts"):
        spent[stage] = 0.0
    spent.update({"commit": 0.0, "stream": 0.0})
    spent.update({"new store schema": 0.0, "sweep": 0.0, "rollups + indexes": 0.0})
    spent["garbage collector"] = 0.0
    before = time.process_time()
    import gc

    gc_start = [0.0]

    def collected(phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            gc_start[0] = time.thread_time()
        else:
            spent["garbage collector"] += time.thread_time() - gc_start[0]

    gc.callbacks.append(collected)
    started_prices = time.process_time()
    import genai_prices  # noqa: F401 (its import cost is a stage of its own)

    spent["genai-prices import"] = time.process_time() - started_prices
    import agenttail.daemon_cli
    import agenttail.store.migrations  # noqa: F401 (the scan's own imports, done first)
    from agenttail import store
    from agenttail.agents.base import Agent
    from agenttail.agents.registry import load_agents
    from agenttail.daemon import runner, worker
    from agenttail.entry import main
    from agenttail.readers.jsonl import JsonlReader
    from agenttail.store import events
    from agenttail.store.bulk import BulkLoad

    load_agents()  # the plugins' modules

    _wrap(JsonlReader, "read", "read + parse", spent)
    _wrap(Agent, "to_events", "record logic", spent)
    _wrap(worker, "valid_events", "range check", spent)
    _wrap(events, "upsert_events", "event upserts", spent)
    _wrap(store.Store, "commit_batch", "commit", spent)
    _wrap(worker.StreamProcessor, "process", "stream", spent)
    _wrap(BulkLoad, "finish", "rollups + indexes", spent)
    _wrap(store.Store, "ensure_schema", "new store schema", spent)
    _wrap(runner.Pipeline, "sweep", "sweep", spent)
    spent["imports + set-up"] = time.process_time() - before - spent["genai-prices import"]
    sys.argv = ["agenttail", "scan"]
    try:
        main()
    except SystemExit as done:
        if done.code:
            raise
    total = resource.getrusage(resource.RUSAGE_SELF)
    spent["total"] = total.ru_utime + total.ru_stime
    # The collector runs inside the stages; commit holds the upserts.
    inside = ("read + parse", "record logic", "range check", "commit")
    spent["stream state, watermark"] = spent.pop("stream") - sum(spent[s] for s in inside)
    spent["stream state, watermark"] += spent.pop("commit") - spent["event upserts"]
    print(json.dumps(spent))


def orjson_seconds(corpus: Path) -> float:
    """CPU time of parsing every line of the corpus once with orjson."""
    import orjson

    spent = 0.0
    for path in sorted(corpus.rglob("*.jsonl")):
        lines = path.read_bytes().split(b"\n")
        start = time.process_time()
        for line in lines:
            with contextlib.suppress(orjson.JSONDecodeError):
                orjson.loads(line)
        spent += time.process_time() - start
    return spent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target-mb", type=float, default=147.0)
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/agenttail-bench"))
    args = p.parse_args(argv)
    args.huge_line_mb = 0.0
    corpus = bench.corpus_dir(args.work_dir, args)
    bench.ensure_corpus(corpus, args)  # the corpus scripts/bench.py measures
    runs: list[dict[str, float]] = []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as home:
            env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTAIL_")}
            env.update(AGENTTAIL_HOME=home, CLAUDE_CONFIG_DIR=str(corpus), HOME=home)
            done = subprocess.run(
                [sys.executable, __file__, CHILD_FLAG],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    size = sum(f.stat().st_size for f in corpus.rglob("*.jsonl")) / 2**20
    print(f"cold scan of {size:.0f} MiB, CPU seconds, median of {args.runs} runs")
    print(f"(load average {os.getloadavg()[0]:.1f}; the stages include the collector's passes)\n")
    print("| stage | CPU s |\n|---|---|")
    stages = [k for k in runs[0] if k != "total"]
    medians = {k: statistics.median(r[k] for r in runs) for k in [*stages, "total"]}
    for stage in stages:
        print(f"| {stage} | {medians[stage]:.3f} |")
    accounted = sum(medians[s] for s in stages if s != "garbage collector")
    print(f"| other (CLI, config, thread hand-offs, exit) | {medians['total'] - accounted:.3f} |")
    print(f"| **total** | {medians['total']:.3f} |")
    print(f"\norjson alone, every line once: {orjson_seconds(corpus):.3f} s")
    return 0


if __name__ == "__main__":
    if CHILD_FLAG in sys.argv:
        child()
    else:
        raise SystemExit(main())
