"""The bad-input suite (issue 8, "Proof"): kinds of bad input and fault, each met by one real
``agenttail scan`` subprocess, asserting the message, the exit code (README "Errors and exit
codes") and that the report equals the same good data ingested cleanly into a second
``AGENTTAIL_HOME`` and the test's own arithmetic on the corpus it wrote.

Each kind adds its bad input to a fixed clean corpus; ``good`` data a kind adds (a request that
must still count) is written to both trees. Pre-scans and follow-up scans run in-process.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agenttail.agents.base import Agent
from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.agents.copilot import CopilotAgent
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, drain
from agenttail.paths import AppPaths
from agenttail.report import ReportOptions, Window, daily_report, resolve_timezone
from agenttail.status import gap_lines, status_data
from agenttail.store import Store
from agenttail.store.analytics import SqliteAnalytics
from scripts import gen_copilot_home as GEN
from tests.helpers import ClaudeSession, run_agenttail

UTC = resolve_timezone("UTC")
TRACES = Path("globalStorage/github.copilot-chat/agent-traces.db")
# The clean corpus: (session id, day, outputs of its requests); each request has 10 input tokens.
SESSIONS = (
    ("11111111-aaaa-4aaa-8aaa-000000000001", "2026-11-01", (100, 200, 300)),
    ("22222222-bbbb-4bbb-8bbb-000000000002", "2026-11-01", (7, 11)),
    ("33333333-cccc-4ccc-8ccc-000000000003", "2026-11-02", (1000, 2000, 3000, 4000)),
)
BASE_REQUESTS = sum(len(outputs) for *_rest, outputs in SESSIONS)
BASE_OUTPUT = sum(sum(outputs) for *_rest, outputs in SESSIONS)
TRACE_SPANS = tuple((f"span-{i}", 1_793_700_000_000 + i * 1000, 50 + i) for i in range(3))


@dataclass
class Case:
    """One kind's two trees: ``root`` (met by the real scan) and ``clean`` (the good data)."""

    root: Path
    clean: Path
    home: Path
    env: dict[str, str]

    @property
    def claude(self) -> Path:
        return self.root / "claude"

    @property
    def user(self) -> Path:
        """VS Code's User folder, where Copilot keeps its trace database."""
        return self.root / "user-home" / ".config" / "Code" / "User"

    def session(self, index: int) -> Path:
        session_id = SESSIONS[index][0]
        return self.claude / "projects" / "-home-dev-shop" / f"{session_id}.jsonl"

    def extra_session(self, tree: Path, name: str = "extra") -> ClaudeSession:
        session_id = f"99999999-{name[:4]:>4}-4eee-8eee-000000000099".replace(" ", "e")
        return ClaudeSession(tree / "claude", session_id=session_id)

    def append(self, path: Path, data: bytes) -> None:
        with open(path, "ab") as handle:
            handle.write(data)

    def prescan(self) -> None:
        """An ingest before the fault (in-process, like a daemon that ran earlier)."""
        ingest(self.home, self.root)


def agents_for(tree: Path) -> list[Agent]:
    return [
        ClaudeCodeAgent(roots=[tree / "claude" / "projects"]),
        CopilotAgent(roots=[tree / "user-home" / ".config" / "Code" / "User"]),
    ]


def ingest(home: Path, tree: Path) -> None:
    """What ``agenttail scan`` does, in-process: failing streams are retried at once."""
    paths = AppPaths.resolve({"AGENTTAIL_HOME": str(home)})
    pipeline = Pipeline(paths, load_config(paths, env={}), agents_for(tree))
    pipeline.sweep(retry_failed=True)
    drain(pipeline)


def daily(home: Path) -> dict[str, Any]:
    with Store(home / "agenttail.db", readonly=True) as store:
        return daily_report(SqliteAnalytics(store), ReportOptions(Window(UTC)))


def status_of(home: Path) -> dict[str, Any]:
    with Store(home / "agenttail.db", readonly=True) as store:
        return status_data(store)


