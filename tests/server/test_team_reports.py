"""Every report on the team store (``--database``), on SQLite and PostgreSQL, with per-user and
per-machine rows and filters; and a clear message, never a traceback, when the database is
wrong. Expected numbers are the contract fixture's own arithmetic (tests/test_analytics.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agenttail.analytics import Usage
from agenttail.events import MetricEvent
from agenttail.store.team import open_team_store
from tests.server.daemon_upload import upload
from tests.test_analytics import FIXTURE, REQUESTS, TOOLS, expected_usage
from tests.test_reports import cli, validate

SPLIT = len(FIXTURE) // 2
PEOPLE = {"alice": ("laptop", FIXTURE[:SPLIT]), "bob": ("bob-box", FIXTURE[SPLIT:])}


def _fields(usage: Usage) -> dict[str, int]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cache_read_tokens": usage.cache_read_tokens,
        "cache_write_tokens": usage.cache_write_tokens,
        "requests": usage.requests,
        "unpriced_requests": usage.unpriced_requests,
    }


def _requests_of(events: list[MetricEvent]) -> list[MetricEvent]:
    return [e for e in events if e in REQUESTS]


@pytest.fixture
def team(database_url: str, tmp_path: Path) -> str:
    for user, (machine, events) in PEOPLE.items():
        upload(database_url, tmp_path / "daemons", events, user=user, machine=machine)
    return database_url


def report(database: str, *args: str) -> Any:
    return cli("report", *args, "--json", "-z", "UTC", "--database", database)


def test_every_report_on_the_team_store(team: str) -> None:
    daily = report(team, "daily")
    validate("daily", daily)
    assert {k: daily["totals"][k] for k in _fields(Usage())} == _fields(expected_usage(REQUESTS))
    by_user = report(team, "daily", "--by", "user")
    validate("daily", by_user)
    assert by_user["by"] == "user"
    for user, (machine, events) in PEOPLE.items():
        rows = [row for row in by_user["daily"] if row["user"] == user]
        got = {k: sum(row[k] for row in rows) for k in _fields(Usage())}
        assert got == _fields(expected_usage(_requests_of(events))), user
        only = report(team, "monthly", "--user", user)
        assert {k: only["totals"][k] for k in got} == got
        machine_rows = report(team, "weekly", "--by", "machine", "--machine", machine)["weekly"]
        assert {row["machine"] for row in machine_rows} == {machine}
        assert sum(row["requests"] for row in machine_rows) == got["requests"]
    series = report(team, "series", "--by", "user", "--bucket", "month")
    validate("series", series)
    assert {p["key"]: p["requests"] for p in series["series"]} == {
        user: len(_requests_of(events)) for user, (_machine, events) in PEOPLE.items()
    }
    tools = report(team, "tools")
    validate("tools", tools)
    assert tools["totals"]["calls"] == len(TOOLS)
    for name, schema, args in (
        ("session", "sessions", ()),
        ("model", "models", ()),
        ("projects", "projects", ()),
        ("agents", "agents", ()),
        ("latency", "latency", ("--by", "agent")),
        ("errors", "errors", ("--by", "agent")),
        ("blocks", "blocks", ()),
        ("session", "session", ("s-alpha",)),
    ):
        validate(schema, report(team, name, *args))
    timeline = report(team, "session", "s-alp")
    alpha = [e for e in REQUESTS if e.session_id == "s-alpha"]
    assert sum(len(run["requests"]) for run in timeline["runs"]) == len(alpha)


def _report_process(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agenttail", "report", "daily", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_a_wrong_database_is_one_clear_line(tmp_path: Path, postgres_server: str) -> None:
    local_store = tmp_path / "local.db"
    store = open_team_store(f"sqlite:///{tmp_path / 'team.db'}")
    store.close()
    from agenttail.store import Store

    with Store(local_store):
        pass
    (tmp_path / "garbage.db").write_bytes(b"not a database at all" * 100)
    empty_postgres = postgres_server  # a server, but its default database holds no team store
    shadow = tmp_path / "no-extra"
    (shadow / "psycopg").mkdir(parents=True)
    (shadow / "psycopg" / "__init__.py").write_text("raise ImportError('psycopg is absent')\n")
    no_extra = {
        **os.environ,
        "PYTHONPATH": f"{shadow}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    cases = [
        (("mysql://db/x",), None, "unsupported database URL"),
        ((f"sqlite:///{tmp_path / 'missing.db'}",), None, "no team database at"),
        ((f"sqlite:///{local_store}",), None, "is not an agenttail team store"),
        ((f"sqlite:///{tmp_path / 'garbage.db'}",), None, "cannot read"),
        (("postgresql://agenttail@127.0.0.1:1/x",), None, "cannot connect to the team database"),
        ((empty_postgres,), None, "is not an agenttail team store"),
        (("postgresql://agenttail@127.0.0.1/x",), no_extra, "pip install 'agenttail[server]'"),
    ]
    for args, env, message in cases:
        for extra in ((), ("--json",)):
            done = _report_process("--database", *args, *extra, env=env)
            assert done.returncode == 69, (args, done.stdout, done.stderr)
            assert "Traceback" not in done.stderr + done.stdout, done.stderr
            if extra:
                assert message in json.loads(done.stdout)["error"]["message"] + str(
                    json.loads(done.stdout)["error"].get("hint")
                ), done.stdout
            else:
                assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, (
                    done.stderr
                )
