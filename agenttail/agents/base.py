"""The agent seam: what a plugin declares, stream discovery, and records -> metric events.

A plugin is one subclass of ``Agent`` declaring class attributes (simonw/llm style) plus one
entry point in the ``agenttail.agents`` group; docs/agents.md walks through one.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from agenttail.discovery_trace import active as active_trace
from agenttail.events import MetricEvent
from agenttail.readers.base import Reader, Record

SHARED_SESSION_ID = "__shared__"
PLATFORMS = ("linux", "darwin", "win32")

# Variables with a standard meaning when unset (XDG base directories, Windows known folders).
STANDARD_FALLBACKS: dict[str, str] = {
    "XDG_CONFIG_HOME": "~/.config",
    "XDG_DATA_HOME": "~/.local/share",
    "XDG_STATE_HOME": "~/.local/state",
    "XDG_CACHE_HOME": "~/.cache",
    "APPDATA": "~/AppData/Roaming",
    "LOCALAPPDATA": "~/AppData/Local",
    "USERPROFILE": "~",
}
_VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)|%(\w+)%")
Converter = Callable[[Sequence[Record], "AgentContext"], list[MetricEvent]]


def home_dir(env: Mapping[str, str], platform: str) -> Path | None:
    """The user's home as the environment names it (``USERPROFILE`` first on Windows)."""
    names = ("USERPROFILE", "HOME") if platform == "win32" else ("HOME", "USERPROFILE")
    value = next((env[name] for name in names if env.get(name)), None)
    return Path(value) if value else None


def template_variables(template: str) -> tuple[str, ...]:
    """The environment variables a path template reads (``$X``, ``${X}``, ``%X%``)."""
    return tuple(next(g for g in m.groups() if g) for m in _VARIABLE.finditer(template))


def expand(
    template: str, env: Mapping[str, str], platform: str, *, fallbacks: bool = True
) -> Path | None:
    """A path template resolved against ``env``; None when a variable it needs is unset.

    ``~`` is the home folder; ``$XDG_DATA_HOME``-style variables fall back to their standard
    default when ``fallbacks`` (never for an override: an unset override means "not set").
    """
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        name = next(g for g in match.groups() if g)
        found = env.get(name, "").strip()
        if found:
            return found
        fallback = STANDARD_FALLBACKS.get(name) if fallbacks else None
        if fallback is None:
            missing = True
            return ""
        return fallback

    text = _VARIABLE.sub(value, template)
    if missing:
        return None
    if text == "~" or text.startswith(("~/", "~\\")):
        home = home_dir(env, platform)
        if home is None:
            return None
        text = str(home) + text[1:]
    return Path(text)