def write_base(tree: Path) -> None:
    for session_id, day, outputs in SESSIONS:
        session = ClaudeSession(tree / "claude", session_id=session_id)
        for turn, output in enumerate(outputs):
            session.write(
                session.assistant(
                    f"{day}T1{turn}:00:00Z",
                    f"msg_{session_id[:8]}_{turn}",
                    request_id=f"req_{session_id[:8]}_{turn}",
                    input_tokens=10,
                    output_tokens=output,
                )
            )


def assistant_line(case: Case, output: int, message_id: str, day: str = "2026-11-02") -> bytes:
    session = ClaudeSession(case.claude, session_id=SESSIONS[0][0])
    record = session.assistant(f"{day}T18:00:00Z", message_id, output_tokens=output)
    return json.dumps(record).encode() + b"\n"


@dataclass(frozen=True)
class Kind:
    name: str
    bad: Callable[[Case], None]
    code: int = 0
    message: str = ""  # on stderr
    good: Callable[[Case, Path], None] | None = None  # countable data, written to both trees
    extra_requests: int = 0
    extra_output: int = 0
    counted_bad_lines: int = 0  # shown in status as skipped lines
    gap: str = ""  # a line `status` shows for what was not counted (item 5)
    env: dict[str, str] = field(default_factory=dict)
    ingests: bool = True  # False: the scan refuses to start and stores nothing
    after: Callable[[Case], None] | None = None  # a follow-up once the fault is gone


# -- bad input inside session files ----------------------------------------------------------


def malformed_json(case: Case) -> None:
    case.append(case.session(0), b'{"type": "assistant", "message": {oops\n')


def binary_garbage(case: Case) -> None:
    case.append(case.session(0), bytes(range(256)) * 16 + b"\n")


def non_utf8_line(case: Case) -> None:
    case.append(case.session(1), b'{"type": "user", "text": "caf\xe9"}\n')


def huge_line(case: Case) -> None:
    case.append(case.session(2), b'{"junk": "' + b"x" * 300_000 + b'"}\n')


def huge_valid_line(case: Case, tree: Path) -> None:
    session = case.extra_session(tree, "huge")
    session.write(
        session.assistant(
            "2026-11-02T20:00:00Z",
            "msg_huge",
            output_tokens=555,
            content=[{"type": "text", "text": "y" * 300_000}],
        )
    )


def nul_bytes(case: Case) -> None:
    case.append(case.session(0), b'{"type": "user"\x00\x00, "x": 1}\n')


def deep_nesting(case: Case) -> None:
    case.append(case.session(0), b"[" * 100_000 + b"]" * 100_000 + b"\n")


def not_objects(case: Case) -> None:
    case.append(case.session(1), b'[1, 2]\n"text"\nnull\n42\n')


def wrong_types(case: Case) -> None:
    line = assistant_line(case, 77, "msg_wrong_types")
    record = json.loads(line)
    record["message"]["usage"] = ["not", "a", "dict"]
    other = dict(record, message="a string")
    case.append(case.session(0), (json.dumps(record) + "\n" + json.dumps(other) + "\n").encode())


def string_tokens(case: Case) -> None:
    record = json.loads(assistant_line(case, 5, "msg_string_tokens"))
    record["message"]["usage"]["output_tokens"] = "5"
    case.append(case.session(0), (json.dumps(record) + "\n").encode())


def huge_tokens(case: Case) -> None:
    record = json.loads(assistant_line(case, 5, "msg_2_63"))
    record["message"]["usage"]["output_tokens"] = 2**63
    case.append(case.session(0), (json.dumps(record) + "\n").encode())


def two_large_tokens(case: Case) -> None:
    for index in range(2):
        record = json.loads(assistant_line(case, 5, f"msg_2_62_{index}"))
        record["message"]["usage"]["output_tokens"] = 2**62
        case.append(case.session(0), (json.dumps(record) + "\n").encode())


