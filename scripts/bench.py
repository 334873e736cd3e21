#!/usr/bin/env python3
"""Benchmark agenttail against ccusage 20 on a large generated Claude Code corpus.

Usage::

    .venv/bin/python scripts/bench.py [--target-mb 147 562] [--runs 3] [--sessions 200] \
        [--huge-line-mb 100] [--work-dir /tmp/agenttail-bench] \
        [--results .bench/bench-results.json] [--no-ccusage] [--set max_line_bytes=268435456]

Measures, in one run, on each corpus size (by default about 157 MiB and 600 MiB): agenttail's
cold ``scan`` into a new store (wall, MB/s, CPU, peak RSS of the process), a no-op rescan (the
sweep manifest answers) and a no-op full sweep (a folder's stat moved, no stream changed),
alternated with ccusage's ``claude daily --json --offline`` (wall, CPU, peak RSS), medians of
``--runs``; ``report daily --json`` latency (median of 5). It prints a Markdown table per
corpus with the ratios against issue 13's targets and writes the numbers as JSON. Every
figure is for a separate subprocess, so interpreter start-up is included, as a user sees it.
The corpus is ``gen_claude_corpus.py --unambiguous`` (reused when the same parameters were
generated before), so the run doubles as a large-scale parity check. agenttail is byte-compiled
first, as an installed package is. The machine may be
shared: load averages are recorded around each phase and CPU time is reported next to wall
time.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import ccusage_tool
import gen_claude_corpus

TARGETS = {  # issue 13: agenttail figure / ccusage wall time (RSS: absolute MB)
    "cold_scan_vs_ccusage": 1.0,
    "report_vs_ccusage": 0.05,
    "noop_rescan_vs_ccusage": 0.1,
    "scan_peak_rss_mb": 150.0,
}
KNOWN_GAPS = ("spaced_json", "micro_ts")  # see tests/test_ccusage_parity.py


@dataclass
class Run:
    """One measured subprocess."""

    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    stdout: str = ""


# A forked child's ru_maxrss starts at its parent's high-water mark (the copied address space
# counts until exec), so this script (which may hold a whole corpus in memory) never forks the
# measured program itself: a fresh, small interpreter does, and reports os.wait4's figures.
LAUNCHER = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as fh:
    code = os.waitstatus_to_exitcode(status)
    fh.write(f"{wall} {ru.ru_utime + ru.ru_stime} {ru.ru_maxrss} {code}")
"""


def measure(cmd: list[str], env: dict[str, str]) -> Run:
    """Run ``cmd`` to completion; wall time, CPU and peak RSS from ``os.wait4``."""
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "rusage"
        err_path = Path(tmp) / "stderr"
        with err_path.open("wb") as err:
            done = subprocess.run(
                [sys.executable, "-S", "-I", "-c", LAUNCHER, str(result), *cmd],
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                check=False,
            )
        if done.returncode != 0 or not result.is_file():
            tail = err_path.read_bytes()[-4000:].decode(errors="replace")
            raise SystemExit(f"launcher failed for {' '.join(cmd)}:\n{tail}")
        wall, cpu, maxrss, code = result.read_text().split()
        if int(code) != 0:
            tail = err_path.read_bytes()[-4000:].decode(errors="replace")
            raise SystemExit(f"{' '.join(cmd)} exited {code}:\n{tail}")
    # ru_maxrss is KiB on Linux, bytes on macOS
    rss_mb = int(maxrss) / (1024 * 1024 if sys.platform == "darwin" else 1024)
    return Run(
        wall_s=float(wall),
        cpu_s=float(cpu),
        peak_rss_mb=rss_mb,
        load_before=load_before,
        load_after=os.getloadavg(),
        stdout=done.stdout.decode(),
    )


def corpus_dir(work: Path, args: argparse.Namespace) -> Path:
    huge = f"-huge{args.huge_line_mb:g}" if args.huge_line_mb else ""
    return work / f"corpus-{args.target_mb:g}mb-{args.sessions}s-seed{args.seed}{huge}"


