"""Service units: what is written and exactly which systemctl/launchctl calls are made."""

from __future__ import annotations

import os
import plistlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner

from agenttail.agents.registry import agent_classes
from agenttail.cli import main
from agenttail.service import base as service_base
from agenttail.service.base import CommandResult, ServiceError, ServiceSpec, service_env_names
from agenttail.service.launchd import LABEL, LaunchdBackend
from agenttail.service.systemd import SystemdBackend, quote_arg
from tests.helpers import agenttail_cli


class Recorder:
    """The command seam: records calls, answers with canned results."""

    def __init__(self, failing: dict[str, tuple[int, str]] | None = None) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.failing = failing or {}

    def __call__(self, args: Sequence[str]) -> CommandResult:
        self.calls.append(tuple(args))
        for verb, (code, output) in self.failing.items():
            if verb in args:
                return CommandResult(tuple(args), code, output)
        return CommandResult(tuple(args), 0, "")


def spec(home: Path, extra: dict[str, str] | None = None) -> ServiceSpec:
    env = {"AGENTTAIL_HOME": str(home), "CLAUDE_CONFIG_DIR": "/srv/my claude", **(extra or {})}
    return ServiceSpec.current(env)


def test_spec_uses_the_installing_interpreter_unresolved(home: Path) -> None:
    result = spec(home)
    assert result.program == (sys.executable, "-m", "agenttail", "run")
    assert result.environment["AGENTTAIL_HOME"] == str(home)
    assert result.paths.database == home / "agenttail.db"


def test_systemd_unit_contents(home: Path, tmp_path: Path) -> None:
    unit = SystemdBackend(spec(home), Recorder(), tmp_path / "units", booted=True).render()
    lines = unit.splitlines()
    for expected in (
        "Type=notify",
        "Restart=on-failure",
        "RestartSec=5",
        "RestartPreventExitStatus=78",
        "WatchdogSec=60",
        "TimeoutStopSec=20",
        "NoNewPrivileges=yes",
        "MemoryMax=512M",
        "WantedBy=default.target",
        f'Environment="AGENTTAIL_HOME={home}"',
        'Environment="CLAUDE_CONFIG_DIR=/srv/my claude"',
        f"ExecStart={quote_arg(sys.executable)} -m agenttail run",
    ):
        assert expected in lines, expected
    assert f"#   database: {home / 'agenttail.db'}" in lines


def test_exec_start_quoting() -> None:
    assert quote_arg("/usr/bin/python3") == "/usr/bin/python3"
    assert quote_arg("/Users/a b/py") == '"/Users/a b/py"'
    assert quote_arg("/opt/50%/py") == "/opt/50%%/py"
    assert quote_arg("/opt/$x/py") == '"/opt/$$x/py"'


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not found")
def test_systemd_analyze_verify_accepts_the_unit(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "units"
    backend = SystemdBackend(spec(home), Recorder(), folder, booted=True)
    folder.mkdir()
    backend.unit_file.write_text(backend.render())
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR") or str(runtime)}
    result = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(backend.unit_file)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "agenttail.service" in line  # other units of the host are not ours to judge
    ]
    assert result.returncode == 0 or not problems, result.stdout + result.stderr
    assert not problems, problems


