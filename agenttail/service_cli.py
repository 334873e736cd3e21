"""Commands for running agenttail as a service: service, config show, logs, doctor."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import orjson

from agenttail.cli_support import echo_json, json_option, settings
from agenttail.config import Config, all_options
from agenttail.errors import AgenttailError
from agenttail.paths import AppPaths

if TYPE_CHECKING:  # imported where used: keeps every other command's start fast
    from agenttail.agents.base import DiscoveryProblem
    from agenttail.service.base import BaseBackend, Outcome, ServiceSpec

PLATFORMS = ("linux", "macos")
UPLOAD_TIMEOUT_S = 3.0


def running_platform() -> str:
    return "macos" if sys.platform == "darwin" else "linux"


def backend_for(platform: str, spec: ServiceSpec | None = None) -> BaseBackend:
    from agenttail.service import base as service_base
    from agenttail.service.base import ServiceSpec
    from agenttail.service.launchd import LaunchdBackend
    from agenttail.service.systemd import SystemdBackend

    spec = spec or ServiceSpec.current()
    runner = service_base.run_command  # looked up per call: the test seam
    if platform == "macos":
        return LaunchdBackend(spec, runner)
    return SystemdBackend(spec, runner)


platform_option = click.option(
    "--platform",
    type=click.Choice(PLATFORMS),
    default=running_platform,
    show_default="the running OS",
    help="Service manager to target.",
)
dry_run_option = click.option(
    "--dry-run", is_flag=True, help="Print what would be written and run; change nothing."
)


@click.group()
def service() -> None:
    """Install agenttail as a user service (systemd on Linux, launchd on macOS)."""


def _finish(outcome: Outcome) -> None:
    for line in outcome.lines:
        click.echo(line)
    if not outcome.ok:
        sys.exit(1)


@service.command()
@platform_option
@dry_run_option
def install(platform: str, dry_run: bool) -> None:
    """Write the unit for this interpreter and start it (safe to repeat)."""
    settings()  # refuse to install a service that would exit on a bad config
    _finish(backend_for(platform).install(dry_run))


@service.command()
@platform_option
@dry_run_option
def uninstall(platform: str, dry_run: bool) -> None:
    """Stop the service and remove its unit (safe to repeat)."""
    _finish(backend_for(platform).uninstall(dry_run))


@service.command("status")
@platform_option
@json_option()
def service_status(platform: str, as_json: bool) -> None:
    """Whether the unit is installed and what the service manager says about it."""
    from agenttail.daemon.lifecycle import lock_holder

    paths = AppPaths.resolve()
    info = backend_for(platform).status()
    info["daemon_pid"] = lock_holder(paths.lock_file)
    if as_json:
        echo_json(info)
        return
    for key, value in info.items():
        click.echo(f"{key}: {value}")


@click.group("config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command("show")
@json_option()
def config_show(as_json: bool) -> None:
    """Every setting: its value, where it came from (default, file or env) and what it does."""
    paths, config = settings(strict=False)
    rows = []
    for option in all_options():
        value = config.values[option.key]
        if option.secret and value:
            value = "********"
        rows.append(
            {
                "key": option.key,
                "value": value,
                "default": option.default,
                "source": config.sources[option.key],
                "env": option.env,
                "help": option.help,
            }
        )
    if as_json:
        echo_json(
            {
                "file": str(config.file or paths.config_file),
                "problems": [p.to_dict() for p in config.problems],
                "settings": rows,
            }
        )
        return
    state = "" if config.file else " (not present; defaults apply)"
    click.echo(f"config file: {config.file or paths.config_file}{state}")
    width = max(len(option.key) for option in all_options())
    for row in rows:
        value = "(unset)" if row["value"] is None else row["value"]
        click.echo(f"{row['key']:<{width}}  {value!s:<16}  {row['source']:<12}  {row['help']}")


def render_log_line(line: str) -> str:
    """A JSON log line as ``time level event key=value``; other lines unchanged."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return line.rstrip("\n")
    if not isinstance(data, dict):
        return line.rstrip("\n")
    ts = str(data.pop("timestamp", ""))
    level = str(data.pop("level", "")).upper()
    event = str(data.pop("event", ""))
    data.pop("logger", None)
    rest = " ".join(f"{k}={v}" for k, v in data.items())
    return f"{ts} {level:<7} {event} {rest}".rstrip()


def _tail(path: Path, count: int) -> list[str]:
    with open(path, "rb") as handle:
        handle.seek(0, 2)
        size = handle.tell()
        handle.seek(max(0, size - 256 * 1024))
        lines = handle.read().decode("utf-8", "replace").splitlines()
    return lines[-count:] if count else []


