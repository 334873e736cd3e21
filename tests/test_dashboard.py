"""``agenttail dashboard``: its URL, its endpoints (exactly ``report … --json``), its CSV, its
files, and who serves it (the running daemon, else the command). Real processes and HTTP."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import selectors
import shutil
import signal
import socket
import stat
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest

from agenttail.report_cli import report as report_group
from agenttail.report_params import REPORTS
from tests.daemon_process import DaemonProcess, wait_until
from tests.dashboard_fixture import SMALL, UNPRICED, Request, cost_of, utc_env, write_usage
from tests.helpers import agenttail_cli, run_agenttail

REPO = Path(__file__).resolve().parents[1]
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(\d+)/\?token=([A-Za-z0-9_-]{43})$")


def port_and_key(printed: str) -> tuple[int, str]:
    match = URL_LINE.match(printed)
    assert match, printed
    return int(match[1]), match[2]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def fetch(url: str, host: str | None = None, cookie: str | None = None) -> tuple[int, str, bytes]:
    """GET without any proxy: (status, content type, body)."""
    headers = {"Host": host} if host else {}
    if cookie:
        headers["Cookie"] = cookie
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


class Visitor:
    """A browser's part: opens the printed URL once, keeps the cookie it sets, sends it."""

    def __init__(self, printed: str) -> None:
        match = URL_LINE.match(printed)
        assert match, printed
        self.url = printed.split("?", 1)[0]
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as redirect:
            opener.open(printed, timeout=30)
        redirect.value.close()
        assert redirect.value.code == 303
        assert redirect.value.headers["Location"] == "/"  # the key leaves the address bar
        name, _, rest = redirect.value.headers["Set-Cookie"].partition("=")
        value, *attributes = [part.strip() for part in rest.split(";")]
        assert name == f"agenttail_dashboard_{match[1]}" and value == match[2]
        assert sorted(attributes) == ["HttpOnly", "Path=/", "SameSite=Strict"]
        self.cookie = f"{name}={value}"

    def get(self, path: str, host: str | None = None) -> tuple[int, str, bytes]:
        return fetch(self.url + path, host, self.cookie)


class DashboardCommand:
    """``agenttail dashboard ARGS`` (default ``--no-open``) in a subprocess; ``url`` is its
    first line."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "agenttail", "dashboard", *(args or ("--no-open",))],
            env=env or utc_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.proc.stdout, selectors.EVENT_READ)
            assert selector.select(timeout=60), "no URL printed within 60 s"
        self.printed = self.proc.stdout.readline().strip()
        self.visitor = Visitor(self.printed)
        self.url = self.visitor.url

    def get(self, path: str = "", host: str | None = None) -> tuple[int, str, bytes]:
        return self.visitor.get(path, host)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        assert self.proc.stderr is not None and self.proc.stdout is not None
        self.stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return code


@pytest.fixture
def usage(claude_dir: Path, home: Path) -> list[Request]:
    requests = write_usage(claude_dir, home, datetime.now(UTC))
    agenttail_cli(utc_env(), "scan")
    return requests


@pytest.fixture
def dashboard(usage: list[Request]) -> Iterator[DashboardCommand]:
    command = DashboardCommand("--no-open", "--port", "0")
    yield command
    assert command.stop() == 0, command.stderr
    assert "Traceback" not in command.stderr


def as_query(args: list[str]) -> str:
    """CLI flags (``--since X``) as the endpoint's query string (``since=X``)."""
    pairs = [(args[i].removeprefix("--"), args[i + 1]) for i in range(0, len(args), 2)]
    return urlencode(pairs)


def test_the_first_line_is_a_loopback_url_serving_the_page(dashboard: DashboardCommand) -> None:
    assert URL_LINE.match(dashboard.printed), dashboard.printed
    status, kind, body = dashboard.get()
    assert (status, kind) == (200, "text/html; charset=utf-8")
    assert b'<script src="/static/dashboard.js">' in body


