"""The agent seam: stream descriptors for discovery, and records -> metric events."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agenttail.events import MetricEvent
from agenttail.readers.base import Reader, Record

SHARED_SESSION_ID = "__shared__"


@dataclass(frozen=True)
class StreamSpec:
    """A stream descriptor: one kind of source an agent writes, and how to find it.

    ``patterns`` are globs relative to each of the agent's roots (``*`` never crosses a folder).
    A ``shared`` stream (one database for many sessions) is one task per file.
    """

    kind: str
    reader: Reader
    patterns: tuple[str, ...]
    session_id: Callable[[Path], str]
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
    def key(self) -> tuple[str, str]:
        """The queue de-duplication key: (path, stream kind)."""
        return (str(self.path), self.spec.kind)


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


class Agent(Protocol):
    """What a plugin provides. Built-ins register through the ``agenttail.agents`` entry points."""

    name: str

    def roots(self) -> Sequence[Path]:
        """Folders holding the agent's data on this machine (existing or not)."""
        ...

    def streams(self) -> Sequence[StreamSpec]: ...

    def to_events(self, records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
        """Meaning of raw records. May read and update ``context.state``."""
        ...

    # Optional: ``watch_recursively(root) -> bool``. The watcher watches a root's subfolders
    # unless the agent says a root holds its files directly (e.g. a folder named by a user).


def discover(agent: Agent) -> Iterator[StreamRef]:
    """Every stream file of ``agent`` under its existing roots.

    Roots that are the same folder (a symlinked ``~/.config/claude``) are walked once.
    """
    roots: set[str] = set()
    seen: set[Path] = set()
    for root in agent.roots():
        real = os.path.realpath(root)
        if real in roots or not root.is_dir():
            continue
        roots.add(real)
        for spec in agent.streams():
            for pattern in spec.patterns:
                for name in _files_matching(str(root), pattern.split("/")):
                    path = Path(name)
                    if path in seen:
                        continue
                    seen.add(path)
                    yield StreamRef(agent.name, spec, path, spec.session_id(path))


def _files_matching(folder: str, parts: list[str]) -> Iterator[str]:
    """Files under ``folder`` matching the glob ``parts`` (one per level; hidden names too).

    Walks with ``os.scandir`` so file types come from the directory entries: a sweep over
    thousands of sessions pays one ``stat`` per file (the staleness check), not two.
    """
    head, rest = parts[0], parts[1:]
    if not any(char in head for char in "*?["):
        child = f"{folder}{os.sep}{head}"
        if rest:
            yield from _files_matching(child, rest)
        elif Path(child).is_file():
            yield child
        return
    try:
        entries = os.scandir(folder)
    except OSError:
        return
    with entries:
        for entry in entries:
            if not fnmatch.fnmatchcase(entry.name, head):
                continue
            try:
                if rest and entry.is_dir():
                    yield from _files_matching(entry.path, rest)
                elif not rest and entry.is_file():
                    yield entry.path
            except OSError:
                continue


def match_path(agent: Agent, path: Path) -> StreamRef | None:
    """The stream a changed path belongs to, if any (watchdog events are hints)."""
    for root in agent.roots():
        try:
            relative = path.relative_to(root).as_posix()
        except ValueError:
            continue
        for spec in agent.streams():
            if spec.matches(relative):
                return StreamRef(agent.name, spec, path, spec.session_id(path))
    return None
