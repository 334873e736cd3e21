"""Claude Code usage around "now" for the dashboard tests, with every cost known to the test.

Two models priced by config.toml (so each cost is the test's own arithmetic), one unpriced
model, three projects, ten days of history, and two requests in the last 90 minutes so
today, this week, this month and the active 5-hour block all hold something.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.helpers import ClaudeSession

LARGE, SMALL, UNPRICED = "claude-dash-large", "claude-dash-small", "acme-unpriced-1"
PRICES = {LARGE: (3.0, 15.0), SMALL: (1.0, 5.0)}  # USD per million input, output tokens


@dataclass(frozen=True)
class Request:
    ts: datetime
    model: str
    input_tokens: int
    output_tokens: int
    project: str
    session_id: str

    @property
    def day(self) -> date:
        return self.ts.astimezone(UTC).date()

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def cost(self) -> float | None:
        if self.model not in PRICES:
            return None
        per_in, per_out = PRICES[self.model]
        return (self.input_tokens * per_in + self.output_tokens * per_out) / 1e6


def _stamp(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _tool(tool_id: str, name: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": tool_id, "name": name, "input": {}}


def write_usage(claude_dir: Path, home: Path, now: datetime) -> list[Request]:
    """The transcripts and config.toml; returns every request written."""
    requests: list[Request] = []
    counter = iter(range(1_000_000))

    def ask(
        session: ClaudeSession, ts: datetime, model: str, inp: int, out: int, **extra: Any
    ) -> None:
        n = next(counter)
        session.write(
            session.assistant(
                _stamp(ts),
                f"msg_dash_{n}",
                request_id=f"req_dash_{n}",
                model=model,
                input_tokens=inp,
                output_tokens=out,
                **extra,
            )
        )
        requests.append(Request(ts, model, inp, out, session.cwd, session.session_id))

    # The active block: two requests an hour apart in the last 90 minutes, with tool calls
    # and an API error (overloaded) between them.
    shop = ClaudeSession(claude_dir, cwd="/home/dev/shop")
    start = now - timedelta(minutes=90)
    shop.write(shop.prompt("ship the cart", _stamp(start - timedelta(seconds=5))))
    ask(shop, start, LARGE, 200_000, 20_000, content=[_tool("t1", "Bash"), _tool("t2", "Read")])
    shop.write(
        shop.tool_result(_stamp(start + timedelta(seconds=4)), "t1", "ok"),
        shop.tool_result(_stamp(start + timedelta(seconds=6)), "t2", "missing", is_error=True),
    )
    shop.write(shop.api_error(_stamp(start + timedelta(minutes=20)), status=529))
    ask(shop, now - timedelta(minutes=30), LARGE, 100_000, 10_000)

    # History: one blog session every three days, one request a day, growing.
    blog: ClaudeSession | None = None
    for days_ago in range(10, 0, -1):
        if blog is None or days_ago % 3 == 0:
            blog = ClaudeSession(claude_dir, cwd="/home/dev/blog")
        ts = now - timedelta(days=days_ago, hours=3)
        ask(blog, ts, SMALL if days_ago % 2 else LARGE, 40_000 * days_ago, 4_000 * days_ago)

    # A model no price list knows: flagged, never $0.
    lab = ClaudeSession(claude_dir, cwd="/home/dev/lab")
    ask(lab, now - timedelta(days=4, hours=5), UNPRICED, 70_000, 7_000)

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        # A daemon's sweep every 5 s backs up its file watch in the live-update test.
        "sweep_interval_seconds = 5\n"
        + "".join(
            f'[prices."{model}"]\ninput = {inp}\noutput = {out}\n'
            for model, (inp, out) in PRICES.items()
        ),
        encoding="utf-8",
    )
    return requests


def cost_of(requests: list[Request]) -> float | None:
    """The reports' rule: None when no request is priced, else the priced ones' sum."""
    priced = [r.cost for r in requests if r.cost is not None]
    return sum(priced) if priced else None


def utc_env() -> dict[str, str]:
    """The test's environment with UTC as local time, for the CLI and daemon processes."""
    return {**os.environ, "TZ": "UTC"}