def test_every_endpoint_answers_exactly_what_the_cli_prints(
    dashboard: DashboardCommand, usage: list[Request]
) -> None:
    days = sorted({r.day for r in usage})
    cases = [
        ("daily", []),
        ("daily", ["--since", days[2].isoformat(), "--until", days[-2].strftime("%Y%m%d")]),
        ("daily", ["--agent", "claude_code", "--model", SMALL, "--order", "desc"]),
        ("daily", ["--project", "/home/dev/blog", "--cost-source", "both"]),
        ("daily", ["--timezone", "Asia/Kolkata", "--model", SMALL, "--model", UNPRICED]),
        ("weekly", []),
        ("monthly", ["--cost-source", "recorded"]),
        ("session", []),
        ("session", ["--limit", "3", "--order", "asc"]),
        ("model", ["--order", "asc"]),
        ("projects", []),
        ("agents", []),
        ("tools", []),
        ("series", ["--by", "project", "--bucket", "hour"]),
        ("series", ["--by", "tool"]),
        ("latency", ["--by", "tool"]),
        ("errors", ["--by", "agent"]),
        # No active block before today: nothing in the answer moves with the clock.
        ("blocks", ["--until", days[-2].isoformat(), "--token-limit", "max"]),
    ]
    for name, args in cases:
        printed = agenttail_cli(utc_env(), "report", name, "--json", *args)
        status, kind, body = dashboard.get(f"api/report/{name}?{as_query(args)}")
        assert (status, kind) == (200, "application/json"), body
        assert body.decode() == printed, (name, args)


def test_limit_keeps_the_costliest_sessions_and_the_totals_of_all(
    dashboard: DashboardCommand, usage: list[Request]
) -> None:
    """``report session --limit N``: the N costliest sessions (unpriced as $0, then most
    tokens), in the report's usual order (latest first); the totals stay those of every session."""
    per_session: dict[str, list[Request]] = defaultdict(list)
    for request in usage:
        per_session[request.session_id].append(request)
    ranked = sorted(
        per_session,
        key=lambda s: (cost_of(per_session[s]) or 0.0, sum(r.total_tokens for r in per_session[s])),
        reverse=True,
    )
    latest = {s: max(r.ts for r in per_session[s]) for s in per_session}
    expected = sorted(ranked[:3], key=lambda s: latest[s], reverse=True)
    printed = agenttail_cli(utc_env(), "report", "session", "--json", "--limit", "3")
    data = json.loads(printed)
    assert [row["session_id"] for row in data["sessions"]] == expected
    assert data["limited"] == {"limit": 3, "sessions": len(per_session)}
    assert data["totals"]["total_tokens"] == sum(r.total_tokens for r in usage)
    assert data["totals"]["cost_usd"] == pytest.approx(cost_of(usage), abs=1e-9)
    assert dashboard.get("api/report/session?limit=3")[2].decode() == printed
    for bad in ("0", "-2", "ten"):
        done = run_agenttail(utc_env(), "report", "session", "--limit", bad)
        assert done.returncode == 2 and "limit: " in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        status, _kind, body = dashboard.get(f"api/report/session?limit={bad}")
        assert status == 400 and "limit: " in json.loads(body)["error"]["message"]
    one = run_agenttail(utc_env(), "report", "session", ranked[0], "--limit", "1")
    assert one.returncode == 2 and "leave it out with a SESSION_ID" in one.stderr


def test_daily_numbers_are_the_fixtures_arithmetic(
    dashboard: DashboardCommand, usage: list[Request]
) -> None:
    per_day: dict[str, list[Request]] = defaultdict(list)
    for request in usage:
        per_day[request.day.isoformat()].append(request)
    _status, _kind, body = dashboard.get("api/report/daily?timezone=UTC")
    data = json.loads(body)
    assert [d["date"] for d in data["daily"]] == sorted(per_day)
    for day in data["daily"]:
        mine = per_day[day["date"]]
        assert day["total_tokens"] == sum(r.total_tokens for r in mine)
        assert day["requests"] == len(mine)
        assert day["cost_usd"] == pytest.approx(cost_of(mine), abs=1e-9)
    assert data["unpriced"] == [{"model": UNPRICED, "requests": 1, "total_tokens": 77_000}]
    assert data["totals"]["cost_usd"] == pytest.approx(cost_of(usage), abs=1e-9)