def negative_tokens(case: Case) -> None:
    record = json.loads(assistant_line(case, 5, "msg_negative"))
    record["message"]["usage"]["output_tokens"] = -500
    case.append(case.session(0), (json.dumps(record) + "\n").encode())


def bad_timestamp(case: Case) -> None:
    record = json.loads(assistant_line(case, 5, "msg_bad_ts"))
    record["timestamp"] = "not-a-date"
    case.append(case.session(0), (json.dumps(record) + "\n").encode())


def unfinished_line(case: Case) -> None:
    case.append(case.session(2), assistant_line(case, 999, "msg_partial")[:-40])  # no newline


def duplicate_lines(case: Case) -> None:
    lines = case.session(1).read_bytes().splitlines(keepends=True)
    case.append(case.session(1), lines[0] * 3)


def crlf_and_blank_lines(case: Case, tree: Path) -> None:
    session = case.extra_session(tree, "crlf")
    session.path.parent.mkdir(parents=True, exist_ok=True)
    record = session.assistant("2026-11-01T21:00:00Z", "msg_crlf", output_tokens=33)
    session.path.write_bytes(b"\r\n\n   \n" + json.dumps(record).encode() + b"\r\n\n")


# -- files and folders -----------------------------------------------------------------------


def truncated_after_ingest(case: Case) -> None:
    case.prescan()
    lines = case.session(2).read_bytes().splitlines(keepends=True)
    case.session(2).write_bytes(b"".join(lines[:2]))


def replaced_after_ingest(case: Case) -> None:
    case.prescan()
    path = case.session(1)
    content = path.read_bytes()
    path.unlink()
    path.write_bytes(content)  # another inode, same bytes: read again, counted once


def rewritten_with_new_line(case: Case, tree: Path) -> None:
    path = tree / "claude" / "projects" / "-home-dev-shop" / f"{SESSIONS[1][0]}.jsonl"
    session = ClaudeSession(tree / "claude", session_id=SESSIONS[1][0])
    line = json.dumps(session.assistant("2026-11-01T22:00:00Z", "msg_new", output_tokens=44))
    if tree == case.root:
        case.prescan()
        replacement = path.with_suffix(".tmp")
        replacement.write_bytes(path.read_bytes() + line.encode() + b"\n")
        replacement.replace(path)  # an editor-style atomic replace
    else:
        case.append(path, line.encode() + b"\n")


def deleted_after_ingest(case: Case) -> None:
    case.prescan()
    case.session(0).unlink()


def empty_and_odd_files(case: Case) -> None:
    project = case.claude / "projects" / "-home-dev-shop"
    (project / "empty.jsonl").write_bytes(b"")
    (project / "folder.jsonl").mkdir()
    os.mkfifo(project / "pipe.jsonl")  # a scan must never block on it
    (project / "dangling.jsonl").symlink_to(project / "nowhere.jsonl")


def symlink_loop(case: Case) -> None:
    project = case.claude / "projects" / "-home-dev-shop"
    (project / "loop").symlink_to(project, target_is_directory=True)
    (case.claude / "projects" / "self").symlink_to(case.claude / "projects")


def unreadable_file(case: Case) -> None:
    session = case.extra_session(case.root, "lock")
    session.write(session.assistant("2026-11-01T23:00:00Z", "msg_unreadable", output_tokens=9))
    session.path.chmod(0)


def unreadable_project(case: Case) -> None:
    session = ClaudeSession(case.claude, cwd="/home/dev/secret")
    session.write(session.assistant("2026-11-01T23:30:00Z", "msg_secret", output_tokens=9))
    session.path.parent.chmod(0)


def non_utf8_file_name(case: Case, tree: Path) -> None:
    session = case.extra_session(tree, "name")
    session.write(session.assistant("2026-11-01T23:40:00Z", "msg_latin1", output_tokens=12))
    session.path.rename(session.path.with_name(os.fsdecode(b"caf\xe9-") + session.path.name))


# -- Copilot's trace database ----------------------------------------------------------------


