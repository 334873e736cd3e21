"""Expected failures reach a user as one clear line and a documented exit code (issue 8,
items 8, 9, 10, 14, 15), driven through the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from agenttail.cli import main
from tests.helpers import ClaudeSession, run_agenttail

EX_CANTCREAT, EX_CONFIG = 73, 78


def env() -> dict[str, str]:
    return dict(os.environ)


def seed(claude_dir: Path, output_tokens: int = 100) -> ClaudeSession:
    session = ClaudeSession(claude_dir)
    session.write(session.assistant("2026-11-05T10:00:00Z", "msg_1", output_tokens=output_tokens))
    return session


def no_traceback(done: Any) -> None:
    assert "Traceback" not in done.stderr + done.stdout


def report_requests(extra: dict[str, str] | None = None) -> int:
    done = run_agenttail({**env(), **(extra or {})}, "report", "daily", "--json", "-z", "UTC")
    assert done.returncode == 0, done.stderr
    return int(json.loads(done.stdout)["totals"]["requests"])


def test_state_folder_that_is_a_file(tmp_path: Path, claude_dir: Path) -> None:
    seed(claude_dir)
    home = tmp_path / "not-a-folder"
    home.write_text("oops")
    for args in (["scan"], ["report", "daily"], ["status"]):
        done = run_agenttail({**env(), "AGENTTAIL_HOME": str(home)}, *args)
        assert done.returncode == EX_CANTCREAT, (args, done.stderr)
        assert f"state folder {home} is a file" in done.stderr
        assert "AGENTTAIL_HOME" in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1
        no_traceback(done)


def test_state_folder_not_writable(home: Path, claude_dir: Path) -> None:
    seed(claude_dir)
    home.mkdir(parents=True)
    home.chmod(0o500)
    try:
        done = run_agenttail(env(), "scan", as_user=True)
    finally:
        home.chmod(0o700)
    assert done.returncode == EX_CANTCREAT, done.stderr
    assert f"state folder {home} is not writable" in done.stderr
    no_traceback(done)


def test_read_only_store_is_refused_and_still_readable(home: Path, claude_dir: Path) -> None:
    session = seed(claude_dir)
    assert run_agenttail(env(), "scan").returncode == 0
    database = home / "agenttail.db"
    database.chmod(0o444)
    session.write(session.assistant("2026-11-05T11:00:00Z", "msg_2"))
    try:
        done = run_agenttail(env(), "scan", as_user=True)
        assert done.returncode == EX_CANTCREAT, done.stderr
        assert f"the state database {database} is read-only" in done.stderr
        assert f"chmod u+w {database}" in done.stderr
        no_traceback(done)
        reading = run_agenttail(env(), "report", "daily", "--json", as_user=True)
        assert reading.returncode == 0, reading.stderr
        assert json.loads(reading.stdout)["totals"]["requests"] == 1
    finally:
        database.chmod(0o644)
    assert run_agenttail(env(), "scan").returncode == 0
    assert report_requests() == 2


def test_empty_store_is_damaged_then_rebuilt(home: Path, claude_dir: Path) -> None:
    seed(claude_dir)
    home.mkdir(parents=True)
    (home / "agenttail.db").write_bytes(b"")
    for args in (["report", "daily"], ["status"]):
        done = run_agenttail(env(), *args)
        assert done.returncode == 1, done.stderr
        assert "is empty (0 bytes): it is damaged" in done.stderr
        assert "agenttail scan" in done.stderr
        no_traceback(done)
    assert run_agenttail(env(), "scan").returncode == 0
    assert report_requests() == 1


def test_config_that_is_not_utf8(home: Path, claude_dir: Path) -> None:
    seed(claude_dir)
    home.mkdir(parents=True)
    (home / "config.toml").write_bytes(b"# caf\xe9\nworkers = 2\n")
    done = run_agenttail(env(), "run")
    assert done.returncode == EX_CONFIG
    assert f"{home / 'config.toml'} is not UTF-8 text" in done.stderr
    assert "save it as UTF-8" in done.stderr
    no_traceback(done)
    reading = run_agenttail(env(), "status")
    assert reading.returncode == 0
    assert "warning" in reading.stderr and "not UTF-8" in reading.stderr


@pytest.mark.parametrize("url", ["https://[::1/x", "https://host:99999/x", "ftp://host/x"])
def test_malformed_upload_url(url: str) -> None:
    done = run_agenttail({**env(), "AGENTTAIL_UPLOAD_URL": url}, "upload")
    assert done.returncode == EX_CONFIG, done.stderr
    assert "upload.url" in done.stderr and url in done.stderr
    assert "https://host[:port]/path" in done.stderr
    no_traceback(done)
    as_json = run_agenttail({**env(), "AGENTTAIL_UPLOAD_URL": url}, "upload", "--json")
    error = json.loads(as_json.stdout)["error"]
    assert (error["key"], error["exit_code"], as_json.returncode) == ("upload.url", 78, 78)


def test_a_config_typo_locks_nobody_out(home: Path, claude_dir: Path) -> None:
    seed(claude_dir, output_tokens=7)
    assert run_agenttail(env(), "scan").returncode == 0
    (home / "config.toml").write_text("wokers = 4\nworkers = 0\n")
    for args in (
        ["report", "daily", "--json", "-z", "UTC"],
        ["status", "--json"],
        ["doctor", "--json"],
        ["config", "show", "--json"],
    ):
        done = run_agenttail(env(), *args)
        assert done.returncode == 0, (args, done.stderr)
        json.loads(done.stdout)  # warnings never spoil the JSON on stdout
        assert "unknown key 'wokers'" in done.stderr and "did you mean 'workers'?" in done.stderr
        assert "invalid value for workers" in done.stderr
        no_traceback(done)
    report = json.loads(run_agenttail(env(), "report", "daily", "--json").stdout)
    assert report["totals"]["output_tokens"] == 7
    shown = json.loads(run_agenttail(env(), "config", "show", "--json").stdout)
    workers = next(row for row in shown["settings"] if row["key"] == "workers")
    assert (workers["value"], workers["source"]) == (2, "default")
    assert {p["key"] for p in shown["problems"]} == {"wokers", "workers"}
    done = run_agenttail(env(), "run")
    assert done.returncode == EX_CONFIG
    assert "unknown key 'wokers'" in done.stderr
    no_traceback(done)


def test_scan_with_failed_streams_exits_non_zero_and_logs_them(
    home: Path, claude_dir: Path
) -> None:
    seed(claude_dir)
    unreadable = ClaudeSession(claude_dir)
    unreadable.write(unreadable.assistant("2026-11-05T12:00:00Z", "msg_x"))
    unreadable.path.chmod(0)
    try:
        done = run_agenttail(env(), "scan", as_user=True)
    finally:
        unreadable.path.chmod(0o644)
    assert done.returncode == 1, done.stderr
    assert "1 streams failed in this scan" in done.stderr
    assert "agenttail status --streams" in done.stderr
    assert str(home / "log" / "agenttail.log") in done.stderr
    no_traceback(done)
    log = (home / "log" / "agenttail.log").read_text()
    logged = [json.loads(line) for line in log.splitlines()]
    failures = [line for line in logged if line["event"] == "stream_failed"]
    assert [line["path"] for line in failures] == [str(unreadable.path)]
    # Fixed: the next scan retries at once (no back-off wait for a user-run scan) and exits 0.
    done = run_agenttail(env(), "scan")
    assert done.returncode == 0, done.stderr
    assert report_requests() == 2


def test_upload_url_in_the_config_file_needs_no_import_order(home: Path) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text('[upload]\nurl = "https://metrics.example.com/v1"\n')
    done = run_agenttail(env(), "report", "daily", "--json")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    shown = json.loads(run_agenttail(env(), "config", "show", "--json").stdout)
    row = next(row for row in shown["settings"] if row["key"] == "upload.url")
    assert row["value"] == "https://metrics.example.com/v1"
    assert row["source"] == str(home / "config.toml")
    assert row["help"]
    text = run_agenttail(env(), "config", "show").stdout
    assert "where batches go" in text  # the help text, from the one schema


def test_doctor_and_upload_agree_on_a_refused_url() -> None:
    url = "http://metrics.example.com/v1"  # plain http to a non-loopback host
    environ = {**env(), "AGENTTAIL_UPLOAD_URL": url}
    upload = run_agenttail(environ, "upload")
    assert upload.returncode == EX_CONFIG
    assert "unencrypted" in upload.stderr
    doctor = json.loads(run_agenttail(environ, "doctor", "--json").stdout)["upload"]
    assert doctor["reachable"] is None  # never probed
    assert "unencrypted" in doctor["refused"]
    allowed = {**environ, "AGENTTAIL_UPLOAD_ALLOW_INSECURE_HTTP": "true"}
    assert "refused" not in json.loads(run_agenttail(allowed, "doctor", "--json").stdout)["upload"]


def test_upload_json_without_a_url_is_json() -> None:
    done = run_agenttail(env(), "upload", "--json")
    assert done.returncode == 0
    assert json.loads(done.stdout)["configured"] is False


def json_commands(group: click.Group = main, prefix: tuple[str, ...] = ()) -> list[list[str]]:
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        if isinstance(command, click.Group):
            found += json_commands(command, (*prefix, name))
        elif any("--json" in p.opts for p in command.params if isinstance(p, click.Option)):
            found.append([*prefix, name])
    return found


def test_every_json_command_prints_json_even_when_it_fails(tmp_path: Path) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("")
    commands = json_commands()
    assert ["report", "daily"] in commands and ["upload"] in commands and ["logs"] in commands
    failures = 0
    for args in commands:
        if args == ["logs"]:
            args = ["logs", "-n", "1"]
        done = run_agenttail({**env(), "AGENTTAIL_HOME": str(home)}, *args, "--json")
        data = json.loads(done.stdout)  # JSON in every case
        if done.returncode != 0:
            failures += 1
            assert data["error"]["exit_code"] == done.returncode, args
            assert data["error"]["message"], args
    assert failures >= 3  # scan, status, report... refuse a state folder that is a file
    usage = run_agenttail(env(), "report", "daily", "--json", "--since", "yesterday")
    assert usage.returncode == 2
    assert "YYYYMMDD" in json.loads(usage.stdout)["error"]["message"]


def test_an_internal_error_is_logged_with_its_traceback_and_summarized(home: Path) -> None:
    import subprocess
    import sys

    code = (
        "import agenttail.status as s\n"
        "def boom(*a, **k):\n"
        "    raise KeyError('surprise')\n"
        "s.status_data = boom\n"
        "from agenttail.cli import main\n"
        "main(['status'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env(), capture_output=True, text=True, check=False
    )
    assert done.returncode == 70
    assert "internal error in `agenttail status`: KeyError: 'surprise'" in done.stderr
    assert "Traceback" not in done.stderr
    log = (home / "log" / "agenttail.log").read_text()
    entry = json.loads(log.splitlines()[-1])
    assert entry["event"] == "internal_error"
    assert "surprise" in json.dumps(entry["exception"])


def test_exit_codes_are_documented() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for code in (0, 1, 2, 70, 73, 74, 75, 78):
        assert f"| {code} |" in readme, code


def test_a_file_name_that_is_not_utf8_is_read(claude_dir: Path) -> None:
    session = seed(claude_dir, output_tokens=42)
    # Latin-1 "café-" as a Linux file system keeps it: bytes that are not UTF-8.
    session.path.rename(session.path.with_name(os.fsdecode(b"caf\xe9-") + session.path.name))
    done = run_agenttail(env(), "scan")
    assert done.returncode == 0, done.stderr
    no_traceback(done)
    report = json.loads(run_agenttail(env(), "report", "daily", "--json").stdout)
    assert report["totals"]["output_tokens"] == 42
    (stream,) = json.loads(run_agenttail(env(), "status", "--json").stdout)["streams"]
    assert "caf\\xe9-" in stream["path"] and stream["error_count"] == 0
    again = run_agenttail(env(), "scan", "--json")
    assert json.loads(again.stdout)["processed"] == 0  # known by the same key: not re-read


def interrupted_while_importing(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``agenttail ARGS`` run as the console script does, with Ctrl-C landing while ``module``
    loads (a finder that raises KeyboardInterrupt there, as the signal would)."""
    program = (
        "import sys\n"
        "class CtrlC:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        f"sys.argv = ['agenttail', *{list(args)!r}]\n"
        "from agenttail.entry import main\n"
        "main()\n"
    )
    return subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )


def test_ctrl_c_while_the_cli_loads_exits_130_without_a_traceback() -> None:
    done = interrupted_while_importing("agenttail.cli", "report", "daily")
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")


def test_ctrl_c_while_a_command_starts_exits_130_without_a_message() -> None:
    """Not click's "Aborted!" and 1: here the command's own module is loading."""
    done = interrupted_while_importing("agenttail.top", "top")
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")