def test_every_cli_option_is_a_query_parameter_of_its_endpoint() -> None:
    """Both doors derive from one declaration; this pins that nothing is added to one only."""
    # --database: the CLI also reads a team store; the dashboard serves the local one.
    presentation = {"json", "breakdown", "chart", "help", "database"}
    assert set(report_group.commands) == set(REPORTS)
    for name, command in report_group.commands.items():
        flags = {
            max(param.opts, key=len).removeprefix("--")
            for param in command.params
            if param.opts and param.opts[0].startswith("-")
        }
        assert flags - presentation == {p.name for p in REPORTS[name].all_params}, name


def test_csv_holds_the_json_rows(dashboard: DashboardCommand) -> None:
    query = "by=model&bucket=day&timezone=UTC"
    _s, _k, body = dashboard.get(f"api/report/series?{query}")
    status, kind, text = dashboard.get(f"api/report/series.csv?{query}")
    assert (status, kind) == (200, "text/csv; charset=utf-8")
    rows = list(csv.DictReader(io.StringIO(text.decode())))
    series = json.loads(body)["series"]
    assert len(rows) == len(series) > 0
    for row, point in zip(rows, series, strict=True):
        assert (row["period"], row["key"]) == (point["period"], point["key"])
        assert int(row["total_tokens"]) == point["total_tokens"]
        expected = "" if point["cost_usd"] is None else point["cost_usd"]
        assert (float(row["cost_usd"]) if row["cost_usd"] else "") == expected
    _s, _k, tools_csv = dashboard.get("api/report/tools.csv")
    header = tools_csv.decode().splitlines()[0].split(",")
    assert {"tool", "success_rate", "duration_ms_p50", "duration_ms_p95"} <= set(header)


def test_bad_requests_get_a_clear_answer(dashboard: DashboardCommand) -> None:
    cases = [
        ("api/report/daily?colour=red", 400, "unknown parameter 'colour'"),
        ("api/report/daily?order=up", 400, "order: 'up' is not one of asc, desc"),
        ("api/report/daily?since=yesterday", 400, "invalid date 'yesterday'"),
        ("api/report/daily?timezone=Mars/Base", 400, "unknown timezone 'Mars/Base'"),
        ("api/report/blocks?token-limit=-3", 400, "the limit must be above 0"),
        ("api/report/weather", 404, "no report 'weather'"),
        ("static/../../etc/passwd", 404, "no such file"),
        ("nowhere", 404, "no such page"),
    ]
    for path, code, message in cases:
        status, kind, body = dashboard.get(path)
        assert (status, kind) == (code, "application/json"), path
        assert message in json.loads(body)["error"]["message"], path
    port = dashboard.url.rsplit(":", 1)[1].strip("/")
    status, _kind, _body = dashboard.get("api/report/daily", host=f"evil.example:{port}")
    assert status == 403  # DNS rebinding: another site's name pointing at 127.0.0.1


def test_without_the_key_every_endpoint_is_forbidden(dashboard: DashboardCommand) -> None:
    """Loopback lets every local user in: without the printed key (or its cookie) nothing,
    not even the page, answers with data."""
    names = [n for name in REPORTS for n in (name, f"{name}.csv")]
    paths = ["", "index.html", "static/dashboard.js", "static/dashboard.css", "api/health"]
    paths += ["api/version", "api/context", "nowhere", *(f"api/report/{n}" for n in names)]
    _port, key = port_and_key(dashboard.printed)
    wrong = key[:-1] + ("A" if key[-1] != "A" else "B")
    name = dashboard.visitor.cookie.split("=", 1)[0]
    for path in paths:
        sep = "&" if "?" in path else "?"
        for url, cookie in [
            (dashboard.url + path, None),
            (f"{dashboard.url}{path}{sep}token={wrong}", None),
            (f"{dashboard.url}{path}{sep}token=", None),
            (dashboard.url + path, f"{name}={wrong}"),
            (dashboard.url + path, f"agenttail_dashboard_1={key}"),  # another port's cookie
        ]:
            status, kind, body = fetch(url, cookie=cookie)
            assert (status, kind) == (403, "application/json"), (url, cookie)
            assert json.loads(body)["error"]["kind"] == "forbidden", (url, cookie)
        # The key itself works on every endpoint, in the query as well as in the cookie.
        assert dashboard.get(path)[0] == (404 if path == "nowhere" else 200), path
        if path not in ("", "index.html"):  # those redirect, tested by Visitor
            expected = 404 if path == "nowhere" else 200
            assert fetch(f"{dashboard.url}{path}{sep}token={key}")[0] == expected, path