def test_systemd_install_reinstall_uninstall_calls(home: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    backend = SystemdBackend(spec(home), recorder, tmp_path / "units", booted=True)
    outcome = backend.install()
    assert outcome.ok
    assert recorder.calls == [
        ("systemctl", "--user", "daemon-reload"),
        ("systemctl", "--user", "enable", "--now", "agenttail.service"),
    ]
    assert backend.unit_file.read_text() == backend.render()
    assert (
        any("loginctl enable-linger" in line for line in outcome.lines)
        or Path("/var/lib/systemd/linger").exists()
    )

    recorder.calls.clear()
    assert backend.install().ok  # unchanged: no restart, same file
    assert recorder.calls == [
        ("systemctl", "--user", "daemon-reload"),
        ("systemctl", "--user", "enable", "--now", "agenttail.service"),
    ]

    recorder.calls.clear()
    moved = SystemdBackend(spec(tmp_path / "elsewhere"), recorder, tmp_path / "units", booted=True)
    assert moved.install().ok  # changed unit: restart so the new one runs
    assert recorder.calls[-1] == ("systemctl", "--user", "restart", "agenttail.service")
    assert str(tmp_path / "elsewhere") in backend.unit_file.read_text()

    recorder.calls.clear()
    assert backend.uninstall().ok
    assert recorder.calls == [
        ("systemctl", "--user", "disable", "--now", "agenttail.service"),
        ("systemctl", "--user", "daemon-reload"),
    ]
    assert not backend.unit_file.exists()
    assert backend.uninstall().ok  # idempotent


def test_systemd_failure_is_reported_with_a_hint(home: Path, tmp_path: Path) -> None:
    recorder = Recorder({"daemon-reload": (1, "Failed to connect to bus: No medium found")})
    outcome = SystemdBackend(spec(home), recorder, tmp_path / "u", booted=True).install()
    assert not outcome.ok
    assert any("Failed to connect to bus" in line for line in outcome.lines)
    assert any("machinectl shell" in line for line in outcome.lines)


def test_systemd_refuses_without_systemd(home: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    backend = SystemdBackend(spec(home), recorder, tmp_path / "u", booted=False)
    with pytest.raises(ServiceError, match="agenttail run"):
        backend.install()
    assert recorder.calls == []
    assert not backend.unit_file.exists()


def test_launchd_plist_and_calls(home: Path, tmp_path: Path) -> None:
    recorder = Recorder()
    backend = LaunchdBackend(spec(home), recorder, home=tmp_path, uid=501, is_macos=True)
    assert backend.install().ok
    plist_path = tmp_path / "Library" / "LaunchAgents" / f"{LABEL}.plist"
    with open(plist_path, "rb") as handle:
        data = plistlib.load(handle)
    assert data["Label"] == LABEL
    assert data["ProgramArguments"] == [sys.executable, "-m", "agenttail", "run"]
    assert data["RunAtLoad"] is True
    assert data["KeepAlive"] == {"SuccessfulExit": False}
    assert data["ProcessType"] == "Background"
    assert data["ThrottleInterval"] >= 10
    assert data["EnvironmentVariables"]["AGENTTAIL_HOME"] == str(home)
    assert data["StandardErrorPath"] == str(home / "log" / "launchd.stderr.log")
    assert Path(data["StandardOutPath"]).parent.is_dir()  # launchd does not create it
    assert recorder.calls == [
        ("launchctl", "bootout", f"gui/501/{LABEL}"),
        ("launchctl", "enable", f"gui/501/{LABEL}"),
        ("launchctl", "bootstrap", "gui/501", str(plist_path)),
    ]
    recorder.calls.clear()
    assert backend.uninstall().ok
    assert recorder.calls == [("launchctl", "bootout", f"gui/501/{LABEL}")]
    assert not plist_path.exists()


def test_launchd_bootout_of_an_unloaded_agent_is_not_an_error(home: Path, tmp_path: Path) -> None:
    recorder = Recorder({"bootout": (3, "Boot-out failed: 3: No such process")})
    backend = LaunchdBackend(spec(home), recorder, home=tmp_path, uid=501, is_macos=True)
    assert backend.install().ok


def test_cli_dry_run_prints_and_writes_nothing(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user" / ".config"))
    recorder = Recorder()
    monkeypatch.setattr(service_base, "run_command", recorder)
    runner = CliRunner()
    linux = runner.invoke(main, ["service", "install", "--dry-run", "--platform", "linux"])
    assert linux.exit_code == 0, linux.output
    assert "Type=notify" in linux.output
    assert "would run: systemctl --user enable --now agenttail.service" in linux.output
    mac = runner.invoke(main, ["service", "install", "--dry-run", "--platform", "macos"])
    assert mac.exit_code == 0, mac.output
    assert "<string>dev.agenttail.daemon</string>" in mac.output
    assert "would run: launchctl bootstrap" in mac.output
    assert recorder.calls == []
    assert not (tmp_path / "user").exists()


def test_cli_status_asks_the_service_manager(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))

    def show(args: Sequence[str]) -> CommandResult:
        return CommandResult(tuple(args), 0, "ActiveState=active\nSubState=running\nMainPID=42")

    monkeypatch.setattr(service_base, "run_command", show)
    result = CliRunner().invoke(main, ["service", "status", "--platform", "linux", "--json"])
    assert result.exit_code == 0, result.output
    assert '"ActiveState": "active"' in result.output
    assert '"installed": false' in result.output


def test_install_writes_every_agent_override_the_user_set(tmp_path: Path) -> None:
    """Issue 8 item 12: service managers read no rc files, so an agent's folder variables
    (declared by the agents themselves) go into the unit; unset ones do not."""
    env = {
        **os.environ,
        "COPILOT_HOME": str(tmp_path / "copilot"),
        "COPILOT_OTEL_FILE_EXPORTER_PATH": "~/otel/copilot.jsonl",
        "CLAUDE_CONFIG_DIR": "/a/claude,/b/claude",
        "VSCODE_PORTABLE": str(tmp_path / "portable"),
    }
    unit = agenttail_cli(env, "service", "install", "--platform", "linux", "--dry-run")
    home = os.environ["HOME"]
    assert f'Environment="COPILOT_HOME={tmp_path / "copilot"}"' in unit
    assert f'Environment="COPILOT_OTEL_FILE_EXPORTER_PATH={home}/otel/copilot.jsonl"' in unit
    assert 'Environment="CLAUDE_CONFIG_DIR=/a/claude,/b/claude"' in unit
    assert f'Environment="VSCODE_PORTABLE={tmp_path / "portable"}"' in unit
    assert "XDG_DATA_HOME" not in unit  # not set: not written


def test_every_agent_variable_is_carried() -> None:
    """The installer's list is derived from the registered agents' declarations."""
    names = service_env_names()
    for cls in agent_classes():
        assert set(cls.environment_variables()) <= set(names), cls.name
    assert {"COPILOT_HOME", "COPILOT_OTEL_FILE_EXPORTER_PATH", "CLAUDE_CONFIG_DIR"} <= set(names)
