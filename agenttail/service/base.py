"""What every service backend shares: the spec resolved at install time, the command seam,
atomic writes, and the install/uninstall skeleton (write the file, then run the steps).

``run_command`` is the narrow seam: tests pass a recorder and assert the exact
systemctl/launchctl calls; nothing else touches the host.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from agenttail.errors import AgenttailError
from agenttail.paths import AppPaths

# agenttail's own variables; every agent adds the variables that move its data
# (``Agent.environment_variables``), so a new agent needs no edit here.
PASS_THROUGH_ENV: tuple[str, ...] = (
    "AGENTTAIL_HOME",
    "AGENTTAIL_CONFIG",
    "XDG_CONFIG_HOME",
    "XDG_DATA_HOME",
    "XDG_STATE_HOME",
    "XDG_CACHE_HOME",
)
TEMPLATES = Path(__file__).parent / "templates"
SOURCE_TREE = Path(__file__).resolve().parents[2]


def service_env_names() -> tuple[str, ...]:
    """Variables the unit carries when set: service managers read no rc files, so the service
    must see the same folders as the shell that installed it."""
    from agenttail.agents.registry import environment_variables

    return tuple(dict.fromkeys((*PASS_THROUGH_ENV, *environment_variables())))


def _service_value(value: str) -> str:
    """A path made absolute (the unit does not start in the installing shell's folder); a
    list (``a,b``, as CLAUDE_CONFIG_DIR allows) or a URL is carried as is."""
    if "," in value or "://" in value:
        return value
    return str(Path(value).expanduser().absolute())


def template(relative: str) -> str:
    """A template shipped in the wheel, or read from the source tree in a checkout."""
    for base in (TEMPLATES, SOURCE_TREE):
        candidate = base / relative
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise FileNotFoundError(f"service template {relative} is missing from the installation")


@dataclass(frozen=True)
class ServiceSpec:
    """Everything the unit needs, resolved once at install time."""

    program: tuple[str, ...]
    environment: dict[str, str]
    paths: AppPaths

    @classmethod
    def current(
        cls, env: Mapping[str, str] | None = None, names: Sequence[str] | None = None
    ) -> ServiceSpec:
        """``sys.executable`` unresolved: resolving a venv's symlink would lose the venv.

        ``names``: the variables to carry when set (default: ``service_env_names()``).
        """
        environ = os.environ if env is None else env
        environment: dict[str, str] = {}
        for name in service_env_names() if names is None else names:
            value = environ.get(name, "").strip()
            if value:
                environment[name] = _service_value(value)
        paths = AppPaths.resolve({**environ, **environment})
        return cls((sys.executable, "-m", "agenttail", "run"), environment, paths)


@dataclass(frozen=True)
class CommandResult:
    args: tuple[str, ...]
    returncode: int
    output: str


Runner = Callable[[Sequence[str]], CommandResult]


def run_command(args: Sequence[str]) -> CommandResult:
    try:
        done = subprocess.run(list(args), capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return CommandResult(tuple(args), 127, f"{args[0]}: command not found")
    except subprocess.TimeoutExpired:
        return CommandResult(tuple(args), 124, f"{' '.join(args)}: timed out after 60 s")
    return CommandResult(tuple(args), done.returncode, (done.stdout + done.stderr).strip())


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]
    ignore_errors: bool = False


@dataclass
class Outcome:
    ok: bool = True
    lines: list[str] = field(default_factory=list)


class ServiceError(AgenttailError):
    """The host cannot run this backend (no systemd user manager, not macOS, ...)."""


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class ServiceBackend(Protocol):
    platform: str
    unit_file: Path

    def render(self) -> str: ...

    def install(self, dry_run: bool = False) -> Outcome: ...

    def uninstall(self, dry_run: bool = False) -> Outcome: ...

    def status(self) -> dict[str, object]: ...


class BaseBackend:
    """Install = pre-steps, atomic write, post-steps; each backend supplies the steps."""

    platform = ""
    unit_file: Path

    def __init__(self, spec: ServiceSpec, runner: Runner = run_command) -> None:
        self.spec = spec
        self.runner = runner

    def render(self) -> str:
        raise NotImplementedError

    def host_problem(self) -> str | None:
        """Why this host cannot run the backend, or None."""
        return None

    def install_steps(self, existed: bool, changed: bool) -> tuple[list[Step], list[Step]]:
        raise NotImplementedError

    def uninstall_steps(self) -> tuple[list[Step], list[Step]]:
        raise NotImplementedError

    def after_install(self) -> list[str]:
        return []

    def install(self, dry_run: bool = False) -> Outcome:
        text = self.render()
        existed = self.unit_file.exists()
        changed = not existed or self.unit_file.read_text(encoding="utf-8") != text
        before, after = self.install_steps(existed, changed)
        if dry_run:
            return Outcome(
                True, [f"would write {self.unit_file}:", text, *self._plan(before, after)]
            )
        self._check_host()
        outcome = Outcome()
        if not self._run(before, outcome):
            return outcome
        if changed:
            write_atomic(self.unit_file, text)
            outcome.lines.append(f"wrote {self.unit_file}")
        else:
            outcome.lines.append(f"{self.unit_file} is up to date")
        if self._run(after, outcome):
            outcome.lines.extend(self.after_install())
        return outcome

    def uninstall(self, dry_run: bool = False) -> Outcome:
        before, after = self.uninstall_steps()
        if dry_run:
            return Outcome(
                True,
                [*self._plan(before, []), f"would remove {self.unit_file}", *self._plan([], after)],
            )
        self._check_host()
        outcome = Outcome()
        if not self._run(before, outcome):
            return outcome
        if self.unit_file.exists():
            self.unit_file.unlink()
            outcome.lines.append(f"removed {self.unit_file}")
        else:
            outcome.lines.append(f"{self.unit_file} was not installed")
        self._run(after, outcome)
        return outcome

    def status(self) -> dict[str, object]:
        raise NotImplementedError

    def _check_host(self) -> None:
        problem = self.host_problem()
        if problem:
            raise ServiceError(problem)

    @staticmethod
    def _plan(before: list[Step], after: list[Step]) -> list[str]:
        return [f"would run: {' '.join(step.args)}" for step in (*before, *after)]

    def _run(self, steps: list[Step], outcome: Outcome) -> bool:
        for step in steps:
            result = self.runner(step.args)
            if result.returncode == 0 or step.ignore_errors:
                outcome.lines.append(f"ran: {' '.join(step.args)}")
                continue
            outcome.ok = False
            outcome.lines.append(
                f"failed ({result.returncode}): {' '.join(step.args)}: {result.output}"
            )
            hint = self.failure_hint(result)
            if hint:
                outcome.lines.append(hint)
            return False
        return True

    def failure_hint(self, result: CommandResult) -> str | None:
        return None
