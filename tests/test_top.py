"""``agenttail top`` as a user meets it: a real process in a tmux pane (send-keys, capture-pane)
over a scanned fixture store, and piped (plain periodic frames, ``--once``).

Every number the test looks for on screen is worked out here from the transcript it wrote and
the custom price it configured.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.helpers import ClaudeSession
from tests.test_reports import cli, tool_use

MODEL = "claude-top-test"  # priced only by the config below: the test knows its price
PRICE = {"input": 3.0, "output": 15.0}  # USD per million tokens
HEADER = "agenttail top · "


def cost(input_tokens: int, output_tokens: int) -> float:
    return (input_tokens * PRICE["input"] + output_tokens * PRICE["output"]) / 1e6


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Request:
    ago_min: int
    input_tokens: int
    output_tokens: int

    def at(self, now: datetime) -> datetime:
        return now - timedelta(minutes=self.ago_min)

    @property
    def cost(self) -> float:
        return cost(self.input_tokens, self.output_tokens)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens


FIRST = [Request(50, 100_000, 20_000), Request(30, 300_000, 4_000)]  # $0.60, $0.96
LATER = Request(15, 500_000, 30_000)  # $1.95


@dataclass
class Expected:
    today: float
    requests: int
    so_far: float
    burn_per_hour: float
    block_end: datetime
    newest: Request
    stored: int

    def projection(self, at: datetime) -> float:
        return self.so_far + self.burn_per_hour * (self.block_end - at).total_seconds() / 3600


class Workload:
    """A Claude Code session the test appends to, scanned into the store after each step."""

    def __init__(self, claude_dir: Path, home: Path, now: datetime) -> None:
        self.now = now
        self.session = ClaudeSession(claude_dir, session_id="70b70b70-0000-4000-8000-000000000001")
        self.requests: list[Request] = []
        home.mkdir(parents=True, exist_ok=True)
        (home / "config.toml").write_text(
            f'[prices."{MODEL}"]\n' + "".join(f"{k} = {v}\n" for k, v in PRICE.items()),
            encoding="utf-8",
        )

    def add(self, request: Request, failed_tool: str) -> None:
        n = len(self.requests)
        at = request.at(self.now)
        self.session.write(
            self.session.assistant(
                iso(at),
                f"msg{n}",
                request_id=f"req{n}",
                model=MODEL,
                input_tokens=request.input_tokens,
                output_tokens=request.output_tokens,
                content=[tool_use(f"tu{n}", failed_tool)],
            ),
            self.session.tool_result(
                iso(at + timedelta(seconds=2)), f"tu{n}", "boom", is_error=True
            ),
        )
        self.requests.append(request)
        cli("scan")

    def expected(self) -> Expected:
        times = [r.at(self.now) for r in self.requests]
        first, last = min(times), max(times)
        total = sum(r.cost for r in self.requests)
        return Expected(
            today=sum(
                r.cost
                for r, t in zip(self.requests, times, strict=True)
                if t.date() == self.now.date()
            ),
            requests=sum(1 for t in times if t.date() == self.now.date()),
            so_far=total,
            burn_per_hour=total / max((last - first).total_seconds() / 3600, 1e-9),
            block_end=first.replace(minute=0, second=0) + timedelta(hours=5),
            newest=self.requests[times.index(last)],
            stored=len(self.requests),
        )


@pytest.fixture
def workload(claude_dir: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> Workload:
    monkeypatch.setenv("TZ", "UTC")  # the test's own "today" and the view's agree
    load = Workload(claude_dir, home, datetime.now(UTC).replace(microsecond=0))
    load.add(FIRST[0], "Bash")
    load.add(FIRST[1], "Bash")
    return load


# -- reading a frame --------------------------------------------------------------------------

TODAY = re.compile(r"today \$(?P<cost>[\d,.]+) · (?P<requests>[\d,]+) requests")
BLOCK = re.compile(
    r"block \d\d:\d\d-\d\d:\d\d · \$(?P<so_far>[\d,.]+) so far · "
    r"\$(?P<burn>[\d,.]+)/h · projected \$(?P<projected>[\d,.]+) · (?P<h>\d+)h(?P<m>\d\d)m left"
)
REQUEST_ROW = re.compile(
    rf"(?P<time>\d\d:\d\d:\d\d)\s+claude_code\s+{MODEL}\s+(?P<tokens>[\d,]+)\s+\$(?P<cost>[\d.]+)"
)
FAILURE_ROW = re.compile(r"(?P<time>\d\d:\d\d:\d\d)\s+claude_code\s+(?P<tool>\w+)\s+70b70b70")


def number(text: str) -> float:
    return float(text.replace(",", ""))


def check_frame(
    screen: str, expected: Expected, tools: list[str], at: tuple[datetime, datetime]
) -> None:
    """``screen`` shows ``expected``; ``at`` bounds when it was drawn (the projection moves)."""
    today = TODAY.search(screen)
    assert today, screen
    assert number(today["cost"]) == pytest.approx(expected.today, abs=0.005)
    assert number(today["requests"]) == expected.requests
    block = BLOCK.search(screen)
    assert block, screen
    assert number(block["so_far"]) == pytest.approx(expected.so_far, abs=0.005)
    assert number(block["burn"]) == pytest.approx(expected.burn_per_hour, abs=0.005)
    low, high = sorted(expected.projection(moment) for moment in at)
    assert low - 0.005 <= number(block["projected"]) <= high + 0.005
    rows = REQUEST_ROW.findall(screen)
    assert [number(tokens) for _time, tokens, _cost in rows][:1] == [expected.newest.tokens]
    assert number(rows[0][2]) == pytest.approx(expected.newest.cost, abs=0.00005)
    assert len(rows) == expected.stored  # one row per stored request
    assert [m["tool"] for m in FAILURE_ROW.finditer(screen)] == tools, screen


# -- tmux -------------------------------------------------------------------------------------


class Pane:
    """One tmux server of its own (own socket, no user config) with one shell pane."""

    def __init__(self, folder: Path, width: int = 110, height: int = 45) -> None:
        self.socket = folder / "tmux.sock"
        self.tmux(
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            str(width),
            "-y",
            str(height),
            "env PS1='$ ' sh",
        )
        self.wait_for(lambda s: s.startswith("$"))  # the shell is ready for keys

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "t", *keys)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "t")

    def wait_for(self, ready: Callable[[str], bool], timeout: float = 40.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if ready(text):
                return text
            if time.monotonic() > deadline:
                raise AssertionError(f"the pane never showed what was expected:\n{text}")
            time.sleep(0.2)

    def flag(self, name: str) -> str:
        return self.tmux("display-message", "-p", "-t", "t", f"#{{{name}}}").strip()

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-S", str(self.socket), "kill-server"], capture_output=True, timeout=30
        )


@pytest.fixture
def pane(tmp_path: Path) -> Iterator[Pane]:
    assert shutil.which("tmux"), "tmux is needed (apt-get install tmux; .ci/run installs it)"
    shell = Pane(tmp_path)
    try:
        yield shell
    finally:
        shell.close()


TOP = f"{sys.executable} -m agenttail top --interval 60"  # redraws come from data_version
EXIT = re.compile(r"top-exit=(\d+)")  # the shell's echo after top returns (not the command)


def test_top_in_tmux_follows_the_store_and_quits_cleanly(workload: Workload, pane: Pane) -> None:
    pane.keys(f"{TOP}; echo top-exit=$?", "Enter")
    before = datetime.now(UTC)
    screen = pane.wait_for(lambda s: HEADER in s and "requests" in s and "Bash" in s)
    check_frame(screen, workload.expected(), ["Bash", "Bash"], (before, datetime.now(UTC)))
    assert pane.flag("alternate_on") == "1"  # drawn on the alternate screen

    # The daemon's part, played by a real scan: a new request and a failed Edit are stored.
    workload.add(LATER, "Edit")
    expected = workload.expected()
    assert expected.so_far == pytest.approx(0.60 + 0.96 + 1.95)
    shown = f"{expected.so_far:,.2f}"
    before = datetime.now(UTC)
    screen = pane.wait_for(lambda s: f"${shown} so far" in s and "Edit" in s, timeout=20)
    check_frame(screen, expected, ["Edit", "Bash", "Bash"], (before, datetime.now(UTC)))

    pane.keys("q")
    screen = pane.wait_for(lambda s: EXIT.search(s) is not None)
    assert EXIT.findall(screen) == ["0"] and "Traceback" not in screen
    assert (pane.flag("alternate_on"), pane.flag("cursor_flag")) == ("0", "1")
    pane.keys("clear; stty -a", "Enter")
    settings = pane.wait_for(lambda s: "icanon" in s).split()
    assert "icanon" in settings and "echo" in settings  # line editing and echo are back


def test_a_small_terminal_shows_every_part_and_ctrl_c_quits(workload: Workload, pane: Pane) -> None:
    pane.tmux("resize-window", "-t", "t", "-x", "80", "-y", "24")
    pane.keys(f"{TOP}; echo top-exit=$?", "Enter")
    screen = pane.wait_for(lambda s: HEADER in s and "Bash" in s)
    assert screen.splitlines()[0].startswith(HEADER)  # nothing scrolled off the top
    assert len(REQUEST_ROW.findall(screen)) == 2 and len(FAILURE_ROW.findall(screen)) == 2
    assert all(len(line) <= 80 for line in screen.splitlines())
    pane.keys("C-c")
    screen = pane.wait_for(lambda s: EXIT.search(s) is not None)
    assert EXIT.findall(screen) == ["0"] and "Traceback" not in screen
    assert (pane.flag("alternate_on"), pane.flag("cursor_flag")) == ("0", "1")


def test_a_damaged_store_is_named_on_screen_until_the_scan_rebuilds_it(
    claude_dir: Path, home: Path, pane: Pane, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    load = Workload(claude_dir, home, datetime.now(UTC).replace(microsecond=0))
    home.joinpath("agenttail.db").write_bytes(b"not a database " * 400)
    pane.keys(f"{TOP}; echo top-exit=$?", "Enter")
    # The message wraps where the path's length puts it (longer under pytest-xdist's folders).
    screen = pane.wait_for(lambda s: "is damaged" in " ".join(s.split()))
    assert "today $" not in screen  # no zeros that look like numbers
    load.add(FIRST[0], "Bash")  # the scan moves the damaged file aside and rebuilds the store
    # The view may first show the new store empty (created, not yet filled): wait for its numbers.
    shown = f"today ${load.expected().today:,.2f} · 1 requests"
    screen = pane.wait_for(lambda s: shown in s, timeout=20)
    assert "is damaged" not in " ".join(screen.split())
    pane.keys("q")
    assert EXIT.findall(pane.wait_for(lambda s: EXIT.search(s) is not None)) == ["0"]


# -- not a terminal ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sigint",
    [signal.SIG_DFL, signal.SIG_IGN],
    ids=["sigint-default", "sigint-ignored-by-the-launcher"],
)
def test_piped_top_prints_plain_frames_periodically_and_ctrl_c_quits(
    workload: Workload, sigint: signal.Handlers
) -> None:
    """Ctrl-C quits also when whatever started ``top`` had SIGINT ignored (a job in the
    background of a script or CI run inherits that, and Python then installs no
    KeyboardInterrupt): the test sets the disposition itself rather than inherit the runner's."""
    process = subprocess.Popen(
        [sys.executable, "-m", "agenttail", "top", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: signal.signal(signal.SIGINT, sigint),  # the test has no threads
    )
    assert process.stdout is not None
    output = b""
    deadline = time.monotonic() + 60
    try:
        while output.count(HEADER.encode()) < 4 and time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                output += os.read(process.stdout.fileno(), 65536)
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and b"Traceback" not in err, err
    text = output.decode()
    frames = [HEADER + part for part in text.split(HEADER)[1:]]
    assert len(frames) >= 4, text
    assert "\x1b" not in text  # plain text: no colours, no cursor movement
    expected = workload.expected()
    for frame in frames[:3]:  # the last may be cut short by the interrupt
        today = TODAY.search(frame)
        assert today, frame
        assert number(today["cost"]) == pytest.approx(expected.today, abs=0.005)
        assert "q quits" not in frame


def top_once() -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", "top", "--once"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_once_prints_one_frame(workload: Workload) -> None:
    before = datetime.now(UTC)
    done = top_once()
    assert done.stdout.count(HEADER) == 1
    check_frame(done.stdout, workload.expected(), ["Bash", "Bash"], (before, datetime.now(UTC)))


def test_once_before_the_first_scan_says_nothing_is_stored(home: Path) -> None:
    done = top_once()
    assert "today $0.00 · 0 requests" in done.stdout and "block: none active" in done.stdout
    assert not home.joinpath("agenttail.db").exists()  # it never scans or creates a store


def test_the_readme_documents_top() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "    agenttail top" in readme and "docs/top.txt" in readme
