"""systemd user unit: ``~/.config/systemd/user/agenttail.service`` (Type=notify).

Rendered from ``systemd/agenttail.service``; values are quoted per systemd.syntax(7)
(``%`` specifiers doubled, ``$`` doubled in ExecStart) so paths with spaces survive.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Mapping
from pathlib import Path

from agenttail.service.base import (
    BaseBackend,
    CommandResult,
    Runner,
    ServiceSpec,
    Step,
    run_command,
    template,
)

UNIT = "agenttail.service"
_PLAIN = re.compile(r"^[A-Za-z0-9_@%+=:,./-]+$")


def unit_dir(env: Mapping[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    config = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user"


def _escape(value: str, *, dollars: bool) -> str:
    value = value.replace("%", "%%")
    return value.replace("$", "$$") if dollars else value


def quote_arg(value: str) -> str:
    """One ExecStart word; quoted only when needed."""
    escaped = _escape(value, dollars=True)
    if _PLAIN.match(value):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def environment_line(name: str, value: str) -> str:
    assignment = _escape(f"{name}={value}", dollars=False)
    return 'Environment="' + assignment.replace("\\", "\\\\").replace('"', '\\"') + '"'


class SystemdBackend(BaseBackend):
    platform = "linux"

    def __init__(
        self,
        spec: ServiceSpec,
        runner: Runner = run_command,
        directory: Path | None = None,
        booted: bool | None = None,
    ) -> None:
        super().__init__(spec, runner)
        self.unit_file = (directory or unit_dir()) / UNIT
        self.booted = Path("/run/systemd/system").is_dir() if booted is None else booted

    def render(self) -> str:
        paths = self.spec.paths
        resolved = "\n".join(
            f"#   {label}: {value}"
            for label, value in (
                ("database", paths.database),
                ("config", paths.config_file),
                ("log", paths.log_file),
                ("lock", paths.lock_file),
            )
        )
        env = "\n".join(environment_line(k, v) for k, v in sorted(self.spec.environment.items()))
        text = template("systemd/agenttail.service")
        text = text.replace("@RESOLVED@", "# Resolved at install time:\n" + resolved)
        text = text.replace("@EXEC_START@", " ".join(quote_arg(a) for a in self.spec.program))
        return text.replace("@ENVIRONMENT@\n", env + "\n" if env else "")

    def host_problem(self) -> str | None:
        if not self.booted:
            return (
                "systemd is not running on this host (container, WSL without systemd=true?); "
                "run `agenttail run` under your own supervisor instead"
            )
        return None

    def _systemctl(self, *args: str, ignore_errors: bool = False) -> Step:
        return Step(("systemctl", "--user", *args), ignore_errors)

    def install_steps(self, existed: bool, changed: bool) -> tuple[list[Step], list[Step]]:
        after = [self._systemctl("daemon-reload"), self._systemctl("enable", "--now", UNIT)]
        if existed and changed:
            after.append(self._systemctl("restart", UNIT))
        return [], after

    def uninstall_steps(self) -> tuple[list[Step], list[Step]]:
        return (
            [self._systemctl("disable", "--now", UNIT, ignore_errors=True)],
            [self._systemctl("daemon-reload")],
        )

    def after_install(self) -> list[str]:
        lines = [f"logs: journalctl --user -u {UNIT} -f   (or: agenttail logs -f)"]
        user = getpass.getuser()
        if not Path("/var/lib/systemd/linger", user).exists():
            lines.append(
                "note: the service starts at your first login and stops at your last logout; "
                f"to run it from boot (servers, SSH-only use): loginctl enable-linger {user}"
            )
        return lines

    def failure_hint(self, result: CommandResult) -> str | None:
        if "Failed to connect to bus" in result.output:
            return (
                "hint: no user session bus here (sudo -u / su shell?); log in as the user or use "
                "`machinectl shell USER@` and retry"
            )
        return None

    def status(self) -> dict[str, object]:
        props = "LoadState,ActiveState,SubState,MainPID,UnitFileState,NRestarts,StatusText"
        result = self.runner(("systemctl", "--user", "show", UNIT, f"--property={props}"))
        info: dict[str, object] = {"unit_file": str(self.unit_file)}
        info["installed"] = self.unit_file.exists()
        if result.returncode != 0:
            info["error"] = result.output
            return info
        for line in result.output.splitlines():
            key, _, value = line.partition("=")
            if key:
                info[key] = value
        return info
