"""What a sweep's discovery looked at, so a later ``scan`` can tell with ``os.stat`` alone that
nothing changed (the sweep manifest, checked before any plugin is imported).

While a trace is active (``tracing()``), the discovery helpers every agent uses
(``agents.base.discover``) report to it: each folder they list (its stat taken before the
listing: a name added later changes the folder's mtime and ctime), each path they only looked at
(whether it exists, as what: a root, a fixed file name, a symlink they did not follow), each file
discovery itself read (``read_discovery_file``: Crush's project list, Aider's config) and any
value taken from agenttail's own store (``note_input``: Aider's known project folders). The
stream files themselves are checked against the stats the store recorded, as the sweep does.

A folder whose mtime is within ``RACY_NS`` of the sweep's start cannot vouch for anything: a
name added in the same clock tick leaves it unchanged (git's "racy" index entries). Such a
trace records no manifest; the next sweep, a moment later, does. Stdlib only: the fast path
imports this before click and the plugins.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

# Longer than any local file system's timestamp granularity (FAT: 2 s) and clock step.
RACY_NS = 2_000_000_000
FORMAT = 1  # bumped when the manifest's layout changes: an older one is never trusted
# Side files through which a SQLite database changes without its own stat changing.
SQLITE_SIDE_FILES = ("-wal", "-journal")

Probe = list[int] | None
# Store inputs discovery may note (``note_input``); store/sweep_manifest.py reads each again.
KNOWN_PROJECTS = "known_projects"


def identity(path: str) -> Probe:
    """What is at ``path`` (file type, device, inode), or None: for paths only looked at."""
    try:
        st = os.stat(path)  # noqa: PTH116 - a Path per probe costs twice the stat itself
    except OSError:
        return None
    return [stat.S_IFMT(st.st_mode), st.st_dev, st.st_ino]


def full_stat(path: str) -> Probe:
    """``identity`` plus size and mtime, and a folder's ctime: for folders listed and files
    read. A folder's ctime also moves when names change under an mtime set back (an archive
    unpacked); a file's is left out, as SQLite itself changes it on a database's side files
    when a reader opens them (``fchown``), while their content moves their mtime."""
    try:
        st = os.stat(path)  # noqa: PTH116 - as in identity
    except OSError:
        return None
    kind = stat.S_IFMT(st.st_mode)
    ctime = st.st_ctime_ns if kind == stat.S_IFDIR else 0
    return [kind, st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, ctime]


class DiscoveryTrace:
    """Everything one sweep's discovery depended on (see the module docstring)."""

    def __init__(self) -> None:
        self.taken_ns = time.time_ns()  # before anything is looked at
        self.listed: dict[str, Probe] = {}
        self.looked: dict[str, Probe] = {}
        self.read: dict[str, Probe] = {}
        self.inputs: dict[str, Any] = {}
        self.streams: dict[tuple[str, str], bool] = {}  # (path, kind) -> shared
        self.code: dict[str, Probe] = {}  # module files and plugin folders (``depend_on_code``)
        self.agent = ""  # whose discovery runs now
        self.input_agents: set[str] = set()  # the agents whose discovery noted a store input
        self.doubts: list[str] = []

    def list_folder(self, path: str) -> None:
        self.listed.setdefault(path, full_stat(path))

    def look(self, path: str) -> None:
        self.looked.setdefault(path, identity(path))

    def read_file(self, path: str) -> None:
        self.read.setdefault(path, full_stat(path))

    def found(self, path: str, kind: str, *, shared: bool) -> None:
        """A stream discovery yielded; a shared database is re-read by every sweep, so its
        files' stats stand for "nothing new" (checked again after the read, ``settled``)."""
        self.streams[(path, kind)] = shared
        if shared:
            for suffix in ("", *SQLITE_SIDE_FILES):
                self.read_file(path + suffix)

    def depend_on_code(self, module_names: Sequence[str]) -> None:
        self.code.update(code_files(module_names))
        self.code.update(plugin_folders(sys.path))

    def doubt(self, reason: str) -> None:
        self.doubts.append(reason)

    def settled(self) -> str | None:
        """Why this trace cannot vouch for its sweep, or None: something discovery read
        changed while the sweep ran (a shared database written during its read), or a stat is
        too close to the sweep's start to tell a later change from it."""
        if self.doubts:
            return self.doubts[0]
        changed = first_changed(self.read, full_stat)
        if changed is not None:
            return f"changed while the sweep ran: {changed}"
        limit = self.taken_ns - RACY_NS
        for path, probe in (*self.listed.items(), *self.read.items(), *self.code.items()):
            if probe is not None and probe[4] >= limit:
                return f"modified too recently to vouch for: {path}"
        return None

    def manifest(self, **extra: Any) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "taken_ns": self.taken_ns,
            "listed": self.listed,
            "looked": self.looked,
            "read": self.read,
            "code": self.code,
            "sys_path": sys.path[1:],
            "platform": sys.platform,
            "inputs": self.inputs,
            "streams": [[path, kind, shared] for (path, kind), shared in self.streams.items()],
            **extra,
        }