def chat_span(db: GEN.TraceDb, span_id: str, end: int, output: int, input_tokens: int) -> None:
    db.span(
        span_id=span_id,
        trace_id="t1",
        name="chat gpt-4o",
        start_time_ms=end - 100,
        end_time_ms=end,
        operation_name="chat",
        response_model="gpt-4o",
        input_tokens=input_tokens,
        output_tokens=output,
        cached_tokens=0,
        chat_session_id="copilot-session-1",
    )


def trace_spans(case: Case, tree: Path) -> GEN.TraceDb:
    user = tree / "user-home" / ".config" / "Code" / "User"
    db = GEN.TraceDb(user / TRACES)
    for span_id, end, output in TRACE_SPANS:
        chat_span(db, span_id, end, output, input_tokens=100)
    return db


_HELD: list[Any] = []


def trace_db_locked_by_writer(case: Case, tree: Path) -> None:
    db = trace_spans(case, tree)
    if tree == case.root:
        db.conn.execute("BEGIN IMMEDIATE")  # VS Code mid-write: held during the scan
        db.conn.execute(
            "INSERT INTO spans (span_id, trace_id, name, start_time_ms, end_time_ms) "
            "VALUES ('uncommitted', 't', 'chat x', 1, 2)"
        )
        _HELD.append(db)
    else:
        db.close()


def corrupt_trace_db(case: Case) -> None:
    path = case.user / TRACES
    path.parent.mkdir(parents=True)
    path.write_bytes(b"SQLite format 3\x00" + b"\xde\xad" * 4000)


def trace_db_without_spans_table(case: Case) -> None:
    path = case.user / TRACES
    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE something_else (x)")
    conn.close()


def trace_db_with_a_bad_row(case: Case) -> None:
    db = trace_spans(case, case.root)
    chat_span(db, "span-bad", 1_793_700_100_100, output=1, input_tokens=2**63 - 1)
    db.close()


def good_trace_spans(case: Case, tree: Path) -> None:
    if tree != case.root:
        trace_spans(case, tree).close()


# -- configuration, state folder, store ------------------------------------------------------


def config_typo(case: Case) -> None:
    case.home.mkdir(parents=True, exist_ok=True)
    (case.home / "config.toml").write_text("wokers = 2\n")


def config_not_utf8(case: Case) -> None:
    case.home.mkdir(parents=True, exist_ok=True)
    (case.home / "config.toml").write_bytes(b"# \xff\xfe\n")


def config_bad_value(case: Case) -> None:
    case.env["AGENTTAIL_MAX_BATCH_RECORDS"] = "lots"


def home_is_a_file(case: Case) -> None:
    case.home.parent.mkdir(parents=True, exist_ok=True)
    case.home.write_text("")


def home_not_writable(case: Case) -> None:
    case.home.mkdir(parents=True)
    case.home.chmod(0o500)


def store_read_only(case: Case) -> None:
    case.prescan()
    (case.home / "agenttail.db").chmod(0o444)


def store_empty(case: Case) -> None:
    case.home.mkdir(parents=True)
    (case.home / "agenttail.db").write_bytes(b"")


def store_corrupt(case: Case) -> None:
    case.prescan()
    database = case.home / "agenttail.db"
    data = bytearray(database.read_bytes())
    data[:100] = b"garbage!" * 12 + b"gabi"
    database.write_bytes(bytes(data))


def store_in_a_file_folder(case: Case) -> None:
    case.home.mkdir(parents=True)
    (case.home / "log").write_text("a file where the log folder goes")


def then_scan_again(case: Case) -> None:
    for path in (case.home, case.home / "agenttail.db"):
        if path.exists() and not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)
    ingest(case.home, case.root)


