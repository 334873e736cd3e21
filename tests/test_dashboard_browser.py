"""The dashboard in a real browser (headless Chromium over the DevTools protocol), served by a
real daemon over a fixture store: the numbers on the page equal ``report … --json`` and the
fixture's own arithmetic, every request stays on 127.0.0.1, it reads at 1280 px and at phone
width (screenshots saved as artifacts), and it updates by itself while the daemon ingests."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.chromium import Browser, chromium_or_skip
from tests.daemon_process import DaemonProcess, wait_until
from tests.dashboard_fixture import LARGE, SMALL, UNPRICED, Request, cost_of, utc_env, write_usage
from tests.helpers import ClaudeSession, agenttail_cli, run_agenttail

# Everything the page shows, with the exact value behind each formatted number.
PAGE_STATE = """(() => {
  const cell = (el) => ({text: el.textContent, value: el.dataset.value ?? null,
                         flag: el.classList.contains("flag")});
  const card = (id) => Object.fromEntries([...document.querySelectorAll(`#${id} [data-field]`)]
      .map((el) => [el.dataset.field, cell(el)]));
  const table = (id) => [...document.querySelectorAll(`#${id} tr`)].slice(1)
      .filter((tr) => tr.querySelector("td[data-col]"))
      .map((tr) => Object.fromEntries([...tr.querySelectorAll("td")]
          .map((td) => [td.dataset.col, cell(td)])));
  return {
    loads: Number(document.body.dataset.loads || 0),
    cards: {today: card("card-today"), week: card("card-week"), month: card("card-month"),
            block: card("card-block")},
    bars: [...document.querySelectorAll("#chart rect.bar")].map((r) => ({
      period: r.dataset.period, key: r.dataset.key, value: Number(r.dataset.value)})),
    tables: {sessions: table("sessions"), projects: table("projects"), tools: table("tools"),
             models: table("models")},
    unpriced: document.querySelector("#unpriced").hidden ? null
      : document.querySelector("#unpriced").textContent,
    problem: document.querySelector("#problem").hidden ? null
      : document.querySelector("#problem").textContent,
    downloads: [...document.querySelectorAll(".downloads a")].map((a) => a.getAttribute("href")),
    pageWidth: document.documentElement.scrollWidth,
  };
})()"""


def artifacts(tmp_path: Path) -> Path:
    """Where screenshots go: ``TEST_ARTIFACTS_DIR`` (``.ci/run`` keeps it), else pytest's tmp."""
    folder = Path(os.environ.get("TEST_ARTIFACTS_DIR") or tmp_path / "artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def cli_json(*args: str) -> Any:
    return json.loads(agenttail_cli(utc_env(), "report", *args, "--json"))


def money(value: float) -> str:
    return f"${value:,.2f}"


def number(cell: dict[str, Any]) -> float | None:
    return None if cell["value"] in (None, "") else float(cell["value"])


@pytest.fixture
def served(claude_dir: Path, home: Path, tmp_path: Path) -> Iterator[tuple[str, list[Request]]]:
    """The fixture scanned, a real daemon serving the page, and the URL the command prints."""
    requests = write_usage(claude_dir, home, datetime.now(UTC))
    agenttail_cli(utc_env(), "scan")
    daemon = DaemonProcess(utc_env(), home, tmp_path / "daemon.err")
    try:
        daemon.wait_ready()
        assert wait_until((home / "dashboard.json").exists, 30), daemon.stderr()
        done = run_agenttail(utc_env(), "dashboard", "--no-open")
        assert done.returncode == 0, done.stderr
        yield done.stdout.splitlines()[0], requests
    finally:
        code, _seconds = daemon.terminate()
        assert code == 0, daemon.stderr()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Browser]:
    chrome = Browser(chromium_or_skip(), tmp_path / "chromium.log")
    try:
        yield chrome
    finally:
        chrome.close()


def loaded(browser: Browser, loads: int) -> dict[str, Any]:
    """The page's state once it has loaded its numbers ``loads`` times."""
    browser.wait_for(
        f"document.body !== null && Number(document.body.dataset.loads || 0) >= {loads}"
    )
    state: dict[str, Any] = browser.evaluate(PAGE_STATE)
    assert state["problem"] is None, state["problem"]
    return state


def load(browser: Browser, url: str, width: int, height: int, *, mobile: bool) -> dict[str, Any]:
    browser.viewport(width, height, mobile=mobile)
    browser.navigate(url)
    return loaded(browser, 1)


