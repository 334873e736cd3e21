"""Find, install and run ccusage 20 (the reference agenttail's Claude Code totals must match).

Shared by tests/test_ccusage_parity.py and scripts/bench.py. The npm package ``ccusage`` is a
node launcher for a native binary shipped in ``@ccusage/ccusage-<platform>``; the native binary
is run directly when present (no node process in between, so its peak RSS is its own).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

VERSION = "20.0.24"
INSTALL_TIMEOUT_S = 180.0
RETRY_FAILED_INSTALL_AFTER_S = 24 * 3600
FAILED_STAMP = "install-failed.txt"

# ccusage daily JSON field -> agenttail daily JSON field
TOKEN_FIELDS: dict[str, str] = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheCreationTokens": "cache_write_tokens",
    "cacheReadTokens": "cache_read_tokens",
    "totalTokens": "total_tokens",
}

Rows = dict[str, dict[str, int]]  # day -> {agenttail field: tokens}


def default_dir() -> Path:
    """``$AGENTTAIL_CCUSAGE_DIR``, else ``~/.cache/agenttail-tests/ccusage``."""
    configured = os.environ.get("AGENTTAIL_CCUSAGE_DIR", "").strip()
    if configured:
        return Path(configured).expanduser()
    return Path.home() / ".cache" / "agenttail-tests" / "ccusage"


def find(prefix: Path) -> Path | None:
    """The ccusage executable under an npm ``--prefix`` folder, native binary first; None
    unless that folder holds exactly VERSION (other versions have other rules)."""
    modules = prefix / "node_modules"
    try:
        installed = json.loads((modules / "ccusage" / "package.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if installed.get("version") != VERSION:
        return None
    native = sorted(modules.glob("@ccusage/ccusage-*/bin/ccusage"))
    for candidate in [*native, modules / ".bin" / "ccusage"]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure(prefix: Path | None = None, install: bool = True) -> tuple[Path | None, str]:
    """Return (executable, "") or (None, why not). Installs ccusage@VERSION with npm once.

    A failed install leaves a stamp so later runs skip at once for a day instead of waiting
    on an unreachable registry again.
    """
    prefix = prefix or default_dir()
    found = find(prefix)
    if found is not None:
        return found, ""
    if not install:
        return None, f"ccusage not found under {prefix}"
    npm = shutil.which("npm")
    if npm is None:
        return None, f"ccusage not under {prefix} and npm is not on PATH"
    stamp = prefix / FAILED_STAMP
    if stamp.is_file() and time.time() - stamp.stat().st_mtime < RETRY_FAILED_INSTALL_AFTER_S:
        return None, f"an earlier npm install failed (see {stamp}; delete it to retry)"
    prefix.mkdir(parents=True, exist_ok=True)
    cmd = [
        npm,
        "install",
        "--no-audit",
        "--no-fund",
        "--fetch-retries=1",
        "--prefix",
        str(prefix),
        f"ccusage@{VERSION}",
    ]
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False
        )
        detail = f"exit {done.returncode}: {(done.stderr or done.stdout)[-2000:]}"
        ok = done.returncode == 0
    except (OSError, subprocess.TimeoutExpired) as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    found = find(prefix)
    if ok and found is not None:
        stamp.unlink(missing_ok=True)
        return found, ""
    stamp.write_text(f"{' '.join(cmd)}\n{detail}\n", encoding="utf-8")
    return None, f"npm install ccusage@{VERSION} failed ({detail.splitlines()[0][:200]})"


def daily_command(executable: Path) -> list[str]:
    return [str(executable), "claude", "daily", "--json", "--offline", "--timezone", "UTC"]


def daily_env(config_dir: Path, home: Path) -> dict[str, str]:
    """An empty HOME keeps ccusage away from the user's own transcripts and settings."""
    env = {k: v for k, v in os.environ.items() if k not in ("CLAUDE_CONFIG_DIR", "HOME")}
    env.update(HOME=str(home), CLAUDE_CONFIG_DIR=str(config_dir))
    return env


def run_daily(executable: Path, config_dir: Path, home: Path, timeout: float = 600) -> Any:
    """``ccusage claude daily --json --offline --timezone UTC`` over ``config_dir/projects``."""
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        daily_command(executable),
        env=daily_env(config_dir, home),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return json.loads(done.stdout)


def ccusage_rows(report: Any) -> tuple[Rows, dict[str, int]]:
    """Per-day and total tokens of a ccusage (or gen_claude_corpus expected.json) report."""
    days = {
        row["date"]: {ours: int(row[theirs]) for theirs, ours in TOKEN_FIELDS.items()}
        for row in report["daily"]
    }
    totals = {ours: int(report["totals"][theirs]) for theirs, ours in TOKEN_FIELDS.items()}
    return days, totals


def agenttail_rows(report: Any) -> tuple[Rows, dict[str, int]]:
    """Per-day and total tokens of ``agenttail report daily --json``."""
    fields = TOKEN_FIELDS.values()
    days = {row["date"]: {f: int(row[f]) for f in fields} for row in report["daily"]}
    totals = {f: int(report["totals"][f]) for f in fields}
    return days, totals


def run_agent_daily(executable: Path, agent: str, env: dict[str, str], home: Path) -> Any:
    """``ccusage <agent> daily --json --offline --timezone UTC`` with ``env`` naming the data and
    an empty ``home`` (none of the user's own sessions)."""
    home.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(executable), agent, "daily", "--json", "--offline", "--timezone", "UTC"],
        env={**os.environ, **env, "HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


def day_rows(report: Any, names: dict[str, str] | None = None) -> Rows:
    """Per-day tokens of a report: ccusage's fields renamed by ``names`` (``TOKEN_FIELDS``), or
    agenttail's own field names when ``names`` is None."""
    fields = names or {ours: ours for ours in TOKEN_FIELDS.values()}
    return {r["date"]: {o: int(r[t]) for t, o in fields.items()} for r in report["daily"]}


def add_rows(a: Rows, b: Rows) -> Rows:
    """Per-day sums of two ``day_rows`` results."""
    fields = list(TOKEN_FIELDS.values())
    return {d: {k: a.get(d, {}).get(k, 0) + b.get(d, {}).get(k, 0) for k in fields} for d in a | b}


ModelRows = dict[str, dict[str, tuple[int, ...]]]  # day -> model -> (input, output, write, read)


def model_rows(report: Any) -> ModelRows:
    """Per-day, per-model (input, output, cache write, cache read) tokens of a daily report:
    ccusage's ``modelBreakdowns`` (its ``[pi] ``-style source prefix dropped), agenttail's
    ``models``, or a generator's ``by_model``."""
    theirs = list(TOKEN_FIELDS)[:4]
    ours = [TOKEN_FIELDS[k] for k in theirs]
    table: ModelRows = {}
    for day in report["daily"]:
        if "modelBreakdowns" in day:
            rows = {
                m["modelName"].split("] ", 1)[-1]: tuple(int(m[k]) for k in theirs)
                for m in day["modelBreakdowns"]
            }
        elif "by_model" in day:
            rows = {name: tuple(int(v[k]) for k in ours) for name, v in day["by_model"].items()}
        else:
            rows = {m["model"]: tuple(int(m[k]) for k in ours) for m in day["models"]}
        table[day["date"]] = rows
    return table