KINDS = (
    Kind("malformed JSON line", malformed_json, counted_bad_lines=1),
    Kind("binary garbage", binary_garbage, counted_bad_lines=17),  # 16 newlines inside it
    Kind("non-UTF-8 line", non_utf8_line, counted_bad_lines=1),
    Kind(
        "line longer than max_line_bytes",
        huge_line,
        env={"AGENTTAIL_MAX_LINE_BYTES": "65536"},
        counted_bad_lines=1,
    ),
    Kind(
        "overlong usage line is salvaged",
        lambda case: None,
        good=huge_valid_line,
        env={"AGENTTAIL_MAX_LINE_BYTES": "65536"},
        extra_requests=1,
        extra_output=555,
        counted_bad_lines=1,  # counted as oversized, and its usage still counted
    ),
    Kind("NUL bytes in a line", nul_bytes, counted_bad_lines=1),
    Kind("JSON nested 100,000 deep", deep_nesting, counted_bad_lines=1),
    Kind("JSON lines that are not objects", not_objects, counted_bad_lines=4),
    Kind("fields of the wrong type", wrong_types),
    Kind("token count as a string", string_tokens),
    Kind(
        "token count of 2^63",
        huge_tokens,
        gap="skipped 1 invalid records",
    ),
    Kind(
        "two token counts of 2^62",
        two_large_tokens,
        gap="skipped 2 invalid records",
    ),
    Kind("negative token count", negative_tokens),
    Kind("unparseable timestamp", bad_timestamp),
    Kind("unfinished last line (no newline yet)", unfinished_line),
    Kind("duplicated lines", duplicate_lines),
    Kind(
        "CRLF and blank lines",
        lambda case: None,
        good=crlf_and_blank_lines,
        extra_requests=1,
        extra_output=33,
    ),
    Kind("file truncated after ingest", truncated_after_ingest),
    Kind("file replaced by a copy (new inode)", replaced_after_ingest),
    Kind(
        "file atomically rewritten with a new line",
        lambda case: None,
        good=rewritten_with_new_line,
        extra_requests=1,
        extra_output=44,
    ),
    Kind("file deleted after ingest", deleted_after_ingest),
    Kind("empty file, folder, FIFO and dangling symlink named .jsonl", empty_and_odd_files),
    Kind("symlink loops", symlink_loop),
    Kind(
        "unreadable session file",
        unreadable_file,
        code=1,
        message="1 streams failed in this scan",
    ),
    Kind("unreadable project folder", unreadable_project, gap="cannot read folder"),
    Kind(
        "file name that is not UTF-8",
        lambda case: None,
        good=non_utf8_file_name,
        extra_requests=1,
        extra_output=12,
    ),
    Kind(
        "trace database locked by its writer",
        lambda case: None,
        good=trace_db_locked_by_writer,
        extra_requests=3,
        extra_output=50 + 51 + 52,
    ),
    Kind(
        "corrupt trace database",
        corrupt_trace_db,
        code=1,
        message="1 streams failed in this scan",
    ),
    Kind(
        "trace database without a spans table",
        trace_db_without_spans_table,
        gap="no spans table",
    ),
    Kind(
        "trace database with one out-of-range row",
        trace_db_with_a_bad_row,
        good=good_trace_spans,
        extra_requests=3,
        extra_output=50 + 51 + 52,
        gap="skipped 1 invalid records",
    ),
    Kind(
        "config key typo",
        config_typo,
        code=78,
        message="unknown key 'wokers'",
        ingests=False,
    ),
    Kind("config not UTF-8", config_not_utf8, code=78, message="not UTF-8", ingests=False),
    Kind(
        "config value of the wrong type (environment)",
        config_bad_value,
        code=78,
        message="AGENTTAIL_MAX_BATCH_RECORDS",
        ingests=False,
    ),
    Kind(
        "AGENTTAIL_HOME is a file",
        home_is_a_file,
        code=73,
        message="is a file, not a folder",
        ingests=False,
    ),
    Kind(
        "AGENTTAIL_HOME not writable",
        home_not_writable,
        code=73,
        message="is not writable",
        ingests=False,
        after=then_scan_again,
    ),
    Kind(
        "log folder is a file",
        store_in_a_file_folder,
        code=73,
        message="is a file, not a folder",
        ingests=False,
    ),
    Kind(
        "read-only store",
        store_read_only,
        code=73,
        message="is read-only",
        ingests=False,
        after=then_scan_again,
    ),
    Kind("empty (0-byte) store", store_empty),
    Kind("corrupt store", store_corrupt),
)