_active: ContextVar[DiscoveryTrace | None] = ContextVar("discovery_trace", default=None)


def active() -> DiscoveryTrace | None:
    """The trace discovery reports to now, if a sweep records one."""
    return _active.get()


@contextmanager
def tracing(trace: DiscoveryTrace | None = None) -> Iterator[DiscoveryTrace]:
    """Record what discovery looks at in this block (agents are created inside it too: some
    read their configuration files then), into a new trace or on into ``trace``."""
    trace = DiscoveryTrace() if trace is None else trace
    token = _active.set(trace)
    try:
        yield trace
    finally:
        _active.reset(token)


def read_discovery_file(path: Path) -> bytes:
    """``path.read_bytes()`` for a file that decides where an agent's streams are (a project
    list, a config naming a history file): a change to it makes the next scan sweep in full."""
    trace = _active.get()
    if trace is not None:
        trace.read_file(str(path))
    return path.read_bytes()


def doubt(reason: str) -> None:
    """Discovery could not finish looking (an agent's discovery failed): no manifest."""
    trace = _active.get()
    if trace is not None:
        trace.doubt(reason)


def note_input(key: str, value: Any) -> None:
    """A value from agenttail's own store that decided discovery (``STORE_INPUTS`` names the
    store query that reads it again)."""
    trace = _active.get()
    if trace is not None:
        trace.inputs.setdefault(key, value)
        trace.input_agents.add(trace.agent)


def first_changed(probes: Mapping[str, Probe], probe: Callable[[str], Probe]) -> str | None:
    for path, recorded in probes.items():
        if probe(path) != recorded:
            return path
    return None


def code_files(module_names: Iterator[str] | Sequence[str]) -> dict[str, Probe]:
    """The files of the named modules (agenttail's own and the agent plugins'): an upgraded or
    edited plugin may discover differently."""
    probes: dict[str, Probe] = {}
    for name in module_names:
        path = getattr(sys.modules.get(name), "__file__", None)
        if path:
            probes[path] = full_stat(path)
    return probes


def plugin_folders(path: Sequence[str]) -> dict[str, Probe]:
    """The ``sys.path`` folders holding installed distributions: a plugin installed, removed or
    upgraded there changes the folder (entry points are read from them)."""
    probes: dict[str, Probe] = {}
    for folder in path:
        try:
            with os.scandir(folder or ".") as entries:
                names = [entry.name for entry in entries]
        except OSError:
            continue
        if any(name.endswith((".dist-info", ".egg-info")) for name in names):
            probes[folder] = full_stat(folder)
    return probes


def environment(names: Sequence[str], environ: Mapping[str, str]) -> dict[str, str | None]:
    """The variables discovery and configuration read, with their values now; every
    ``AGENTTAIL_*`` variable (configuration overrides, the state folder) is among them."""
    wanted = dict.fromkeys([*names, *(n for n in environ if n.startswith("AGENTTAIL_"))])
    return {name: environ.get(name) for name in wanted}


def unchanged_reason(manifest: Mapping[str, Any], environ: Mapping[str, str]) -> str | None:
    """Why ``manifest`` no longer describes this machine, or None when every folder, path,
    file, variable and code file it recorded is as it was. Stream files and store inputs are
    checked by the store (``store/sweep_manifest.py``)."""
    if manifest.get("format") != FORMAT:
        return "no manifest of this format"
    recorded_env: dict[str, str | None] = manifest["environment"]
    current = environment(list(recorded_env), environ)
    if current != recorded_env:
        names = sorted(n for n in current if current[n] != recorded_env.get(n))
        return f"environment changed: {', '.join(names)}"
    if manifest["sys_path"] != sys.path[1:] or manifest["platform"] != sys.platform:
        return "interpreter path changed"
    checks = (
        (manifest["listed"], full_stat),
        (manifest["read"], full_stat),
        (manifest["code"], full_stat),
        (manifest["looked"], identity),
    )
    for probes, probe in checks:
        path = first_changed(probes, probe)
        if path is not None:
            return f"changed: {path}"
    return None