def test_the_page_ships_every_file_and_names_no_other_host(dashboard: DashboardCommand) -> None:
    _s, _k, page = dashboard.get()
    linked = re.findall(rb'(?:src|href)="([^"]+)"', page)
    assert sorted(linked) == [b"/static/dashboard.css", b"/static/dashboard.js", b"data:,"]
    for path in (b"/static/dashboard.css", b"/static/dashboard.js"):
        status, _kind, body = dashboard.get(path.decode().lstrip("/"))
        assert status == 200 and body
        # The only absolute URL anywhere is SVG's namespace name, which is never fetched.
        urls = set(re.findall(rb"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", body))
        assert urls <= {b"http://www.w3.org"}, urls


def test_a_built_wheel_carries_the_page(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, hatchling.build as b; print(b.build_wheel(sys.argv[1]))",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    wheel = tmp_path / done.stdout.strip().splitlines()[-1]
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("index.html", "dashboard.js", "dashboard.css"):
        assert f"agenttail/dashboard/static/{name}" in names


def test_a_busy_port_is_one_clear_line(usage: list[Request]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        done = run_agenttail(
            utc_env(), "dashboard", "--no-open", "--port", str(taken.getsockname()[1])
        )
    assert done.returncode == 69, done.stderr
    assert done.stderr.startswith("agenttail: cannot serve the dashboard on 127.0.0.1:")
    assert "choose another --port" in done.stderr and "Traceback" not in done.stderr


def test_the_running_daemon_serves_it_and_the_command_prints_its_url(
    usage: list[Request], home: Path, tmp_path: Path
) -> None:
    daemon = DaemonProcess(utc_env(), home, tmp_path / "daemon.err")
    try:
        daemon.wait_ready()
        state = home / "dashboard.json"
        assert wait_until(state.exists, 30), daemon.stderr()
        recorded = json.loads(state.read_text())["url"]
        done = run_agenttail(utc_env(), "dashboard", "--no-open")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == recorded
        assert URL_LINE.match(recorded)
        assert "served by the running daemon" in done.stderr
        assert stat.S_IMODE(state.stat().st_mode) == 0o600  # the key: for the owner only
        printed = agenttail_cli(utc_env(), "report", "daily", "--json")
        assert Visitor(recorded).get("api/report/daily")[2].decode() == printed
    finally:
        code, _seconds = daemon.terminate()
    assert code == 0, daemon.stderr()
    assert not (home / "dashboard.json").exists()
    # With the daemon gone the command serves the page itself.
    command = DashboardCommand()
    try:
        assert command.printed != recorded
        assert command.get("api/version")[0] == 200
    finally:
        assert command.stop() == 0


def test_before_the_first_scan_the_page_has_empty_reports(home: Path) -> None:
    command = DashboardCommand()
    try:
        status, _kind, body = command.get("api/report/daily")
        assert status == 200
        assert json.loads(body)["daily"] == []
    finally:
        assert command.stop() == 0
    assert not (home / "agenttail.db").exists()  # reading never creates a store


def test_context_names_the_days_of_the_cards(dashboard: DashboardCommand) -> None:
    _s, _k, body = dashboard.get("api/context?timezone=UTC")
    context = json.loads(body)
    today = datetime.now(UTC).date()
    assert context["today"] in (today.isoformat(), (today + timedelta(days=1)).isoformat())
    monday = datetime.fromisoformat(context["week_start"]).date()
    assert monday.weekday() == 0 and 0 <= (today - monday).days <= 7
    assert context["month_start"].endswith("-01") and context["timezone"] == "UTC"


def test_the_daemons_page_moves_with_a_reloaded_port(home: Path) -> None:
    """``dashboard.port`` applies on SIGHUP: the old port closes, the new one serves, and the
    state file follows; stopping removes it."""
    from agenttail.config import load_config
    from agenttail.dashboard.launch import DaemonDashboard, daemon_dashboard
    from agenttail.paths import AppPaths

    paths = AppPaths.resolve().ensure()
    companion = DaemonDashboard(paths, load_config(paths))
    companion.start()
    try:
        first = daemon_dashboard(paths)
        assert first is not None and URL_LINE.match(first)
        assert stat.S_IMODE((home / "dashboard.json").stat().st_mode) == 0o600
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = probe.getsockname()[1]
        (home / "config.toml").write_text(f"[dashboard]\nport = {free}\n", encoding="utf-8")
        companion.apply_config(load_config(paths))
        moved = daemon_dashboard(paths)
        assert moved is not None and moved.startswith(f"http://127.0.0.1:{free}/?token=")
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port_and_key(first)[0]), 2)
    finally:
        companion.stop()
    assert daemon_dashboard(paths) is None
    assert not (home / "dashboard.json").exists()


