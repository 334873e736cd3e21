"""Every report, on a Claude Code transcript this test writes, with numbers worked out here.

The JSON of every report is validated against its schema under ``schemas/reports/``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from agenttail.cli import main
from tests.helpers import ClaudeSession

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas" / "reports"
SONNET = "claude-sonnet-4-20250514"
HAIKU = "claude-haiku-4-5-20251001"
MYSTERY = "mystery-model-x"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.json"):
        schema = json.loads(path.read_text(encoding="utf-8"))
        resources.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(name: str, data: Any) -> None:
    schema = json.loads((SCHEMAS / f"{name}.json").read_text(encoding="utf-8"))
    Draft202012Validator(schema, registry=REGISTRY).validate(data)


def cli(*args: str) -> Any:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.output) if "--json" in args else result.output


def tool_use(tool_id: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": {}}


def write_fixture(claude_dir: Path) -> ClaudeSession:
    s = ClaudeSession(claude_dir, session_id="5e551017-aaaa-bbbb-cccc-000000000001")
    s.write(
        s.prompt("fix the build", "2026-11-02T10:00:00Z"),
        s.assistant(
            "2026-11-02T10:00:05Z",
            "m1",
            request_id="r1",
            input_tokens=100,
            output_tokens=50,
            cache_read=1000,
            cache_write_5m=200,
            content=[tool_use("tu1", "Bash"), tool_use("tu2", "Read")],
        ),
    )
    done = s.tool_result("2026-11-02T10:00:07Z", "tu1", "ok")
    s.write(done, done)  # the same tool result twice: one call
    s.write(
        s.tool_result("2026-11-02T10:00:08Z", "tu2", "no such file", is_error=True),
        s.assistant(
            "2026-11-02T10:00:10Z",
            "m2",
            request_id="r2",
            input_tokens=10,
            output_tokens=20,
            cache_read=1300,
            content=[tool_use("tu3", "Bash")],
        ),
        s.tool_result("2026-11-02T10:00:11Z", "tu3", "exit 1", is_error=True),
        s.api_error("2026-11-02T10:00:20Z", status=429),
        s.prompt("now the tests", "2026-11-02T10:01:00Z"),
        s.assistant(
            "2026-11-02T10:01:05Z",
            "m3",
            request_id="r3",
            model=MYSTERY,
            input_tokens=5,
            output_tokens=6,
        ),
        s.assistant(
            "2026-11-02T10:01:06Z",
            "m4",
            request_id="r4",
            model=HAIKU,
            input_tokens=7,
            output_tokens=8,
            costUSD=0.5,
        ),
    )
    return s


@pytest.fixture
def scanned(claude_dir: Path) -> ClaudeSession:
    session = write_fixture(claude_dir)
    cli("scan")
    return session


def report(*args: str) -> Any:
    return cli("report", *args, "--json", "-z", "UTC")


def test_tools_count_each_tool_use_once(scanned: ClaudeSession) -> None:
    data = report("tools")
    validate("tools", data)
    tools = {t["tool"]: t for t in data["tools"]}
    bash, read = tools["Bash"], tools["Read"]
    # Bash: tu1 ok after 2 s (its result written twice), tu3 failed after 1 s.
    assert (bash["calls"], bash["ok"], bash["failed"]) == (2, 1, 1)
    assert bash["success_rate"] == 0.5
    assert bash["duration_ms"]["mean"] == 1500.0
    assert bash["duration_ms"]["p50"] == pytest.approx(1000, rel=0.025)
    assert bash["duration_ms"]["p95"] == pytest.approx(2000, rel=0.025)
    assert (read["calls"], read["failed"], read["success_rate"]) == (1, 1, 0.0)
    assert read["duration_ms"]["mean"] == 3000.0
    assert data["totals"] == {"calls": 3, "ok": 1, "failed": 2, "success_rate": 1 / 3}


def test_errors_by_model_and_tool(scanned: ClaudeSession) -> None:
    by_model = report("errors", "--by", "model")
    validate("errors", by_model)
    # The 429 follows Sonnet's requests: 1 error in 2 requests + 1 error.
    assert by_model["errors"] == [
        {
            "key": SONNET,
            "error_class": "rate_limit",
            "errors": 1,
            "attempts": 3,
            "error_rate": 1 / 3,
        }
    ]
    by_tool = report("errors", "--by", "tool")
    validate("errors", by_tool)
    found = {(e["key"], e["error_class"]): (e["errors"], e["attempts"]) for e in by_tool["errors"]}
    assert found == {("Bash", "tool_failure"): (1, 2), ("Read", "tool_failure"): (1, 1)}
    by_agent = report("errors", "--by", "agent")
    validate("errors", by_agent)
    assert by_agent["totals"] == {"errors": 3, "by_class": {"rate_limit": 1, "tool_failure": 2}}


def test_unpriced_models_are_never_zero_dollars(scanned: ClaudeSession) -> None:
    daily = report("daily")
    validate("daily", daily)
    (day,) = daily["daily"]
    assert day["requests"] == 4
    assert day["unpriced_requests"] == 1
    assert day["cost_usd"] is not None and day["cost_usd"] > 0
    assert daily["unpriced"] == [{"model": MYSTERY, "requests": 1, "total_tokens": 11}]
    models = {m["model"]: m for m in report("model")["models"]}
    assert models[MYSTERY]["cost_usd"] is None
    assert models[MYSTERY]["unpriced_requests"] == 1
    table = cli("report", "model", "-z", "UTC")
    assert "unpriced" in table and MYSTERY in table


def test_custom_prices_from_config_win(scanned: ClaudeSession, home: Path) -> None:
    before = report("model")["models"]
    (home / "config.toml").write_text(
        f'[prices."{MYSTERY}"]\ninput = 2\noutput = 10\n\n'
        f'[prices."{HAIKU}"]\ninput = 1\noutput = 1\ncache_read = 0\ncache_write = 0\n',
        encoding="utf-8",
    )
    data = report("model")
    validate("models", data)
    models = {m["model"]: m for m in data["models"]}
    # 5 input at $2/M and 6 output at $10/M; Haiku 7 + 8 tokens at $1/M.
    assert models[MYSTERY]["cost_usd"] == pytest.approx(5 * 2e-6 + 6 * 10e-6)
    assert models[HAIKU]["cost_usd"] == pytest.approx(15e-6)
    assert models[SONNET]["cost_usd"] == next(m for m in before if m["model"] == SONNET)["cost_usd"]
    assert data["unpriced"] == []


def test_a_bad_custom_price_is_a_clear_error(scanned: ClaudeSession, home: Path) -> None:
    (home / "config.toml").write_text('[prices."x"]\ninput = "cheap"\noutput = 1\n', "utf-8")
    result = CliRunner().invoke(main, ["report", "daily"])
    assert result.exit_code == 78
    assert '[prices."x"]' in result.output and "Traceback" not in result.output


def test_cost_source_recorded_and_both(scanned: ClaudeSession) -> None:
    recorded = {m["model"]: m for m in report("model", "--cost-source", "recorded")["models"]}
    assert recorded[HAIKU]["cost_usd"] == 0.5  # the costUSD the transcript recorded
    assert recorded[SONNET]["cost_usd"] is None  # nothing recorded: not $0
    both = report("daily", "--cost-source", "both")
    validate("daily", both)
    (day,) = both["daily"]
    assert day["recorded_cost_usd"] == 0.5
    assert day["cost_usd"] == report("daily")["daily"][0]["cost_usd"]


def test_agent_filter_and_agents_per_row(scanned: ClaudeSession) -> None:
    assert report("daily", "--agent", "copilot")["daily"] == []
    data = report("daily", "--agent", "copilot", "--agent", "claude_code")
    assert data["daily"][0]["agents"] == ["claude_code"]
    assert data["totals"]["requests"] == 4
    sessions = report("session")
    validate("sessions", sessions)
    (session,) = sessions["sessions"]
    assert (session["agent"], session["agents"]) == ("claude_code", ["claude_code"])
    assert (session["turns"], session["tool_calls"], session["tool_failed"]) == (2, 3, 2)
    assert session["api_errors"] == 1
    # Peak context: m2 read 10 + 1300 cached tokens of a 200k window.
    assert session["peak_context_tokens"] == 1310
    assert session["peak_context_share"] == pytest.approx(1310 / 200_000, abs=1e-4)


def test_session_timeline(scanned: ClaudeSession) -> None:
    data = report("session", "5e551017")
    validate("session", data)
    assert data["session"]["session_id"] == scanned.session_id
    first, second = data["runs"]
    assert [r["model"] for r in first["requests"]] == [SONNET, SONNET]
    assert [r["context_tokens"] for r in first["requests"]] == [1300, 1310]
    assert first["requests"][0]["context_share"] == pytest.approx(1300 / 200_000, abs=1e-4)
    assert [(t["tool"], t["ok"]) for t in first["tools"]] == [
        ("Bash", True),
        ("Read", False),
        ("Bash", False),
    ]
    assert [e["error_class"] for e in first["errors"]] == ["rate_limit"]
    assert first["run_total_tokens"] == 100 + 50 + 1000 + 200 + 10 + 20 + 1300
    assert [r["model"] for r in second["requests"]] == [MYSTERY, HAIKU]
    assert second["run_total_tokens"] == 5 + 6 + 7 + 8
    result = CliRunner().invoke(main, ["report", "session", "nope"])
    assert result.exit_code == 1 and "no session" in result.output


def test_projects_agents_series_and_latency(scanned: ClaudeSession) -> None:
    projects = report("projects")
    validate("projects", projects)
    (project,) = projects["projects"]
    assert (project["project"], project["requests"], project["sessions"]) == (
        "/home/dev/shop",
        4,
        1,
    )
    agents = report("agents")
    validate("agents", agents)
    (agent,) = agents["agents"]
    assert (agent["agent"], agent["tool_calls"], agent["tool_failed"]) == ("claude_code", 3, 2)
    assert agent["models"] == sorted([SONNET, HAIKU, MYSTERY])
    series = report("series", "--by", "model", "--bucket", "hour")
    validate("series", series)
    assert {(p["period"], p["key"], p["requests"]) for p in series["series"]} == {
        ("2026-11-02T10:00", SONNET, 2),
        ("2026-11-02T10:00", HAIKU, 1),
        ("2026-11-02T10:00", MYSTERY, 1),
    }
    tools = report("series", "--by", "tool", "--bucket", "day")
    validate("series", tools)
    assert {(p["key"], p["calls"], p["failed"]) for p in tools["series"]} == {
        ("Bash", 2, 1),
        ("Read", 1, 1),
    }
    latency = report("latency", "--by", "tool")
    validate("latency", latency)
    bash = next(r for r in latency["latency"] if r["key"] == "Bash")
    assert (bash["metric"], bash["count"], bash["mean_ms"]) == ("tool", 2, 1500.0)
    assert bash["p99_ms"] == pytest.approx(2000, rel=0.025)
    by_model = report("latency", "--by", "model")
    validate("latency", by_model)
    assert by_model["latency"] == []  # Claude transcripts record no request durations


def test_every_report_validates_and_orders(scanned: ClaudeSession) -> None:
    for name, schema in (
        ("daily", "daily"),
        ("weekly", "weekly"),
        ("monthly", "monthly"),
        ("session", "sessions"),
        ("model", "models"),
        ("blocks", "blocks"),
    ):
        validate(schema, report(name))
    asc = [m["model"] for m in report("model", "--order", "asc")["models"]]
    desc = [m["model"] for m in report("model")["models"]]
    assert asc == list(reversed(desc))
    table = cli("report", "daily", "-z", "UTC", "--breakdown")
    assert f"└ {SONNET}" in table and f"└ {HAIKU}" in table


def test_history_outlives_deleted_transcripts(scanned: ClaudeSession) -> None:
    before = report("daily")
    scanned.path.unlink()
    cli("scan")
    assert report("daily") == before
    assert report("tools")["totals"]["calls"] == 3


# -- 5-hour blocks ----------------------------------------------------------------------------


def ms(text: str) -> int:
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def test_blocks_burn_rate_projection_and_limit(claude_dir: Path, home: Path) -> None:
    from agenttail.report import ReportOptions, Window, blocks_report
    from agenttail.store import Store
    from agenttail.store.analytics import SqliteAnalytics

    s = ClaudeSession(claude_dir)
    times = ["01:10", "01:50", "05:30", "06:20", "07:20"]  # 06:20 is past 01:00 + 5 h
    for i, hhmm in enumerate(times):
        s.write(
            s.assistant(
                f"2026-11-02T{hhmm}:00Z",
                f"b{i}",
                request_id=f"rb{i}",
                input_tokens=1000 * (i + 1),
                output_tokens=100,
            )
        )
    cli("scan")
    tokens = [1000 * (i + 1) + 100 for i in range(len(times))]
    now = ms("2026-11-02T08:20:00")
    with Store(home / "agenttail.db", readonly=True) as store:
        data = blocks_report(SqliteAnalytics(store), ReportOptions(Window(UTC)), now, "max")
    validate("blocks", data)
    first, second = data["blocks"]
    assert (first["start"], first["end"]) == (
        "2026-11-02T01:00:00+00:00",
        "2026-11-02T06:00:00+00:00",
    )
    assert (first["total_tokens"], first["requests"], first["active"]) == (
        sum(tokens[:3]),
        3,
        False,
    )
    assert first["burn_rate"] is None
    assert (second["start"], second["active"]) == ("2026-11-02T06:00:00+00:00", True)
    # Active block: 2 requests from 06:20 to 07:20 (1 h), then 2 h 40 min to its 11:00 end.
    used = tokens[3] + tokens[4]
    assert second["burn_rate"]["tokens_per_hour"] == pytest.approx(used / 1.0)
    assert second["projection"]["total_tokens"] == round(used + used * (160 / 60))
    assert second["projection"]["cost_usd"] == pytest.approx(
        second["cost_usd"] + second["burn_rate"]["cost_per_hour"] * 160 / 60
    )
    limit = data["token_limit"]
    assert limit["limit"] == sum(tokens[:3])  # 'max': the largest finished block
    assert limit["percent_used"] == round(100 * used / sum(tokens[:3]), 2)
    assert limit["exceeded"] is True  # 9,200 tokens against 6,300
    later = ms("2026-11-02T12:30:00")  # past the end: nothing is active
    with Store(home / "agenttail.db", readonly=True) as store:
        idle = blocks_report(SqliteAnalytics(store), ReportOptions(Window(UTC)), later, 5000)
    assert not any(b["active"] for b in idle["blocks"])
    assert idle["token_limit"]["used_tokens"] == 0


def test_blocks_token_limit_option(claude_dir: Path) -> None:
    write_fixture(claude_dir)
    cli("scan")
    assert "token_limit" not in report("blocks")
    assert report("blocks", "--token-limit", "1000")["token_limit"]["limit"] == 1000
    bad = CliRunner().invoke(main, ["report", "blocks", "--token-limit", "lots"])
    assert bad.exit_code == 2 and "use a number of tokens or 'max'" in bad.output


def test_every_report_command_is_documented() -> None:
    from agenttail.report_cli import report as group

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in group.commands:
        assert f"agenttail report {name}" in readme, name


def test_a_store_from_before_the_rollups_gets_a_clear_message(home: Path) -> None:
    from sqlite_utils import Database

    from agenttail.store.migrations import migrations

    home.mkdir(parents=True)
    db = Database(home / "agenttail.db")
    migrations.apply(db, stop_before="m007_analytics_rollups")
    db.close()
    result = CliRunner().invoke(main, ["report", "tools"])
    assert result.exit_code == 1
    assert "older schema" in result.output and "agenttail scan" in result.output
    assert "Traceback" not in result.output
    cli("scan")  # upgrades it
    assert report("tools")["tools"] == []
