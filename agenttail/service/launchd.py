"""launchd LaunchAgent: ``~/Library/LaunchAgents/dev.agenttail.daemon.plist``.

Static keys come from ``launchd/dev.agenttail.daemon.plist``; the program, environment and
log paths are added at install time and written with plistlib (launchd expands no ``~`` or
``$VAR``). Install is bootout (ignored when not loaded), write, enable, bootstrap.
"""

from __future__ import annotations

import os
import plistlib
import re
from pathlib import Path
from typing import Any

from agenttail.service.base import (
    BaseBackend,
    CommandResult,
    Outcome,
    Runner,
    ServiceSpec,
    Step,
    run_command,
    template,
)

LABEL = "dev.agenttail.daemon"


class LaunchdBackend(BaseBackend):
    platform = "macos"

    def __init__(
        self,
        spec: ServiceSpec,
        runner: Runner = run_command,
        home: Path | None = None,
        uid: int | None = None,
        is_macos: bool | None = None,
    ) -> None:
        super().__init__(spec, runner)
        self.unit_file = (home or Path.home()) / "Library" / "LaunchAgents" / f"{LABEL}.plist"
        self.uid = os.getuid() if uid is None else uid
        self.is_macos = (os.uname().sysname == "Darwin") if is_macos is None else is_macos

    @property
    def domain(self) -> str:
        return f"gui/{self.uid}"

    @property
    def target(self) -> str:
        return f"{self.domain}/{LABEL}"

    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = plistlib.loads(template(f"launchd/{LABEL}.plist").encode())
        log_dir = self.spec.paths.log_dir
        data["Label"] = LABEL
        data["ProgramArguments"] = list(self.spec.program)
        data["EnvironmentVariables"] = {"PYTHONUNBUFFERED": "1", **self.spec.environment}
        # never rotated by launchd: only output from before logging is set up lands here
        data["StandardOutPath"] = str(log_dir / "launchd.stdout.log")
        data["StandardErrorPath"] = str(log_dir / "launchd.stderr.log")
        data["WorkingDirectory"] = str(self.spec.paths.state_dir)
        return data

    def render(self) -> str:
        return plistlib.dumps(self.document(), sort_keys=False).decode()

    def host_problem(self) -> str | None:
        return None if self.is_macos else "launchd LaunchAgents exist only on macOS"

    def install(self, dry_run: bool = False) -> Outcome:
        if not dry_run:
            self._check_host()
            # launchd opens the log files before the daemon could create their folder
            self.spec.paths.ensure()
        return super().install(dry_run)

    def install_steps(self, existed: bool, changed: bool) -> tuple[list[Step], list[Step]]:
        return (
            [Step(("launchctl", "bootout", self.target), ignore_errors=True)],
            [
                Step(("launchctl", "enable", self.target)),
                Step(("launchctl", "bootstrap", self.domain, str(self.unit_file))),
            ],
        )

    def uninstall_steps(self) -> tuple[list[Step], list[Step]]:
        return [Step(("launchctl", "bootout", self.target), ignore_errors=True)], []

    def after_install(self) -> list[str]:
        return [
            f"logs: agenttail logs -f   (early crashes: {self.spec.paths.log_dir}/launchd.*.log)",
            "macOS lists it under System Settings > General > Login Items > Allow in the "
            "Background; switching it off there makes bootstrap fail",
        ]

    def failure_hint(self, result: CommandResult) -> str | None:
        if "bootstrap" in result.args and ("5:" in result.output or result.returncode == 5):
            return (
                "hint: check System Settings > General > Login Items (Allow in the Background) "
                f"and `launchctl print {self.target}`"
            )
        return None

    def status(self) -> dict[str, object]:
        result = self.runner(("launchctl", "print", self.target))
        info: dict[str, object] = {
            "unit_file": str(self.unit_file),
            "installed": self.unit_file.exists(),
        }
        if result.returncode != 0:
            info["loaded"] = False
            return info
        info["loaded"] = True
        for key in ("state", "pid", "last exit code", "runs"):
            match = re.search(rf"^\s*{key} = (.+)$", result.output, re.MULTILINE)
            if match:
                info[key.replace(" ", "_")] = match.group(1).strip()
        return info