def choose(browser: Browser, state: dict[str, Any], select: str, value: str) -> dict[str, Any]:
    """Picks ``value`` in the ``select`` filter as a user does; the page's state once it has
    loaded again after ``state``."""
    browser.evaluate(
        f"""(() => {{ const s = document.querySelector('#filters select[name="{select}"]');
        s.value = {json.dumps(value)};
        s.dispatchEvent(new Event("change", {{bubbles: true}})); }})()"""
    )
    return loaded(browser, state["loads"] + 1)


def check_card(card: dict[str, Any], totals: dict[str, Any], mine: list[Request]) -> None:
    """A card equals the report's totals and the fixture's arithmetic."""
    expected_cost = cost_of(mine)
    assert number(card["tokens"]) == totals["total_tokens"] == sum(r.total_tokens for r in mine)
    assert number(card["requests"]) == totals["requests"] == len(mine)
    if expected_cost is None:
        assert totals["cost_usd"] in (None, 0.0)
        return
    assert number(card["cost"]) == pytest.approx(totals["cost_usd"], abs=1e-12)
    assert totals["cost_usd"] == pytest.approx(expected_cost, abs=1e-9)
    assert card["cost"]["text"].rstrip("*") == money(expected_cost)


def check_rows(
    rows: list[dict[str, Any]], expected: list[dict[str, Any]], columns: dict[str, Any]
) -> None:
    """Each table row against the report row it shows: column -> how to read the report row."""
    assert len(rows) == len(expected)
    for row, report_row in zip(rows, expected, strict=True):
        for column, read in columns.items():
            want = read(report_row)
            got = row[column]["value"]
            if isinstance(want, float):
                assert float(got) == pytest.approx(want, rel=1e-12), (column, report_row)
            elif want is None:
                assert got == "", (column, report_row)
            else:
                assert got == str(want), (column, report_row)


