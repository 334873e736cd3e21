"""The CLI's JSON is a contract: keys, meanings and options users script against."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from agenttail.cli import main
from tests.helpers import ClaudeSession

TOKEN_KEYS = {"input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"}
ENTRY_KEYS = TOKEN_KEYS | {"total_tokens", "cost_usd", "requests"}


def cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def seed(claude_dir: Path) -> None:
    s = ClaudeSession(claude_dir)
    # 23:30 UTC on Nov 1 is Nov 2 in Tokyo
    s.write(
        s.assistant(
            "2026-11-01T23:30:00Z",
            "m1",
            request_id="r1",
            input_tokens=10,
            output_tokens=20,
            cache_read=30,
            cache_write_5m=40,
        )
    )
    s.write(
        s.assistant(
            "2026-11-03T10:00:00Z",
            "m2",
            request_id="r2",
            model="claude-haiku-4-5-20251001",
            input_tokens=1,
            output_tokens=2,
        )
    )
    cli("scan")


def test_report_daily_json_shape(claude_dir: Path) -> None:
    seed(claude_dir)
    data = cli("report", "daily", "--json", "--timezone", "UTC")
    # The contract keeps its fields; more may be added (agents, unpriced).
    assert set(data) >= {"daily", "totals", "unpriced"}
    assert [d["date"] for d in data["daily"]] == ["2026-11-01", "2026-11-03"]
    for day in data["daily"]:
        assert set(day) >= ENTRY_KEYS | {"date", "models", "agents"}
        assert day["agents"] == ["claude_code"]
        for model in day["models"]:
            assert set(model) >= ENTRY_KEYS | {"model", "agents"}
    first = data["daily"][0]
    assert (first["input_tokens"], first["output_tokens"]) == (10, 20)
    assert (first["cache_read_tokens"], first["cache_write_tokens"]) == (30, 40)
    assert first["total_tokens"] == 100
    assert first["requests"] == 1
    assert first["models"][0]["model"] == "claude-sonnet-4-20250514"
    assert data["totals"]["total_tokens"] == 103
    assert data["totals"]["requests"] == 2
    assert data["totals"]["cost_usd"] > 0


def test_timezone_moves_requests_between_days(claude_dir: Path) -> None:
    seed(claude_dir)
    data = cli("report", "daily", "--json", "--timezone", "Asia/Tokyo")
    assert [d["date"] for d in data["daily"]] == ["2026-11-02", "2026-11-03"]
    india = cli("report", "daily", "--json", "-z", "Asia/Kolkata")  # +05:30
    assert [d["date"] for d in india["daily"]] == ["2026-11-02", "2026-11-03"]


def test_since_until_select_days(claude_dir: Path) -> None:
    seed(claude_dir)
    data = cli("report", "daily", "--json", "-z", "UTC", "--since", "20261102")
    assert [d["date"] for d in data["daily"]] == ["2026-11-03"]
    data = cli("report", "daily", "--json", "-z", "UTC", "--until", "2026-11-02")
    assert [d["date"] for d in data["daily"]] == ["2026-11-01"]
    assert data["totals"]["requests"] == 1


def test_session_and_model_reports(claude_dir: Path) -> None:
    seed(claude_dir)
    sessions = cli("report", "session", "--json", "-z", "UTC")["sessions"]
    assert len(sessions) == 1
    assert sessions[0]["requests"] == 2
    assert sessions[0]["project"] == "/home/dev/shop"
    models = cli("report", "model", "--json", "-z", "UTC")["models"]
    assert {m["model"] for m in models} == {"claude-sonnet-4-20250514", "claude-haiku-4-5-20251001"}


def test_status_json(claude_dir: Path) -> None:
    seed(claude_dir)
    data = cli("status", "--json")
    assert data["events_total"] == 2
    assert data["streams_total"] == 1
    (stream,) = data["streams"]
    assert stream["agent"] == "claude_code"
    assert stream["lag_bytes"] == 0
    assert stream["error_count"] == 0


def test_reports_before_the_first_scan_are_empty() -> None:
    data = cli("report", "daily", "--json")
    assert data["daily"] == [] and data["unpriced"] == []
    assert {key: data["totals"][key] for key in ENTRY_KEYS} == {
        **dict.fromkeys(ENTRY_KEYS, 0),
        "cost_usd": 0.0,
    }
    assert cli("status", "--json")["events_total"] == 0


def test_bad_arguments_get_clear_messages() -> None:
    result = CliRunner().invoke(main, ["report", "daily", "--timezone", "Mars/Olympus"])
    assert result.exit_code == 2
    assert "unknown timezone 'Mars/Olympus'" in result.output
    result = CliRunner().invoke(main, ["report", "daily", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "YYYYMMDD" in result.output


def test_invalid_config_names_the_key(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("workers = 0\n")
    result = CliRunner().invoke(main, ["scan"])
    assert result.exit_code == 78
    assert "workers" in result.output
    assert "Traceback" not in result.output


def test_status_for_humans_names_streams_and_upload_state(
    claude_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed(claude_dir)
    output = cli("status")
    assert "2 events from 1 streams" in output
    assert "upload: not configured" in output
    monkeypatch.setenv("AGENTTAIL_UPLOAD_URL", "http://127.0.0.1:9/ingest")
    assert "upload (http): 2 pending" in cli("status")


def test_weekly_and_monthly_reports_fold_days(claude_dir: Path) -> None:
    seed(claude_dir)  # 2026-11-01 is a Sunday, 2026-11-03 the next Tuesday
    weekly = cli("report", "weekly", "--json", "-z", "UTC")
    assert [(w["week"], w["requests"]) for w in weekly["weekly"]] == [
        ("2026-10-26", 1),
        ("2026-11-02", 1),
    ]
    monthly = cli("report", "monthly", "--json", "-z", "UTC")
    assert [(m["month"], m["requests"], m["total_tokens"]) for m in monthly["monthly"]] == [
        ("2026-11", 2, 103)
    ]
    assert monthly["totals"] == cli("report", "daily", "--json", "-z", "UTC")["totals"]


def test_report_table_for_humans_shows_whole_numbers(claude_dir: Path) -> None:
    seed(claude_dir)
    lines = cli("report", "daily", "-z", "UTC").splitlines()
    (first,) = [line for line in lines if "2026-11-01" in line]
    assert first.split()[1:8] == ["claude_code", "10", "20", "30", "40", "100", "1"]
    (total,) = [line for line in lines if line.strip().startswith("total")]
    assert total.split()[1:7] == ["11", "22", "30", "40", "103", "2"]


def test_damaged_state_database_is_moved_aside_and_rebuilt(home: Path, claude_dir: Path) -> None:
    home.mkdir(parents=True)
    (home / "agenttail.db").write_bytes(b"this is not an SQLite database\n" * 200)
    for command in (["report", "daily", "--json"], ["status"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1
        assert "is damaged" in result.output
        assert "Traceback" not in result.output
    seed(claude_dir)  # a scan moves the damaged file aside and reads every session again
    (kept,) = home.glob("agenttail.db.damaged-*")
    assert kept.read_bytes().startswith(b"this is not an SQLite database")
    assert cli("report", "daily", "--json")["totals"]["requests"] == 2