@dataclass(frozen=True)
class Roots:
    """Where an agent keeps its data, per OS, as path templates (see ``expand``).

    ``overrides`` are templates over the agent's own environment variables (``$CODEX_HOME``,
    ``$CLAUDE_CONFIG_DIR/projects``): the first one whose variables are all set replaces the
    OS defaults, as the agent itself does. ``default`` serves an OS with no entry of its own.
    """

    linux: tuple[str, ...] = ()
    darwin: tuple[str, ...] = ()
    win32: tuple[str, ...] = ()
    default: tuple[str, ...] = ()
    overrides: tuple[str, ...] = ()

    def templates(self, platform: str) -> tuple[str, ...]:
        own: tuple[str, ...] = getattr(self, platform, ()) if platform in PLATFORMS else ()
        return own or self.default

    def resolve(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """The roots on ``platform`` for ``env`` (existing or not); pure, so tests can pass a
        fake environment for every OS."""
        platform = platform_name(platform)
        for override in self.overrides:
            path = expand(override, env, platform, fallbacks=False)
            if path is not None:
                return [path]
        paths: list[Path] = []
        for template in self.templates(platform):
            path = expand(template, env, platform)
            if path is not None and path not in paths:
                paths.append(path)
        return paths

    @property
    def override_variables(self) -> tuple[str, ...]:
        """The agent's own environment variables (those its overrides read)."""
        return _unique(v for t in self.overrides for v in template_variables(t))

    @property
    def variables(self) -> tuple[str, ...]:
        """Every variable any template reads (overrides first)."""
        templates = (*self.overrides, *self.linux, *self.darwin, *self.win32, *self.default)
        return _unique(v for t in templates for v in template_variables(t))


def _unique(items: Iterator[str] | Sequence[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def platform_name(platform: str) -> str:
    """``sys.platform`` -> one of ``PLATFORMS`` (other Unixes read like Linux)."""
    if platform.startswith("win") or platform == "cygwin":
        return "win32"
    return "darwin" if platform == "darwin" else "linux"


def utf8_text(text: str) -> str:
    """``text`` as valid UTF-8: a file name in another encoding (Python keeps its bytes as
    surrogates) gets ``\\xNN`` escapes, which SQLite and JSON can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


@dataclass(frozen=True)
class StreamSpec:
    """One kind of source an agent writes: how to find it, read it and understand it.

    ``patterns`` are globs relative to each of the agent's roots (``*`` never crosses a folder).
    ``converter(records, context)`` turns a batch of the reader's records into events.
    A ``shared`` stream (one database for many sessions) is one task per file.
    """

    kind: str
    reader: Reader
    patterns: tuple[str, ...]
    session_id: Callable[[Path], str]
    converter: Converter
    shared: bool = False

    @property
    def watermark_kind(self) -> str:
        return self.reader.watermark_kind.KIND

    def matches(self, relative: str) -> bool:
        depth = relative.count("/")
        return any(
            pattern.count("/") == depth and fnmatch.fnmatchcase(relative, pattern)
            for pattern in self.patterns
        )


@dataclass(frozen=True)
class StreamRef:
    """A discovered stream: one file of one spec. Keyed in the store by (session_id, kind, path)."""

    agent: str
    spec: StreamSpec
    path: Path
    session_id: str

    @property
    def kind(self) -> str:
        return self.spec.kind

    @property
    def path_text(self) -> str:
        """The path as the store and the logs name it (always valid UTF-8)."""
        return utf8_text(str(self.path))

    @property
    def key(self) -> tuple[str, str]:
        """The queue de-duplication key: (path, stream kind), as the store keys sessions."""
        return (self.path_text, self.spec.kind)


@dataclass
class StreamState:
    """Per-stream carry-over between batches (open turn, pending tool calls, ...).

    Persisted as JSON in the same transaction as the watermark, so it always matches it.
    """

    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AgentContext:
    stream: StreamRef
    state: StreamState


class Agent:
    """A plugin: subclass it, declare the class attributes, register it as an entry point in
    the ``agenttail.agents`` group. Everything else (discovery, watching, the service's
    environment, the upload allow-list, test isolation) is derived from the declaration.
    """

    name: ClassVar[str] = ""
    """Stable id stored with every event (``codex``); the entry point's name."""
    display_name: ClassVar[str] = ""
    """For people (``Codex CLI``); defaults to ``name``."""
    locations: ClassVar[Roots] = Roots()
    """Roots per OS and the agent's environment overrides."""
    service_env: ClassVar[tuple[str, ...]] = ()
    """Variables the installed service must carry besides those ``locations`` reads."""
    streams: Sequence[StreamSpec] = ()
    """What to read under each root; an instance may set its own in ``__init__``."""
    recursive: ClassVar[bool] = True
    """Watch roots with their subfolders (False: a root holds the files itself)."""
    upload_attrs: ClassVar[Mapping[str, type]] = {}
    """Event ``attrs`` keys this agent adds that may leave the machine, with their type
    (int, float or str); merged into the upload allow-list. Never content."""
    tokens_recorded: ClassVar[bool] = True
    """False when the agent keeps no token usage on disk: reports say so instead of 0."""
    records_turns: ClassVar[bool] = True
    """Whether the agent's files say which user turn each request and tool call belongs to.
    Then every request and tool event carries a ``run_id`` (one user turn: the prompt and the
    requests and tool calls answering it), the same on every re-read, which ``report session``
    and a session's ``turns`` count. False when usage is kept only as session totals."""

    def __init__(self, roots: Sequence[Path] | None = None) -> None:
        """``roots`` pins the roots (tests, embedding); None resolves them from the process."""
        self._pinned = list(roots) if roots is not None else None

    @classmethod
    def label(cls) -> str:
        return cls.display_name or cls.name

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """The roots for ``env`` on ``platform`` (``linux``, ``darwin``, ``win32``).

        Pure; agents whose roots need more than templates (lists in one variable, every
        VS Code variant) override this, never ``roots``.
        """
        return self.locations.resolve(env, platform)

    def roots(self) -> Sequence[Path]:
        """Folders holding the agent's data on this machine (existing or not)."""
        if self._pinned is not None:
            return self._pinned
        return self.resolve_roots(os.environ, sys.platform)

    @classmethod
    def environment_variables(cls) -> tuple[str, ...]:
        """Every variable that moves this agent's data: the service carries them, tests
        isolate them. The roots' own overrides, the variables their templates read, and
        ``service_env``."""
        return _unique((*cls.locations.variables, *cls.service_env))

    def watch_recursively(self, root: Path) -> bool:
        return self.recursive

    def to_events(self, records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        """Meaning of raw records: the stream spec's converter (may update ``context.state``)."""
        return context.stream.spec.converter(records, context)


@dataclass(frozen=True, slots=True)
class DiscoveryProblem:
    """A folder discovery could not read (its sessions are not counted until it can)."""

    agent: str
    path: str
    error: str


def discover(agent: Agent, problems: list[DiscoveryProblem] | None = None) -> Iterator[StreamRef]:
    """Every stream file of ``agent`` under its existing roots.

    Roots that are the same folder (a symlinked ``~/.config/claude``) are walked once. Folders
    that exist but cannot be read are appended to ``problems``. A file may be several streams
    (OpenCode's database: messages, and parts), each found once.
    """
    unreadable: dict[str, str] = {}
    roots: set[str] = set()
    seen: set[tuple[Path, str]] = set()
    trace = active_trace()
    if trace is not None:
        trace.agent = agent.name
    for root in agent.roots():
        if trace is not None:
            trace.look(str(root))
        real = os.path.realpath(root)
        if real in roots or not root.is_dir():
            continue
        roots.add(real)
        for spec in agent.streams:
            for pattern in spec.patterns:
                for name in _files_matching(str(root), pattern.split("/"), unreadable):
                    path = Path(name)
                    if (path, spec.kind) in seen:
                        continue
                    seen.add((path, spec.kind))
                    ref = StreamRef(agent.name, spec, path, utf8_text(spec.session_id(path)))
                    if trace is not None:
                        trace.found(ref.path_text, ref.kind, shared=spec.shared)
                    yield ref
    if problems is not None:
        problems += [DiscoveryProblem(agent.name, utf8_text(p), e) for p, e in unreadable.items()]


def _files_matching(folder: str, parts: list[str], unreadable: dict[str, str]) -> Iterator[str]:
    """Files under ``folder`` matching the glob ``parts`` (one per level; hidden names too).

    Walks with ``os.scandir`` so file types come from the directory entries: a sweep over
    thousands of sessions pays one ``stat`` per file (the staleness check), not two. A folder
    that exists but cannot be listed goes into ``unreadable`` (path -> error). An active
    discovery trace is told what was listed and looked at (``discovery_trace``).
    """
    trace = active_trace()
    head, rest = parts[0], parts[1:]
    if not any(char in head for char in "*?["):
        child = f"{folder}{os.sep}{head}"
        if rest:
            yield from _files_matching(child, rest, unreadable)
        else:
            if trace is not None:
                trace.look(child)
            if Path(child).is_file():
                yield child
        return
    if trace is not None:
        trace.list_folder(folder)  # before the listing: a name added after changes its mtime
    try:
        entries = os.scandir(folder)
    except (FileNotFoundError, NotADirectoryError):
        return
    except OSError as exc:
        unreadable[folder] = exc.strerror or type(exc).__name__
        return
    with entries:
        for entry in entries:
            if not fnmatch.fnmatchcase(entry.name, head):
                continue
            try:
                if rest and entry.is_dir():
                    yield from _files_matching(entry.path, rest, unreadable)
                elif not rest and entry.is_file():
                    yield entry.path
                elif trace is not None and entry.is_symlink():
                    trace.look(entry.path)  # its target may appear without this folder changing
            except OSError:
                if trace is not None:
                    trace.doubt(f"could not tell what {entry.path} is")
                continue


def match_path(agent: Agent, path: Path) -> StreamRef | None:
    """The stream a changed path belongs to, if any (watchdog events are hints)."""
    return next(iter(matching_streams(agent, path)), None)


# A SQLite database commits into these files first; a change there is a change of the database.
SQLITE_SIDE_FILES = ("-wal", "-journal")


def matching_streams(agent: Agent, path: Path) -> list[StreamRef]:
    """Every stream a changed path belongs to: several streams may read one database (OpenCode's
    messages and tool parts), and its ``-wal`` or ``-journal`` file stands for it."""
    for suffix in SQLITE_SIDE_FILES:
        if path.name.endswith(suffix):
            path = path.with_name(path.name.removesuffix(suffix))
    refs: list[StreamRef] = []
    for root in agent.roots():
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            continue
        for spec in agent.streams:
            if spec.matches(relative):
                refs.append(StreamRef(agent.name, spec, path, utf8_text(spec.session_id(path))))
        if refs:
            break
    return refs