def test_notes_on_missing_tokens_reach_the_page_as_the_cli_prints_them(tmp_path: Path) -> None:
    """An agent that keeps no tokens on disk (Cursor CLI): the window's notes are part of the
    report's JSON at both doors."""
    from agenttail.agents.cursor_cli import CursorCliAgent

    root = CursorCliAgent().resolve_roots(dict(os.environ), sys.platform)[0]
    shutil.copytree(REPO / "fixtures" / "cursor_cli" / "root", root, dirs_exist_ok=True)
    agenttail_cli(utc_env(), "scan")
    printed = agenttail_cli(utc_env(), "report", "daily", "--json")
    assert {"agent": "cursor_cli", "tokens": "not recorded locally"} in json.loads(printed)["notes"]
    command = DashboardCommand()
    try:
        assert command.get("api/report/daily")[2].decode() == printed
    finally:
        assert command.stop() == 0


def test_serving_the_page_needs_no_server_extra() -> None:
    """The daemon serves the page from its default install: the standard library's HTTP
    server, none of the team server's packages."""
    code = (
        "import sys, agenttail.dashboard.launch, agenttail.dashboard.server, "
        "agenttail.dashboard.cli\n"
        "extra = ('starlette', 'uvicorn', 'psycopg', 'psycopg_pool', 'msgspec')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in extra))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


def test_a_stale_url_left_by_a_killed_daemon_is_not_used(usage: list[Request], home: Path) -> None:
    """A daemon killed with SIGKILL leaves dashboard.json behind; nothing answers there, so
    the command serves the page itself."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}/"
    (home / "dashboard.json").write_text(json.dumps({"url": gone, "pid": 1}), encoding="utf-8")
    command = DashboardCommand()
    try:
        assert command.url != gone
        assert command.get("api/health")[0] == 200  # serving: its notice is written
    finally:
        assert command.stop() == 0
    assert "serving the dashboard here" in command.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="displays are a Linux matter")
def test_without_a_display_it_says_how_to_reach_the_page(usage: list[Request]) -> None:
    """Over SSH there is no browser to open: the URL and an ssh -L hint, the terminal kept."""
    env = {k: v for k, v in utc_env().items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    command = DashboardCommand("--port", "0", env=env)
    try:
        assert command.get("api/health")[0] == 200
    finally:
        assert command.stop() == 0
    port = command.url.rstrip("/").rsplit(":", 1)[1]
    assert f"ssh -L {port}:127.0.0.1:{port}" in command.stderr
