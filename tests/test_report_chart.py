"""``report daily --chart``: the bars under the table, checked against the fixture's costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ClaudeSession
from tests.test_reports import cli

MODEL = "claude-chart-test"  # priced by the config below, so the test knows every cost
DAYS = {  # day: (input tokens, output tokens) of its one request
    "2026-11-02": (1_000_000, 0),
    "2026-11-03": (250_000, 100_000),
    "2026-11-05": (40_000, 10_000),
}


def day_cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * 3 + output_tokens * 15) / 1e6  # $3/M in, $15/M out


@pytest.fixture
def chart(claude_dir: Path, home: Path) -> list[str]:
    session = ClaudeSession(claude_dir)
    for index, (day, (inp, out)) in enumerate(DAYS.items()):
        session.write(
            session.assistant(
                f"{day}T12:00:00Z",
                f"m{index}",
                request_id=f"r{index}",
                model=MODEL,
                input_tokens=inp,
                output_tokens=out,
            )
        )
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[prices."{MODEL}"]\ninput = 3\noutput = 15\n', encoding="utf-8"
    )
    cli("scan")
    output = cli("report", "daily", "--chart", "-z", "UTC")
    lines = output.splitlines()
    start = lines.index("cost (USD) per date")
    return [line for line in lines[start + 1 :] if " |" in line]


def test_each_bar_is_its_days_share_of_the_largest(chart: list[str]) -> None:
    costs = {day: day_cost(*tokens) for day, tokens in DAYS.items()}
    assert [line.split(" |")[0].strip() for line in chart] == list(DAYS)
    bars = {line.split(" |")[0].strip(): line.count("#") for line in chart}
    longest = bars[max(costs, key=costs.__getitem__)]
    assert longest >= 40  # the chart uses the width it has
    for day, cost in costs.items():
        assert abs(bars[day] - longest * cost / max(costs.values())) <= 0.5, day
        assert float(chart[list(DAYS).index(day)].split()[-1]) == pytest.approx(cost, abs=0.005)


def test_the_chart_fits_80_columns(chart: list[str]) -> None:
    assert chart and all(len(line) <= 80 for line in chart)