def test_the_page_shows_the_reports_numbers_and_follows_the_daemon(
    served: tuple[str, list[Request]], browser: Browser, tmp_path: Path, claude_dir: Path
) -> None:
    printed, requests = served
    url = printed.split("?", 1)[0]
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday())
    first = today.replace(day=1)

    def since(day: date) -> list[Request]:
        return [r for r in requests if r.day >= day]

    state = load(browser, printed, 1280, 900, mobile=False)
    # The key became an HttpOnly cookie and left the address bar.
    assert browser.evaluate("[location.href, document.cookie]") == [url, ""]
    folder = artifacts(tmp_path)
    browser.screenshot(folder / "dashboard-1280.png")

    # Cards: the report with the card's days, and the fixture's arithmetic.
    check_card(
        state["cards"]["today"],
        cli_json("daily", "--since", today.isoformat(), "--until", today.isoformat())["totals"],
        [r for r in requests if r.day == today],
    )
    check_card(
        state["cards"]["week"],
        cli_json("weekly", "--since", monday.isoformat())["totals"],
        since(monday),
    )
    check_card(
        state["cards"]["month"],
        cli_json("monthly", "--since", first.isoformat())["totals"],
        since(first),
    )

    # The active block: the last two requests, an hour apart.
    blocks = cli_json("blocks", "--since", (today - timedelta(days=1)).isoformat())
    (active,) = [b for b in blocks["blocks"] if b["active"]]
    recent = sorted(requests, key=lambda r: r.ts)[-2:]
    block = state["cards"]["block"]
    assert number(block["tokens"]) == active["total_tokens"] == sum(r.total_tokens for r in recent)
    assert number(block["cost"]) == pytest.approx(cost_of(recent), abs=1e-9)
    tokens_per_hour = sum(r.total_tokens for r in recent) / 1.0  # first to last: one hour
    assert number(block["burn"]) == active["burn_rate"]["tokens_per_hour"] == tokens_per_hour
    assert block["projection"]["text"].startswith("projected ")

    # The chart: one bar per day and model, each the series report's cost; a day's stack is
    # that day's cost in the fixture.
    series = cli_json("series", "--by", "model", "--bucket", "day")["series"]
    bars = {(b["period"], b["key"]): b["value"] for b in state["bars"]}
    priced = {(p["period"], p["key"]): p["cost_usd"] for p in series if p["cost_usd"]}
    assert bars.keys() == priced.keys()
    for key, value in priced.items():
        assert bars[key] == pytest.approx(value, abs=1e-12)
    for day in {r.day for r in requests}:
        stack = sum(v for (period, _model), v in bars.items() if period == day.isoformat())
        assert stack == pytest.approx(cost_of([r for r in requests if r.day == day]) or 0, abs=1e-9)

    # Tables: each row is the report's row.
    models = cli_json("model")["models"]
    check_rows(
        state["tables"]["models"],
        models,
        {
            "model": lambda m: m["model"],
            "requests": lambda m: m["requests"],
            "tokens": lambda m: m["total_tokens"],
            "cost": lambda m: m["cost_usd"],
            "errors": lambda m: m["error_rate"],
            "p50": lambda m: m["latency_ms"]["p50"],
            "p95": lambda m: m["latency_ms"]["p95"],
        },
    )
    large = next(r for r in state["tables"]["models"] if r["model"]["value"] == LARGE)
    large_requests = sum(1 for r in requests if r.model == LARGE)
    assert number(large["errors"]) == 1 / (large_requests + 1)  # one API error in the fixture
    assert large["errors"]["text"] == f"{100 / (large_requests + 1):.1f}%"
    unpriced_row = next(r for r in state["tables"]["models"] if r["model"]["value"] == UNPRICED)
    assert unpriced_row["cost"]["text"] == "unpriced" and unpriced_row["cost"]["flag"]
    assert (
        state["unpriced"] == f"Unpriced (no cost counted): {UNPRICED} (1 requests, 77,000 tokens)"
    )
    tools = cli_json("tools")["tools"]
    check_rows(
        state["tables"]["tools"],
        tools,
        {
            "tool": lambda t: t["tool"],
            "calls": lambda t: t["calls"],
            "success": lambda t: t["success_rate"],
            "p50": lambda t: t["duration_ms"]["p50"],
            "p95": lambda t: t["duration_ms"]["p95"],
        },
    )
    assert {t["tool"]: t["success_rate"] for t in tools} == {"Bash": 1.0, "Read": 0.0}
    check_rows(
        state["tables"]["projects"],
        cli_json("projects")["projects"],
        {
            "project": lambda p: p["project"],
            "sessions": lambda p: p["sessions"],
            "requests": lambda p: p["requests"],
            "tokens": lambda p: p["total_tokens"],
            "cost": lambda p: p["cost_usd"],
        },
    )
    sessions = sorted(
        cli_json("session")["sessions"],
        key=lambda s: (-(s["cost_usd"] or 0), -s["total_tokens"]),
    )[:10]
    check_rows(
        state["tables"]["sessions"],
        sessions,
        {
            "session": lambda s: s["session_id"],
            "tokens": lambda s: s["total_tokens"],
            "cost": lambda s: s["cost_usd"],
        },
    )

    # Downloads: JSON and CSV for every card, the chart and each table.
    assert len(state["downloads"]) == 2 * 9
    assert all(href.startswith("/api/report/") for href in state["downloads"])

    # A filter narrows every part: the month card and the chart for one model.
    filtered = choose(browser, state, "model", SMALL)
    check_card(
        filtered["cards"]["month"],
        cli_json("monthly", "--since", first.isoformat(), "--model", SMALL)["totals"],
        [r for r in since(first) if r.model == SMALL],
    )
    assert {b["key"] for b in filtered["bars"]} == {SMALL}
    assert [r["model"]["value"] for r in filtered["tables"]["models"]] == [SMALL]

    # Tokens instead of cost, still for that one model: each day's bar is its tokens.
    in_tokens = choose(browser, filtered, "metric", "tokens")["bars"]
    small_days: dict[str, int] = defaultdict(int)
    for request in requests:
        if request.model == SMALL:
            small_days[request.day.isoformat()] += request.total_tokens
    assert {b["period"]: b["value"] for b in in_tokens} == small_days

    # Phone width: one column, nothing wider than the screen.
    phone = load(browser, printed, 390, 844, mobile=True)
    browser.screenshot(folder / "dashboard-390.png")
    assert phone["pageWidth"] <= 390
    assert phone["cards"]["today"]["cost"]["text"] == state["cards"]["today"]["cost"]["text"]

    # Live: a request written now reaches the page through the daemon, without a reload.
    before = number(phone["cards"]["today"]["cost"]) or 0.0
    shop = ClaudeSession(claude_dir, cwd="/home/dev/shop", session_id=recent[-1].session_id)
    shop.write(
        shop.assistant(
            datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "msg_live",
            request_id="req_live",
            model=LARGE,
            input_tokens=50_000,
            output_tokens=5_000,
        )
    )
    added = (50_000 * 3 + 5_000 * 15) / 1e6
    browser.wait_for(
        "Math.abs(Number(document.querySelector('#card-today [data-field=cost]').dataset.value)"
        f" - {before + added}) < 1e-9",
        timeout=90,
    )

    # Nothing left the machine: every request the page made went to this server.
    assert browser.requests, "no request recorded"
    elsewhere = [u for u in browser.requests if not u.startswith((url, "data:", "about:"))]
    assert elsewhere == []
