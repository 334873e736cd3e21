"""`report daily --json`, `status --json` and a no-op `scan` start without the heavy libraries
they do not use (issue 13): each would add tens of milliseconds to every invocation.

Measured with the interpreter's own import log (``-X importtime``) of the real CLI process.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Modules a report or status must never load: structlog (its dev console pulls rich and
# pygments), sqlite-utils, genai-prices, the entry-point plugin scan, the daemon's scheduler
# and watcher, the upload transport and its protobufs.
HEAVY_FOR_READERS = (
    "structlog",
    "rich",
    "pygments",
    "sqlite_utils",
    "genai_prices",
    "importlib.metadata",
    "apscheduler",
    "watchdog",
    "httpx",
    "opentelemetry",
    "google.protobuf",
)
# A no-op scan logs and loads plugins, but finds its schema current without sqlite-utils.
HEAVY_FOR_NOOP_SCAN = ("sqlite_utils",)


def imported_modules(*args: str) -> tuple[set[str], str]:
    """The modules the CLI imported for ``args``, and its stdout."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agenttail", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return names, done.stdout


def loaded(names: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(n for n in names if any(n == h or n.startswith(h + ".") for h in heavy))


@pytest.fixture
def scanned_store(claude_dir: Path) -> None:
    shutil.copytree(FIXTURES / "claude-code", claude_dir)
    subprocess.run(
        [sys.executable, "-m", "agenttail", "scan"], check=True, capture_output=True, timeout=120
    )


@pytest.mark.usefixtures("scanned_store")
def test_report_daily_json_starts_lean() -> None:
    names, stdout = imported_modules("report", "daily", "--json")
    expected = json.loads((FIXTURES / "claude-code" / "expected.json").read_text())
    assert len(json.loads(stdout)["daily"]) == len(expected["daily"])  # a real report ran
    assert "agenttail.report" in names
    assert loaded(names, HEAVY_FOR_READERS) == []


@pytest.mark.usefixtures("scanned_store")
def test_status_json_starts_lean() -> None:
    names, stdout = imported_modules("status", "--json")
    assert json.loads(stdout)  # a real status ran
    assert "agenttail.daemon.lifecycle" in names  # it did look for a running daemon
    assert loaded(names, HEAVY_FOR_READERS) == []


@pytest.mark.usefixtures("scanned_store")
def test_noop_scan_skips_sqlite_utils() -> None:
    names, stdout = imported_modules("scan", "--json")
    summary = json.loads(stdout)
    assert summary["discovered"] > 0 and summary["processed"] == 0  # nothing changed
    assert loaded(names, HEAVY_FOR_NOOP_SCAN) == []