def ensure_corpus(out: Path, args: argparse.Namespace) -> tuple[dict[str, Any], float | None]:
    """Generate the corpus unless ``out`` already holds one made with the same parameters."""
    gen_args = [
        str(out),
        "--unambiguous",
        "--quiet",
        "--sessions",
        str(args.sessions),
        "--target-mb",
        str(args.target_mb),
        "--seed",
        str(args.seed),
        "--huge-line-mb",
        str(args.huge_line_mb),
    ]
    for kind in KNOWN_GAPS:
        gen_args += ["--omit-edge", kind]
    expected_path = out / "expected.json"
    if expected_path.is_file():
        expected: dict[str, Any] = json.loads(expected_path.read_text("utf-8"))
        params = expected.get("generator", {})
        if (
            params.get("sessions") == args.sessions
            and params.get("target_mb") == args.target_mb
            and params.get("seed") == args.seed
            and params.get("huge_line_mb") == args.huge_line_mb
            and params.get("unambiguous")
        ):
            return expected, None
    shutil.rmtree(out, ignore_errors=True)
    start = time.perf_counter()
    gen_claude_corpus.main(gen_args)
    elapsed = time.perf_counter() - start
    return json.loads(expected_path.read_text("utf-8")), elapsed


def agenttail_env(corpus: Path, home: Path, settings: list[str]) -> dict[str, str]:
    """Only the bench's own AGENTTAIL_* settings (``--set KEY=VALUE``) reach agenttail."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTAIL_")}
    for item in settings:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--set expects KEY=VALUE, got {item!r}")
        env[f"AGENTTAIL_{key.upper()}"] = value
    env.update(AGENTTAIL_HOME=str(home), CLAUDE_CONFIG_DIR=str(corpus))
    return env


def ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}{unit}"


def verdict(value: float | None, limit: float) -> str:
    if value is None:
        return "n/a"
    return "PASS" if value <= limit else "FAIL"


def median_run(runs: list[Run]) -> Run:
    """The run of median wall time (its CPU and RSS belong to that same run)."""
    ordered = sorted(runs, key=lambda r: r.wall_s)
    return ordered[(len(ordered) - 1) // 2]


def bench_corpus(args: argparse.Namespace, target_mb: float) -> tuple[list[str], dict[str, Any]]:
    """Generate (or reuse) one corpus and measure both tools on it; Markdown lines + JSON."""
    work: Path = args.work_dir
    args.target_mb = target_mb
    out = corpus_dir(work, args)
    print(f"corpus: {out}", file=sys.stderr)
    expected, gen_s = ensure_corpus(out, args)
    stats = expected["stats"]
    corpus_mb = stats["bytes"] / (1024 * 1024)

    home = work / "agenttail-home"
    env = agenttail_env(out, home, args.set)
    agenttail = [sys.executable, "-m", "agenttail"]
    cc_exe: Path | None = None
    cc_reason = "disabled (--no-ccusage)"
    if not args.no_ccusage:
        cc_exe, cc_reason = ccusage_tool.ensure(args.ccusage_dir)
    empty_home = work / "empty-home"
    empty_home.mkdir(exist_ok=True)
    colds: list[Run] = []
    noops: list[Run] = []
    sweeps: list[Run] = []
    ccs: list[Run] = []
    # Alternated run by run, so a change in the shared machine's load hits both tools alike.
    for index in range(args.runs):
        print(f"run {index + 1}/{args.runs}: agenttail cold scan, no-op rescans", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
        colds.append(measure([*agenttail, "scan"], env))
        noops.append(measure([*agenttail, "scan"], env))  # answered by the sweep manifest
        # A folder's stat moves (set an hour back) but no stream changes: the full sweep runs
        # and finds nothing to read, as after any new session or change elsewhere.
        back = time.time() - 3600 - index
        os.utime(out / "projects", (back, back))
        sweeps.append(measure([*agenttail, "scan"], env))
        if cc_exe is not None:
            print(f"run {index + 1}/{args.runs}: ccusage ({cc_exe})", file=sys.stderr)
            ccs.append(
                measure(ccusage_tool.daily_command(cc_exe), ccusage_tool.daily_env(out, empty_home))
            )
    cold, noop, sweep = median_run(colds), median_run(noops), median_run(sweeps)
    cc = median_run(ccs) if ccs else None
    report_cmd = [*agenttail, "report", "daily", "--json", "--timezone", "UTC"]
    reports = [measure(report_cmd, env) for _ in range(args.report_runs)]
    report_s = statistics.median(r.wall_s for r in reports)
    # Fastest of 5: start-up is subtracted below, so noise must not inflate it.
    startup = min(measure([*agenttail, "--help"], env).wall_s for _ in range(5))
    floor_mb = measure(["true"], env).peak_rss_mb  # what the launcher's fork itself shows
    ours = ccusage_tool.agenttail_rows(json.loads(reports[0].stdout))
    want = ccusage_tool.ccusage_rows(expected)
    theirs = ccusage_tool.ccusage_rows(json.loads(cc.stdout)) if cc is not None else None
    cc_wall = cc.wall_s if cc else None

    ratios = {
        "cold_scan_vs_ccusage": ratio(cold.wall_s, cc_wall),
        "report_vs_ccusage": ratio(report_s, cc_wall),
        "noop_rescan_vs_ccusage": ratio(noop.wall_s, cc_wall),
        "scan_peak_rss_mb": max(r.peak_rss_mb for r in colds),
    }
    sweep_ratio = ratio(sweep.wall_s, cc_wall)
    load = os.getloadavg()
    lines = [
        f"## Corpus: {corpus_mb:.1f} MiB, {stats['files']} files ({stats['subagent_files']} "
        f"subagent), {stats['lines']} lines, largest line "
        f"{stats['largest_line_bytes'] / 2**20:.1f} MiB, {stats['api_calls']} API calls; "
        f"generated in {fmt(gen_s, ' s', 1) if gen_s is not None else '(reused)'}",
        f"Machine: {os.cpu_count()} CPUs, load average now {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} (shared machine: compare CPU time as well as wall time)",
        "",
        f"| measurement (median of {args.runs} unless noted) | wall | CPU (user+sys) | peak RSS "
        "| load 1m before/after |",
        "|---|---|---|---|---|",
    ]

    def row(name: str, run: Run, extra: str = "") -> str:
        return (
            f"| {name} | {run.wall_s:.2f} s{extra} | {run.cpu_s:.2f} s | "
            f"{run.peak_rss_mb:.0f} MB | {run.load_before[0]:.2f} / {run.load_after[0]:.2f} |"
        )

    lines.append(row("agenttail cold scan", cold, f" ({corpus_mb / cold.wall_s:.1f} MiB/s)"))
    lines.append(row("agenttail no-op rescan (answered by the sweep manifest)", noop))
    lines.append(row("agenttail no-op rescan, full sweep (a folder's stat moved)", sweep))
    lines.append(
        f"| agenttail report daily --json (median of {len(reports)}) | {report_s:.2f} s | "
        f"{statistics.median(r.cpu_s for r in reports):.2f} s | "
        f"{max(r.peak_rss_mb for r in reports):.0f} MB | - |"
    )
    lines.append(f"| agenttail --help (start-up, fastest of 5) | {startup:.2f} s | - | - | - |")
    lines.append(f"| `true` (RSS measurement floor) | - | - | {floor_mb:.0f} MB | - |")
    if cc is not None:
        lines.append(row("ccusage claude daily --json --offline", cc))
    else:
        lines.append(f"| ccusage | n/a: {cc_reason} | | | |")
    # The same ratios without agenttail's interpreter start-up (what a daemon-side query pays).
    warm = {
        "cold_scan_vs_ccusage": ratio(cold.wall_s - startup, cc_wall),
        "report_vs_ccusage": ratio(report_s - startup, cc_wall),
        "noop_rescan_vs_ccusage": ratio(noop.wall_s - startup, cc_wall),
        "scan_peak_rss_mb": None,
    }
    cpu_ratio = ratio(cold.cpu_s, cc.cpu_s if cc else None)
    lines += [
        "",
        "| target | value | without start-up | limit | verdict |",
        "|---|---|---|---|---|",
    ]
    for key, limit in TARGETS.items():
        unit = " MB" if key.endswith("_mb") else "x"
        lines.append(
            f"| {key} | {fmt(ratios[key], unit)} | {fmt(warm[key], unit)} | {limit:g}{unit} | "
            f"{verdict(ratios[key], limit)} |"
        )
    lines += [
        f"| cold scan CPU / ccusage CPU | {fmt(cpu_ratio, 'x')} | - | - | - |",
        f"| no-op full sweep / ccusage | {fmt(sweep_ratio, 'x')} | - | - | - |",
        "",
        f"Parity: agenttail == expected.json: {ours == want}; "
        + (
            f"ccusage == expected.json: {theirs == want}; agenttail == ccusage: {ours == theirs}"
            if theirs is not None
            else "ccusage not run"
        ),
        f"Totals: agenttail {ours[1]}; expected {want[1]}"
        + (f"; ccusage {theirs[1]}" if theirs is not None else ""),
    ]
    if ours != want and stats["largest_line_bytes"] > 8 * 2**20:
        lines.append(
            "Note: the corpus has a line over 8 MiB; agenttail skips lines over max_line_bytes "
            "(default 8 MiB) and so misses that API call (try --set max_line_bytes=...)."
        )

    def plain(run: Run) -> dict[str, Any]:
        return {k: v for k, v in asdict(run).items() if k != "stdout"}

    results = {
        "corpus": {"path": str(out), "mib": corpus_mb, "generate_s": gen_s, **stats},
        "machine": {"cpus": os.cpu_count(), "loadavg_end": load},
        "agenttail": {
            "cold_scan": plain(cold),
            "cold_scan_runs": [plain(r) for r in colds],
            "cold_scan_mib_per_s": corpus_mb / cold.wall_s,
            "noop_rescan": plain(noop),
            "noop_rescan_runs": [plain(r) for r in noops],
            "noop_full_sweep": plain(sweep),
            "noop_full_sweep_runs": [plain(r) for r in sweeps],
            "report_daily_median_s": report_s,
            "report_daily_runs_s": [r.wall_s for r in reports],
            "startup_s": startup,
            "rss_floor_mb": floor_mb,
            "totals": ours[1],
        },
        "ccusage": (
            plain(cc) | {"runs": [plain(r) for r in ccs], "totals": theirs[1] if theirs else None}
            if cc
            else {"skipped": cc_reason}
        ),
        "expected_totals": want[1],
        "parity": {
            "agenttail_eq_expected": ours == want,
            "ccusage_eq_expected": None if theirs is None else theirs == want,
            "agenttail_eq_ccusage": None if theirs is None else ours == theirs,
        },
        "ratios": ratios,
        "ratios_without_startup": warm,
        "cold_scan_cpu_vs_ccusage_cpu": cpu_ratio,
    }
    return lines, results


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--target-mb",
        type=float,
        nargs="+",
        default=[147.0, 562.0],
        help="corpus sizes to generate (the defaults give about 157 MiB and 600 MiB)",
    )
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--huge-line-mb", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help="cold scans and ccusage runs per corpus")
    p.add_argument("--work-dir", type=Path, default=Path("/tmp/agenttail-bench"))
    p.add_argument("--results", type=Path, default=Path(".bench/bench-results.json"))
    p.add_argument("--report-runs", type=int, default=5)
    p.add_argument("--ccusage-dir", type=Path, default=None, help="npm prefix holding ccusage")
    p.add_argument("--no-ccusage", action="store_true")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="agenttail setting for the run, e.g. --set max_line_bytes=268435456",
    )
    args = p.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    import agenttail

    # As `pip install` does: without .pyc files (PYTHONDONTWRITEBYTECODE) every measured
    # process would compile agenttail from source first.
    compileall.compile_dir(Path(agenttail.__file__).parent, quiet=1)
    sizes = list(args.target_mb)
    lines = [f"agenttail settings: {' '.join(args.set) or 'defaults'}", ""]
    corpora = []
    for target_mb in sizes:
        corpus_lines, results = bench_corpus(args, target_mb)
        lines += [*corpus_lines, ""]
        corpora.append(results)
    print("\n".join(lines))
    args.results.parent.mkdir(parents=True, exist_ok=True)
    summary = {"agenttail_settings": args.set, "targets": TARGETS, "corpora": corpora}
    args.results.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"results written to {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
