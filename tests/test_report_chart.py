"""``report daily --chart``: the bars under the table, checked against the fixture's costs."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import ClaudeSession
from tests.test_reports import cli, tool_use

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


# -- report series --chart: one bar per period and group ---------------------------------------

OTHER = "claude-chart-cheap"  # $1/M in, $5/M out
SERIES = [  # (day, model, input tokens, output tokens, tool called) of one request each
    ("2026-11-02", MODEL, 1_000_000, 0, "Bash"),
    ("2026-11-02", OTHER, 600_000, 40_000, "Bash"),
    ("2026-11-03", MODEL, 200_000, 20_000, "Read"),
    ("2026-11-03", OTHER, 2_000_000, 100_000, "Bash"),
]
PRICES = {MODEL: (3, 15), OTHER: (1, 5)}


@pytest.fixture
def series_store(claude_dir: Path, home: Path) -> None:
    session = ClaudeSession(claude_dir)
    for index, (day, model, inp, out, tool) in enumerate(SERIES):
        session.write(
            session.assistant(
                f"{day}T1{index}:00:00Z",
                f"m{index}",
                request_id=f"r{index}",
                model=model,
                input_tokens=inp,
                output_tokens=out,
                content=[tool_use(f"tu{index}", tool)],
            ),
            session.tool_result(f"{day}T1{index}:00:05Z", f"tu{index}", "ok"),
        )
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "".join(
            f'[prices."{model}"]\ninput = {inp}\noutput = {out}\n'
            for model, (inp, out) in PRICES.items()
        ),
        encoding="utf-8",
    )
    cli("scan")


def chart_lines(output: str, title: str) -> dict[str, tuple[int, float]]:
    """``label: (bar length, printed value)`` of the chart titled ``title``."""
    lines = output.splitlines()
    start = lines.index(title)
    bars = {}
    for line in lines[start + 1 :]:
        if " |" not in line:
            break
        label, rest = line.split(" |", 1)
        bars[label.strip()] = (rest.count("#"), float(rest.split()[-1].replace(",", "")))
        assert len(line) <= 80, line
    return bars


def assert_proportional(bars: dict[str, tuple[int, float]], expected: dict[str, float]) -> None:
    assert {label: value for label, (_length, value) in bars.items()} == pytest.approx(
        expected, abs=0.005
    )
    top = max(expected.values())
    longest = bars[max(expected, key=expected.__getitem__)][0]
    assert longest >= 30  # the chart uses the width it has
    for label, value in expected.items():
        assert abs(bars[label][0] - longest * value / top) <= 0.5, label


def test_series_chart_has_a_bar_per_day_and_model(series_store: None) -> None:
    output = cli("report", "series", "--by", "model", "--chart", "-z", "UTC")
    expected: dict[str, float] = {}
    for day, model, inp, out, _tool in SERIES:
        per_in, per_out = PRICES[model]
        expected[f"{day} {model}"] = (inp * per_in + out * per_out) / 1e6
    assert_proportional(chart_lines(output, "cost (USD) per day and model"), expected)


def test_series_chart_by_tool_counts_calls(series_store: None) -> None:
    output = cli("report", "series", "--by", "tool", "--chart", "-z", "UTC")
    expected: dict[str, float] = {}
    for day, _model, _inp, _out, tool in SERIES:
        expected[f"{day} {tool}"] = expected.get(f"{day} {tool}", 0) + 1
    assert_proportional(chart_lines(output, "tool calls per day and tool"), expected)