def full_disk_scan(env: dict[str, str], pages: int) -> subprocess.CompletedProcess[str]:
    """``agenttail scan`` whose store cannot grow past ``pages``: SQLite's own "database or
    disk is full" (SQLITE_FULL, what a full disk gives it), injected with ``max_page_count``."""
    code = (
        "import sqlite3\n"
        "real = sqlite3.connect\n"
        "def connect(*args, **kwargs):\n"
        "    conn = real(*args, **kwargs)\n"
        "    if str(args[0]).endswith('agenttail.db'):\n"
        f"        conn.execute('PRAGMA max_page_count = {pages}')\n"
        "    return conn\n"
        "sqlite3.connect = connect\n"
        "from agenttail.cli import main\n"
        "main(['scan'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )


@pytest.fixture
def case(tmp_path: Path, home: Path) -> Case:
    root = tmp_path
    write_base(root)
    clean = tmp_path / "clean"
    shutil.copytree(root / "claude", clean / "claude")
    return Case(root=root, clean=clean, home=home, env=dict(os.environ))


def expected_clean(case: Case, kind: Kind) -> dict[str, Any]:
    if kind.good is not None:
        kind.good(case, case.clean)
    clean_home = case.root / "clean-home"
    ingest(clean_home, case.clean)
    report = daily(clean_home)
    # The test's own arithmetic on the corpus it wrote.
    assert report["totals"]["requests"] == BASE_REQUESTS + kind.extra_requests
    assert report["totals"]["output_tokens"] == BASE_OUTPUT + kind.extra_output
    assert isinstance(report["totals"]["output_tokens"], int)
    return report


@pytest.mark.parametrize("kind", [pytest.param(k, id=k.name) for k in KINDS])
def test_bad_input(case: Case, kind: Kind) -> None:
    if kind.good is not None:
        kind.good(case, case.root)
    kind.bad(case)
    env = {**case.env, **kind.env}
    try:
        done = run_agenttail(env, "scan", as_user=True)
    finally:
        for db in _HELD:
            db.conn.execute("ROLLBACK")
            db.close()
        _HELD.clear()
    assert done.returncode == kind.code, done.stderr
    assert kind.message in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    if kind.code:
        assert len([line for line in done.stderr.splitlines() if "agenttail:" in line]) == 1
    if kind.after is not None:
        kind.after(case)
    elif not kind.ingests:
        assert not (case.home / "agenttail.db").exists()
        return
    expected = expected_clean(case, kind)
    assert daily(case.home) == expected
    status = status_of(case.home)
    assert status["bad_lines_total"] == kind.counted_bad_lines
    if kind.gap:
        assert any(kind.gap in line for line in gap_lines(status["gaps"])), status["gaps"]


def test_full_disk_fails_the_scan_then_catches_up_exactly_once(case: Case) -> None:
    ingest(case.home, case.root / "nothing-yet")  # an empty store: every page is needed later
    with sqlite3.connect(case.home / "agenttail.db") as conn:
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    done = full_disk_scan(case.env, pages)
    assert done.returncode == 74, done.stderr
    assert "the disk is full" in done.stderr
    assert "Traceback" not in done.stderr
    ingest(case.home, case.root)  # space is back
    assert daily(case.home) == expected_clean(case, Kind("full disk", lambda case: None))


def test_concurrent_scans_count_everything_once(case: Case) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "agenttail", "scan"],
            env=case.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
    assert daily(case.home) == expected_clean(case, Kind("concurrent", lambda case: None))


def test_the_suite_covers_at_least_thirty_kinds() -> None:
    assert len(KINDS) + 2 >= 30  # with the full disk and the concurrent scans
