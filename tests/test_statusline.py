"""``agenttail statusline`` through the real CLI process, against a scanned fixture store."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import ClaudeSession
from tests.test_reports import cli

MODEL = "claude-statusline-test"  # priced only by the config below: the test knows its price
PRICE = {"input": 3.0, "output": 15.0, "cache_read": 0.3}  # USD per million tokens


def statusline(hook: dict[str, object] | str) -> subprocess.CompletedProcess[str]:
    text = hook if isinstance(hook, str) else json.dumps(hook)
    return subprocess.run(
        [sys.executable, "-m", "agenttail", "statusline"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "TZ": "UTC"},
    )


def cost(input_tokens: int, output_tokens: int, cache_read: int) -> float:
    return (
        input_tokens * PRICE["input"]
        + output_tokens * PRICE["output"]
        + cache_read * PRICE["cache_read"]
    ) / 1e6


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fixture_store(claude_dir: Path, home: Path, now: datetime) -> dict[str, object]:
    """Two sessions in the last hour; returns what the line should say, worked out here."""
    mine = ClaudeSession(claude_dir, session_id="57a7e5e1-0000-4000-8000-000000000001")
    other = ClaudeSession(claude_dir, session_id="57a7e5e1-0000-4000-8000-000000000002")
    requests = [  # (session, minutes ago, input, output, cache read)
        (mine, 50, 200_000, 10_000, 50_000),
        (other, 30, 400_000, 5_000, 0),
        (mine, 10, 100_000, 20_000, 30_000),
    ]
    for index, (session, ago, inp, out, cached) in enumerate(requests):
        session.write(
            session.assistant(
                iso(now - timedelta(minutes=ago)),
                f"msg{index}",
                request_id=f"req{index}",
                model=MODEL,
                input_tokens=inp,
                output_tokens=out,
                cache_read=cached,
            )
        )
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        f'[prices."{MODEL}"]\n' + "".join(f"{k} = {v}\n" for k, v in PRICE.items()),
        encoding="utf-8",
    )
    cli("scan")
    costs = [cost(*r[2:]) for r in requests]
    times = [now - timedelta(minutes=r[1]) for r in requests]
    first = times[0]
    block_end = first.replace(minute=0, second=0) + timedelta(hours=5)
    return {
        "session": costs[0] + costs[2],
        "today": sum(c for c, t in zip(costs, times, strict=True) if t.date() == now.date()),
        "burn": sum(costs) / ((times[-1] - first).total_seconds() / 3600),
        "left_min": (block_end - now).total_seconds() / 60,
        "context": 100_000 + 30_000,  # the session's last request: input + cache read
    }


LINE = re.compile(
    r"session \$(?P<session>[\d.]+) · today \$(?P<today>[\d.]+) · "
    r"block \$(?P<burn>[\d.]+)/h (?P<h>\d+)h(?P<m>\d\d)m left · ctx (?P<ctx>\d+)%$"
)


def test_statusline_shows_session_today_block_and_context(
    fixture_store: dict[str, float],
) -> None:
    expected = fixture_store
    done = statusline(
        {"session_id": "57a7e5e1-0000-4000-8000-000000000001", "model": {"id": MODEL}}
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    match = LINE.match(lines[0])
    assert match, lines[0]
    assert float(match["session"]) == pytest.approx(expected["session"], abs=0.005)
    assert float(match["today"]) == pytest.approx(expected["today"], abs=0.005)
    assert float(match["burn"]) == pytest.approx(expected["burn"], abs=0.005)
    left = int(match["h"]) * 60 + int(match["m"])
    assert expected["left_min"] - 2 <= left <= expected["left_min"]  # the process runs later
    assert int(match["ctx"]) == round(100 * expected["context"] / 200_000)  # Claude: 200k


def test_the_hooks_window_size_wins_over_the_table(fixture_store: dict[str, float]) -> None:
    done = statusline(
        {
            "session_id": "57a7e5e1-0000-4000-8000-000000000001",
            "model": {"id": MODEL},
            "context_window": {"context_window_size": 1_000_000},
        }
    )
    assert done.stdout.rstrip().endswith(f"ctx {round(100 * fixture_store['context'] / 1e6)}%")


def test_without_a_session_the_line_has_today_and_block(fixture_store: dict[str, float]) -> None:
    done = statusline({"model": {"id": MODEL}})
    assert done.returncode == 0
    assert done.stdout.startswith("today $") and "session" not in done.stdout


@pytest.mark.parametrize("stdin", ["not json", "[1, 2]", ""])
def test_bad_input_never_fails_the_hook(fixture_store: dict[str, float], stdin: str) -> None:
    done = statusline(stdin)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 1 and "Traceback" not in done.stderr


def test_no_store_yet_prints_the_fallback(home: Path) -> None:
    done = statusline({"session_id": "x"})
    assert (done.returncode, done.stdout) == (0, "agenttail: no usage data\n")
    assert not home.joinpath("agenttail.db").exists()  # it never scans or creates a store


def test_statusline_loads_no_heavy_libraries(fixture_store: dict[str, float]) -> None:
    probe = (
        "import io, sys\n"
        "sys.stdin = io.StringIO('{}')\n"
        "from agenttail.cli import main\n"
        "main(['statusline'], standalone_mode=False)\n"
        "heavy = {'structlog', 'sqlite_utils', 'rich'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_readme_documents_the_command() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "    agenttail statusline" in readme and '"command": "agenttail statusline"' in readme
