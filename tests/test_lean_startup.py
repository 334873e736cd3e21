"""`report daily --json`, `status --json`, a no-op `scan` and the status line start without the
heavy libraries and the other commands' modules they do not use (issue 13, issue 14's 50 ms
status line): each would add tens of milliseconds to every invocation.

Measured with the interpreter's own import log (``-X importtime``) of the real CLI process.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest

from agenttail.cli import COMMANDS, main
from agenttail.paths import AppPaths

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"

# Modules a report or status must never load: structlog (its dev console pulls rich and
# pygments), sqlite-utils, genai-prices, the entry-point plugin scan, the daemon's scheduler
# and watcher, the upload transport and its protobufs, the team server and its PostgreSQL
# driver (only a report on a postgresql:// team store loads psycopg).
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
    "psycopg",
    "starlette",
)
# A no-op scan loads plugins (the entry-point scan), but writes no log record (structlog and
# its console stay unloaded) and finds its schema current without sqlite-utils.
HEAVY_FOR_NOOP_SCAN = ("sqlite_utils", "structlog", "rich", "pygments")
# Each command's own module; a command loads its own and none of the others.
COMMAND_MODULES = tuple(sorted({target.split(":")[0] for target in COMMANDS.values()}))
# A read-only open of the store loads none of its writers' modules (the bulk load, migrations,
# stream state, event upserts), nor the agents, readers and event model they pull in.
STORE_WRITERS = (
    "agenttail.store.bulk",
    "agenttail.store.rollups",
    "agenttail.store.migrations",
    "agenttail.store.streams",
    "agenttail.store.events",
    "agenttail.agents",
    "agenttail.readers",
    "agenttail.events",
)
# Claude Code's hook runs `agenttail statusline` on every refresh: no CLI framework, no
# writer, no genai-prices wrapper, no tzlocal (and its logging) where TZ names the zone, no
# TOML parser without a config file, no platformdirs when AGENTTAIL_HOME says where, and no
# dataclasses (its import alone is ~6 ms: the value types on this path are named tuples).
HEAVY_FOR_STATUSLINE = (
    *HEAVY_FOR_READERS,
    "click",
    "agenttail.cli",
    *COMMAND_MODULES,
    *STORE_WRITERS,
    "agenttail.pricing",
    "tzlocal",
    "logging",
    "tomllib",
    "platformdirs",
    "socket",
    "dataclasses",
)
ROOT = Path(__file__).resolve().parents[1]


def imported_modules(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> tuple[set[str], str]:
    """The modules the CLI imported for ``args``, and its stdout."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "agenttail", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
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
    assert loaded(names, STORE_WRITERS) == []
    others = tuple(m for m in COMMAND_MODULES if m != "agenttail.report_cli")
    assert loaded(names, others) == []


@pytest.mark.usefixtures("scanned_store")
def test_status_json_starts_lean() -> None:
    names, stdout = imported_modules("status", "--json")
    assert json.loads(stdout)  # a real status ran
    assert "agenttail.daemon.lifecycle" in names  # it did look for a running daemon
    assert "agenttail.upload.outbox" in names  # and counted the outbox
    assert loaded(names, HEAVY_FOR_READERS) == []
    # The outbox's counts need neither the Retry-After date parser nor gzip (~7 ms).
    assert loaded(names, ("email", "gzip")) == []
    others = tuple(m for m in COMMAND_MODULES if m != "agenttail.status_cli")
    assert loaded(names, others) == []


@pytest.mark.usefixtures("scanned_store")
def test_noop_scan_skips_sqlite_utils_and_structlog() -> None:
    names, stdout = imported_modules("scan", "--json")
    summary = json.loads(stdout)
    assert summary["discovered"] > 0 and summary["processed"] == 0  # nothing changed
    assert loaded(names, HEAVY_FOR_NOOP_SCAN) == []


@pytest.mark.usefixtures("scanned_store")
def test_statusline_answers_before_the_cli_loads() -> None:
    hook = {"session_id": "nonexistent", "model": {"id": "claude-sonnet-4-5"}}
    names, stdout = imported_modules("statusline", stdin=json.dumps(hook), env={"TZ": "UTC"})
    assert stdout.startswith("session ")  # a real line from the store, not the fallback
    assert "agenttail.store.analytics" in names
    assert loaded(names, HEAVY_FOR_STATUSLINE) == []


@pytest.mark.usefixtures("scanned_store")
def test_statusline_reads_the_store_without_its_writers() -> None:
    """A session with requests in the store: the line prices it from the store's rows (a
    session cost that is not $0.00) through the read-only path alone."""
    store = AppPaths.resolve().database
    with sqlite3.connect(store) as conn:
        session, cost = conn.execute(
            "SELECT session_id, sum(cost_nusd) FROM events WHERE kind = 'llm_request'"
            " AND counted = 1 GROUP BY session_id ORDER BY 2 DESC LIMIT 1"
        ).fetchone()
    conn.close()
    hook = {"session_id": session, "model": {"id": "claude-sonnet-4-5"}}
    names, stdout = imported_modules(
        "statusline", stdin=json.dumps(hook), env={"TZ": "Europe/Paris"}
    )
    assert stdout.startswith(f"session ${cost / 1e9:,.2f} · today ")
    assert loaded(names, HEAVY_FOR_STATUSLINE) == []


def test_the_console_script_takes_the_fast_path() -> None:
    """The installed `agenttail` (what Claude Code's settings run) goes through the fast path."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'agenttail = "agenttail.entry:main"' in text


def test_help_lists_every_command_with_its_short_help() -> None:
    ctx = click.Context(main)
    listed = main.list_commands(ctx)
    assert sorted(COMMANDS) == listed
    shown = subprocess.run(
        [sys.executable, "-m", "agenttail", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in listed:
        command = main.get_command(ctx, name)
        assert command is not None, name
        words = command.get_short_help_str(limit=30).split()[:2]
        assert f"  {name} " in shown and " ".join(words) in shown, name
        assert f"agenttail {name}" in readme, f"README does not document `agenttail {name}`"


def test_a_scan_that_has_something_to_say_still_logs_it(claude_dir: Path) -> None:
    """Lazy logging drops nothing at or above the scan's level: a malformed line is a warning
    on stderr and in the log file."""
    shutil.copytree(FIXTURES / "claude-code", claude_dir)
    transcript = next(claude_dir.rglob("*.jsonl"))
    with transcript.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    names, _stdout = imported_modules("scan", "--json")
    assert "structlog" in names
    log_file = AppPaths.resolve().log_file
    records = [json.loads(line) for line in log_file.read_text().splitlines()]
    bad = [r for r in records if r["event"] == "bad_lines_skipped"]
    assert [(r["level"], r["malformed"], r["path"]) for r in bad] == [
        ("warning", 1, str(transcript))
    ]


def test_report_on_a_team_sqlite_store_starts_lean(tmp_path: Path) -> None:
    from agenttail.store.team import open_team_store

    url = f"sqlite:///{tmp_path / 'team.db'}"
    open_team_store(url).close()
    names, stdout = imported_modules("report", "daily", "--json", "--database", url)
    assert json.loads(stdout)["daily"] == []  # a real report ran on the (empty) team store
    assert "agenttail.store.team.analytics" in names
    assert loaded(names, HEAVY_FOR_READERS) == []