def _follow(path: Path, poll: float = 0.5) -> Iterator[str]:
    """New lines as they are appended; reopens the file after rotation."""
    handle = open(path, "rb")  # noqa: SIM115
    handle.seek(0, 2)
    inode = path.stat().st_ino
    buffer = b""
    try:
        while True:
            chunk = handle.read()
            if chunk:
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                for raw in complete:
                    yield raw.decode("utf-8", "replace")
                continue
            time.sleep(poll)
            try:
                rotated = path.stat().st_ino != inode or path.stat().st_size < handle.tell()
            except FileNotFoundError:
                continue
            if rotated:
                handle.close()
                handle = open(path, "rb")  # noqa: SIM115
                inode = path.stat().st_ino
    finally:
        handle.close()


@click.command()
@click.option("-n", "--lines", "count", default=50, show_default=True, help="Lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@json_option("Print the raw JSON lines.")
def logs(count: int, follow: bool, as_json: bool) -> None:
    """Show the daemon's log file (JSON lines, rotated at 5 MB)."""
    path = AppPaths.resolve().log_file
    if not path.exists():
        raise AgenttailError(f"no log yet at {path}", "has the daemon run?", path=path)
    show = (lambda line: line) if as_json else render_log_line
    for line in _tail(path, count):
        click.echo(show(line))
    if follow:
        try:
            for line in _follow(path):
                click.echo(show(line))
        except KeyboardInterrupt:
            return


def upload_check(config: Config) -> dict[str, Any]:
    """Reachability of ``upload.url``, validated exactly as ``agenttail upload`` validates it:
    a URL that upload refuses is reported as refused and never probed."""
    import httpx

    from agenttail.upload.settings import upload_settings

    try:
        upload = upload_settings(config)
    except AgenttailError as exc:
        return {
            "configured": True,
            "url": config.values.get("upload.url"),
            "refused": str(exc),
            "reachable": None,
            "summary": f"upload: refused: {exc}",
        }
    if upload is None:
        return {"configured": False, "summary": "upload: not configured"}
    url = upload.url
    try:
        response = httpx.head(url, timeout=UPLOAD_TIMEOUT_S, follow_redirects=False)
    except httpx.HTTPError as exc:
        return {
            "configured": True,
            "url": url,
            "reachable": False,
            "summary": f"upload: {url} unreachable ({type(exc).__name__}: {exc})",
        }
    return {
        "configured": True,
        "url": url,
        "reachable": True,
        "status": response.status_code,
        "summary": f"upload: {url} reachable (HTTP {response.status_code})",
    }


def inotify_limits() -> dict[str, int] | None:
    base = Path("/proc/sys/fs/inotify")
    if not base.is_dir():
        return None
    limits: dict[str, int] = {}
    for name in ("max_user_watches", "max_user_instances", "max_queued_events"):
        try:
            limits[name] = int((base / name).read_text().strip())
        except (OSError, ValueError):
            continue
    return limits


def _store_problem(paths: AppPaths) -> str | None:
    from agenttail.daemon.store_keeper import store_problem

    return store_problem(paths.database)


TOKENS_ABSENT = "not recorded locally"


def token_quality(recorded: bool, requests: dict[str, int] | None) -> str:
    """What an agent's token counts are: measured by the agent, estimates, or not on disk."""
    if not recorded:
        return TOKENS_ABSENT
    measured = (requests or {}).get("measured", 0)
    estimated = (requests or {}).get("estimated", 0)
    if measured and estimated:
        return "measured (estimates kept apart)"
    if estimated:
        return "estimated"
    return "measured" if measured else "measured (no requests yet)"


def stored_sessions(paths: AppPaths) -> tuple[dict[str, set[str]], dict[str, dict[str, int]]]:
    """Sessions and request quality per agent from the store, empty when there is none yet."""
    from agenttail.store import Store

    if not paths.database.exists():
        return {}, {}
    try:
        with Store(paths.database, readonly=True) as store:
            return store.agent_sessions(), store.agent_request_quality()
    except (sqlite3.Error, OSError, AgenttailError):  # damaged or locked: status says why
        return {}, {}


def doctor_data(paths: AppPaths, config: Config) -> dict[str, Any]:
    from agenttail.agents.base import SHARED_SESSION_ID, discover
    from agenttail.agents.registry import configured_agents
    from agenttail.daemon.lifecycle import lock_holder, read_runtime_state, runtime_state_file

    sessions, quality = stored_sessions(paths)
    agents = []
    problems: list[DiscoveryProblem] = []
    for agent in configured_agents(config):
        roots = [{"path": str(r), "exists": r.is_dir()} for r in agent.roots()]
        refs = list(discover(agent, problems))
        found = {ref.session_id for ref in refs if ref.session_id != SHARED_SESSION_ID}
        found |= sessions.get(agent.name, set())
        agents.append(
            {
                "name": agent.name,
                "display_name": agent.label(),
                "roots": roots,
                "streams": len(refs),
                "sessions": len(found),
                "tokens": token_quality(agent.tokens_recorded, quality.get(agent.name)),
            }
        )
    pid = lock_holder(paths.lock_file)
    runtime = read_runtime_state(runtime_state_file(paths)) if pid else None
    watches = []
    if runtime is not None:
        from agenttail.daemon.watch import verify_watches

        watches = verify_watches(runtime.get("watches") or [])
    unit = backend_for(running_platform()).unit_file
    return {
        "config_file": str(config.file) if config.file else None,
        "config_problems": [p.to_dict() for p in config.problems],
        "database": str(paths.database),
        "database_exists": paths.database.exists(),
        "database_problem": _store_problem(paths),
        "log_file": str(paths.log_file),
        "lock_file": str(paths.lock_file),
        "daemon": {"running": pid is not None, "pid": pid, "runtime": runtime, "watches": watches},
        "agents": agents,
        "inotify": inotify_limits(),
        "service_unit": {"path": str(unit), "installed": unit.exists()},
        "upload": upload_check(config),
        "gaps": _gaps(paths, problems),
    }


def _gaps(paths: AppPaths, problems: list[DiscoveryProblem]) -> dict[str, Any]:
    """The store's gaps (``status``), with unreadable folders as this walk finds them now."""
    from agenttail.status import gaps, status_data
    from agenttail.store import open_readonly

    found: dict[str, Any] = gaps(None, [])
    try:
        store = open_readonly(paths)
        if store is not None:
            with store:
                found = status_data(store)["gaps"]
    except (AgenttailError, sqlite3.Error) as exc:
        found["store_unreadable"] = str(exc)
    found["unreadable_folders"] = [asdict(problem) for problem in problems]
    return found


@click.command()
@json_option()
def doctor(as_json: bool) -> None:
    """What was discovered, what is watched, daemon and service state, upload reachability."""
    from agenttail.daemon.watch import inotify_hint

    paths, config = settings(strict=False)
    data = doctor_data(paths, config)
    if as_json:
        echo_json(data)
        return
    click.echo(f"config:   {data['config_file'] or 'defaults (no config.toml)'}")
    click.echo(f"database: {data['database']}" + ("" if data["database_exists"] else " (none yet)"))
    if data["database_problem"]:
        click.echo(
            f"  DAMAGED: {data['database_problem']}; a running daemon moves it aside and rebuilds"
            " it by itself, else the next `agenttail scan` or daemon start does"
        )
    click.echo(f"log:      {data['log_file']}")
    for agent in data["agents"]:
        click.echo(
            f"agent {agent['name']} ({agent['display_name']}): {agent['streams']} session files,"
            f" {agent['sessions']} sessions; tokens {agent['tokens']}"
        )
        for root in agent["roots"]:
            state = "exists" if root["exists"] else "missing (watched once it appears)"
            click.echo(f"  root {root['path']}: {state}")
    daemon = data["daemon"]
    if not daemon["running"]:
        click.echo(f"daemon:   not running (lock {data['lock_file']} is free)")
    else:
        pid = daemon["pid"] if daemon["pid"] and daemon["pid"] > 0 else "unknown"
        click.echo(f"daemon:   running, pid {pid}")
        runtime = daemon["runtime"] or {}
        mode = "polling" if runtime.get("polling") else runtime.get("observer", "?")
        click.echo(f"  observer: {mode}")
        for watch in daemon["watches"]:
            click.echo(f"  {watch['state']}: {watch['path']}")
        if runtime.get("polling"):
            click.echo(f"  inotify limit reached: {inotify_hint()}")
    if data["inotify"]:
        limits = ", ".join(f"{k}={v}" for k, v in data["inotify"].items())
        click.echo(f"inotify:  {limits}")
    unit = data["service_unit"]
    click.echo(
        f"service:  {unit['path']} " + ("installed" if unit["installed"] else "not installed")
    )
    click.echo(data["upload"]["summary"])
    from agenttail.status import gap_lines

    for line in gap_lines(data["gaps"]):
        click.echo(f"gap:      {line}")
