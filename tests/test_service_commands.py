"""config show, doctor and logs as a user runs them."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from agenttail.cli import main
from agenttail.config import load_config
from agenttail.daemon.lifecycle import InstanceLock, write_runtime_state
from agenttail.paths import AppPaths
from agenttail.service_cli import upload_check
from tests.helpers import ClaudeSession


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(
        result.exception
    )
    return result.exit_code, result.output


def test_config_show_names_the_source_of_each_value(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text("workers = 3\n")
    monkeypatch.setenv("AGENTTAIL_LOG_LEVEL", "debug")
    code, output = invoke("config", "show", "--json")
    assert code == 0, output
    rows = {row["key"]: row for row in orjson.loads(output)["settings"]}
    assert rows["workers"]["value"] == 3
    assert rows["workers"]["source"] == str(home / "config.toml")
    assert rows["log_level"] == {
        "key": "log_level",
        "value": "debug",
        "default": "info",
        "source": "env AGENTTAIL_LOG_LEVEL",
        "env": "AGENTTAIL_LOG_LEVEL",
        "help": "log level",
    }
    assert rows["sweep_interval_seconds"]["source"] == "default"
    # keys other modules register (upload) are listed too, secrets masked
    monkeypatch.setenv("AGENTTAIL_UPLOAD_TOKEN", "tok-canary")
    code, output = invoke("config", "show", "--json")
    rows = {row["key"]: row for row in orjson.loads(output)["settings"]}
    assert rows["upload.url"]["source"] == "default"
    assert rows["upload.token"]["source"] == "env AGENTTAIL_UPLOAD_TOKEN"
    assert "tok-canary" not in output


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        ("workers = 0\n", {}, "workers"),
        ('log_level = "loud"\n', {}, "log_level"),
        ("[sweep\n", {}, "not valid TOML"),
        ("colour = 1\n", {}, "'colour'"),
        ("", {"AGENTTAIL_SWEEP_INTERVAL_SECONDS": "soon"}, "AGENTTAIL_SWEEP_INTERVAL_SECONDS"),
    ],
)
def test_invalid_config_is_a_clear_error_naming_the_key(
    home: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str], named: str
) -> None:
    home.mkdir(parents=True)
    (home / "config.toml").write_text(toml)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # Reading commands warn and use the defaults; installing a service that would not start
    # is refused.
    for command, code in (
        (["config", "show"], 0),
        (["doctor"], 0),
        (["service", "install", "--dry-run"], 78),
    ):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == code, (command, result.output)
        assert named in result.output
        assert "configuration error" in result.output
        assert "Traceback" not in result.output


def test_doctor_reports_agents_daemon_and_upload(home: Path, claude_dir: Path) -> None:
    session = ClaudeSession(claude_dir)
    session.write(session.assistant("2026-11-20T10:00:00.000Z", "msg_1"))
    code, output = invoke("doctor", "--json")
    assert code == 0, output
    data = orjson.loads(output)
    claude = next(a for a in data["agents"] if a["name"] == "claude_code")
    assert claude["streams"] == 1
    assert claude["roots"] == [{"path": str(claude_dir / "projects"), "exists": True}]
    assert data["daemon"] == {"running": False, "pid": None, "runtime": None, "watches": []}
    assert data["upload"]["summary"] == "upload: not configured"

    paths = AppPaths.resolve().ensure()
    projects = claude_dir / "projects"
    replaced = claude_dir / "replaced"
    replaced.mkdir()
    armed = projects.stat()
    with InstanceLock(paths.lock_file):
        write_runtime_state(
            paths.state_dir / "daemon.json",
            {
                "observer": "InotifyObserver",
                "polling": False,
                "watched": [str(projects), str(replaced)],
                "watches": [
                    {"path": str(projects), "live": True, "dev": armed.st_dev, "ino": armed.st_ino},
                    # armed on a folder that has since been replaced by another one
                    {"path": str(replaced), "live": True, "dev": armed.st_dev, "ino": -1},
                ],
            },
        )
        code, output = invoke("doctor")
    assert code == 0, output
    assert "daemon:   running, pid" in output
    assert f"watching: {projects}" in output
    assert f"lost: folder replaced, re-arming: {replaced}" in output
    assert "upload: not configured" in output


class _Ok(BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def http_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1/events"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_upload_reachability(monkeypatch: pytest.MonkeyPatch, http_url: str) -> None:
    monkeypatch.setenv("AGENTTAIL_UPLOAD_URL", http_url)
    assert upload_check(load_config())["summary"] == f"upload: {http_url} reachable (HTTP 204)"
    monkeypatch.setenv("AGENTTAIL_UPLOAD_URL", "http://127.0.0.1:9/")
    result = upload_check(load_config())
    assert result["reachable"] is False
    assert "unreachable" in result["summary"]


def test_logs_prints_the_last_lines_readably(home: Path) -> None:
    log = home / "log" / "agenttail.log"
    log.parent.mkdir(parents=True)
    lines = [
        orjson.dumps({"event": f"e{i}", "level": "info", "timestamp": f"t{i}", "n": i}).decode()
        for i in range(5)
    ]
    log.write_text("\n".join(lines) + "\n")
    code, output = invoke("logs", "-n", "2")
    assert code == 0
    assert output.splitlines() == ["t3 INFO    e3 n=3", "t4 INFO    e4 n=4"]
    code, output = invoke("logs", "-n", "1", "--json")
    assert output.strip() == lines[-1]


def test_logs_without_a_log_says_so(home: Path) -> None:
    code, output = invoke("logs")
    assert code == 1
    assert "no log yet" in output
