"""Aider: its chat history ``.aider.chat.history.md`` (estimates) and, where the user turned it
on, its analytics log (measured).

Formats from Aider-AI/aider (``io.py``, ``coders/base_coder.py``, ``analytics.py``):

- The chat history is Markdown appended in the project's git root (or the folder aider ran
  in; ``--chat-history-file`` / ``AIDER_CHAT_HISTORY_FILE`` move it). Each run starts with
  ``# aider chat started at YYYY-MM-DD HH:MM:SS`` (the machine's local time), announces
  ``> Model: <name> with ...`` (``Main model:`` when a weak model is set), user input lines start
  ``#### `` and each model reply is followed by ``> Tokens: 12k sent, 1.2k cache write, 3.4k
  cache hit, 1.2k received. Cost: $0.02 message, $0.10 session.`` (the cost part only for a
  priced model; after a line break when both cache figures are shown). Counts are rounded
  (``1.2k``, ``12k``) and, when the provider returned no usage, aider's own tokenizer counts:
  these requests are **estimates** (``estimated``), kept out of measured totals. "Sent" holds
  cache hits and writes; the message's recorded cost is kept.
- The analytics log (``--analytics-log`` / ``AIDER_ANALYTICS_LOG``, JSON lines ``{event,
  properties, user_id, time}``): ``message_send`` carries the message's ``prompt_tokens``
  (cache traffic inside, no split), ``completion_tokens`` and ``cost`` (USD): measured.
  ``launched`` starts a run (a session); the model may be ``provider/REDACTED``.

Discovery: the home folder (aider run there), the folders of the files the two variables (or
the same options in ``~/.aider.conf.yml``) name, and every project folder agenttail already
knows from any agent's sessions, each searched for ``.aider.chat.history.md`` in the folder
itself. History timestamps are per run (its start):
all of a run's requests carry it.
"""

from __future__ import annotations

import glob
import os
import re
import sqlite3
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from agenttail.agents.base import (
    SHARED_SESSION_ID,
    Agent,
    AgentContext,
    Roots,
    StreamSpec,
    home_dir,
)
from agenttail.agents.fields import as_dict, as_int
from agenttail.discovery_trace import KNOWN_PROJECTS, doubt, note_input, read_discovery_file
from agenttail.errors import AgenttailError
from agenttail.events import EventKind, MetricEvent, TokenCounts, nusd_from_usd, stable_id
from agenttail.pricing import cost_or_recorded
from agenttail.readers.base import Record
from agenttail.readers.jsonl import JsonlReader

AGENT = "aider"
HISTORY_FILE = ".aider.chat.history.md"
HISTORY_ENV = "AIDER_CHAT_HISTORY_FILE"
ANALYTICS_ENV = "AIDER_ANALYTICS_LOG"
CONFIG_FILE = ".aider.conf.yml"
CONFIG_KEYS = {"chat-history-file": HISTORY_ENV, "analytics-log": ANALYTICS_ENV}
_CONFIG_LINE = re.compile(r"(chat-history-file|analytics-log)\s*:\s*(\S.*?)\s*$")
PROJECTS_TTL_S = 300.0  # how long the store's project list is reused between sweeps

_START = re.compile(r"# aider chat started at (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)")
_MODEL = re.compile(r"> (?:Main model|Model): (\S+) with ")
_COUNT = r"(\d+(?:\.\d+)?k?)"
_TOKENS = re.compile(
    rf"> Tokens: {_COUNT} sent(?:, {_COUNT} cache write)?(?:, {_COUNT} cache hit)?,"
    rf" {_COUNT} received\."
)
_COST = re.compile(r"(?:> )?Cost: \$(\d+(?:\.\d+)?) message, \$\d+(?:\.\d+)? session\.")


def tokens_from_text(text: str | None) -> int:
    """Aider's ``format_tokens`` back to a count: ``950``, ``1.2k`` -> 1200, ``12k``."""
    if not text:
        return 0
    if text.endswith("k"):
        return round(float(text[:-1]) * 1000)
    return int(text)


def history_line(line: str) -> dict[str, Any] | None:
    """The metric content of one chat-history line (prose, prompts' text: None or dropped)."""
    if line.startswith("#### "):
        return {"kind": "prompt"}  # the prompt's words never leave this function
    if line.startswith("# aider chat started at "):
        match = _START.match(line)
        return {"kind": "start", "at": match.group(1)} if match else None
    if line.startswith(">") or line.startswith("Cost:"):
        if match := _TOKENS.match(line):
            sent, write, hit, received = match.groups()
            cost = _COST.search(line, match.end())
            return {
                "kind": "tokens",
                "sent": tokens_from_text(sent),
                "cache_write": tokens_from_text(write),
                "cache_hit": tokens_from_text(hit),
                "received": tokens_from_text(received),
                "cost": cost.group(1) if cost else None,
            }
        if match := _COST.match(line):
            return {"kind": "cost", "cost": match.group(1)}
        if match := _MODEL.match(line):
            return {"kind": "model", "model": match.group(1)}
    return None


def model_name(name: object) -> str | None:
    """``anthropic/claude-sonnet-4-20250514`` -> ``claude-sonnet-4-20250514``; a redacted
    name (analytics) is unknown."""
    if not isinstance(name, str) or not name or name.endswith("/REDACTED"):
        return None
    return name.rsplit("/", 1)[-1]


def local_ms(text: str) -> int:
    """A naive local time aider wrote, as epoch ms (this machine's timezone)."""
    return int(datetime.strptime(text, "%Y-%m-%d %H:%M:%S").astimezone().timestamp() * 1000)


def _usd(text: object) -> int | None:
    return nusd_from_usd(float(text)) if isinstance(text, str) else None


class _Runs:
    """A run's session, turn and request ordinals, carried in the stream state."""

    def __init__(self, context: AgentContext) -> None:
        self.state = context.state.data

    def start(self, session: str, ts: int) -> None:
        self.state.update(session=session, ts=ts, turn=0, requests=0, last=None)

    def next_request(self) -> int:
        self.state["requests"] = int(self.state.get("requests", 0)) + 1
        return int(self.state["requests"])

    @property
    def session(self) -> str | None:
        value = self.state.get("session")
        return value if isinstance(value, str) else None

    def run_id(self, session: str) -> str:
        return stable_id(AGENT, "run", session, int(self.state.get("turn", 0)))


def history_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    runs = _Runs(context)
    state = runs.state
    project = str(context.stream.path.parent)
    out: list[MetricEvent] = []
    for record in records:
        data = record.data
        kind = data.get("kind")
        if kind == "start":
            at = str(data["at"])
            runs.start(stable_id(AGENT, context.stream.path_text, at), local_ms(at))
            state["model"] = None
        elif kind == "model":
            state["model"] = data.get("model")
        elif kind == "prompt":
            if state.get("previous") != "prompt":  # a multi-line prompt is one turn
                state["turn"] = int(state.get("turn", 0)) + 1
        elif kind == "tokens" and runs.session is not None:
            state["last"] = {**data, "n": runs.next_request(), "turn": state.get("turn", 0)}
            out.append(_history_request(runs, project, state["last"]))
        elif kind == "cost" and runs.session and _costless(state.get("last")):
            state["last"]["cost"] = data.get("cost")  # on its own line after a two-cache line
            out.append(_history_request(runs, project, state["last"], seq=1))
        if kind is not None:
            state["previous"] = kind
    return out


def _costless(line: object) -> bool:
    return isinstance(line, dict) and line.get("cost") is None


def _history_request(runs: _Runs, project: str, line: dict[str, Any], seq: int = 0) -> MetricEvent:
    session = runs.session or ""
    tokens = TokenCounts.from_inclusive_input(
        as_int(line.get("sent")),
        as_int(line.get("cache_hit")),
        as_int(line.get("cache_write")),
        output=as_int(line.get("received")),
    )
    model = model_name(runs.state.get("model"))
    recorded = _usd(line.get("cost"))
    return MetricEvent(
        event_id=stable_id(AGENT, "history", session, line.get("n")),
        kind=EventKind.LLM_REQUEST,
        agent=AGENT,
        session_id=session,
        run_id=stable_id(AGENT, "run", session, line.get("turn")),
        ts_ms=int(runs.state.get("ts", 0)),
        project=project,
        model=model,
        **tokens.fields(),
        cost_nusd=cost_or_recorded(model, tokens, recorded),
        recorded_cost_nusd=recorded,
        estimated=True,
        seq=seq,
        attrs={"source": "chat_history"},
    )


def analytics_events(records: Sequence[Record], context: AgentContext) -> list[MetricEvent]:
    runs = _Runs(context)
    out: list[MetricEvent] = []
    for record in records:
        data = record.data
        event, props = data.get("event"), as_dict(data.get("properties"))
        seconds = data.get("time")
        if not isinstance(seconds, int | float) or isinstance(seconds, bool):
            continue
        ts = int(seconds * 1000)
        if event == "launched" or runs.session is None:
            runs.start(stable_id(AGENT, "analytics", data.get("user_id"), ts), ts)
        if event != "message_send":
            continue
        session = runs.session or ""
        n = runs.next_request()
        runs.state["turn"] = n  # one message_send per user message
        tokens = TokenCounts(
            input_tokens=max(0, as_int(props.get("prompt_tokens"))),
            output_tokens=max(0, as_int(props.get("completion_tokens"))),
        )
        model = model_name(props.get("main_model"))
        cost = props.get("cost")
        recorded = nusd_from_usd(cost)
        out.append(
            MetricEvent(
                event_id=stable_id(AGENT, "analytics", session, n),
                kind=EventKind.LLM_REQUEST,
                agent=AGENT,
                session_id=session,
                run_id=runs.run_id(session),
                ts_ms=ts,
                model=model,
                **tokens.fields(),
                cost_nusd=cost_or_recorded(model, tokens, recorded),
                recorded_cost_nusd=recorded,
                attrs={"source": "analytics_log"},
            )
        )
    return out


def _file(env: Mapping[str, str], name: str) -> Path | None:
    value = env.get(name, "").strip()
    return Path(value).expanduser().absolute() if value else None


def configured_files(env: Mapping[str, str], home: Path | None) -> dict[str, Path]:
    """The chat history and analytics log files the user chose, by variable name: the
    variables (``AIDER_CHAT_HISTORY_FILE``, ``AIDER_ANALYTICS_LOG``), else the same options in
    the global ``~/.aider.conf.yml`` (``chat-history-file:``, ``analytics-log:``)."""
    found: dict[str, Path] = {}
    try:
        text = read_discovery_file(home / CONFIG_FILE).decode("utf-8") if home else ""
        lines = text.splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    for line in lines:
        match = _CONFIG_LINE.match(line)
        if match and match.group(2).strip("'\"").strip():
            value = Path(match.group(2).strip("'\"")).expanduser()
            if value.is_absolute():  # a relative one follows aider's working folder: unknown
                found[CONFIG_KEYS[match.group(1)]] = value
    for name in CONFIG_KEYS.values():
        named = _file(env, name)
        if named is not None:
            found[name] = named
    return found


def _many_sessions(path: Path) -> str:
    """One history file (or analytics log) holds many runs; each event names its own."""
    return SHARED_SESSION_ID


class AiderAgent(Agent):
    name = AGENT
    display_name = "Aider"
    locations = Roots(default=("~",))
    service_env = (HISTORY_ENV, ANALYTICS_ENV)
    recursive = False  # every root holds its files itself (a project folder, the home folder)

    def __init__(
        self, roots: Sequence[Path] | None = None, env: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(roots)
        source = os.environ if env is None else env
        self._files = configured_files(source, home_dir(source, sys.platform))
        self._history = self._files.get(HISTORY_ENV)
        self._analytics = self._files.get(ANALYTICS_ENV)
        self._projects: tuple[float, list[Path]] | None = None
        history: tuple[str, ...] = (HISTORY_FILE,)
        if self._history is not None:
            history += (glob.escape(self._history.name),)
        streams = [
            StreamSpec("chat_history", JsonlReader(history_line), history, _many_sessions,
                       history_events, shared=True),
        ]  # fmt: skip
        if self._analytics is not None:
            analytics = (glob.escape(self._analytics.name),)
            streams.append(
                StreamSpec("analytics", JsonlReader(), analytics, _many_sessions,
                           analytics_events, shared=True),
            )  # fmt: skip
        self.streams = tuple(streams)

    def resolve_roots(self, env: Mapping[str, str], platform: str) -> list[Path]:
        """The home folder and the folders of the files the two variables name."""
        roots = super().resolve_roots(env, platform)
        for name in (HISTORY_ENV, ANALYTICS_ENV):
            named = _file(env, name)
            if named is not None and named.parent not in roots:
                roots.append(named.parent)
        return roots

    def roots(self) -> Sequence[Path]:
        if self._pinned is not None:
            return self._pinned
        roots = self.resolve_roots(os.environ, sys.platform)
        roots += [p.parent for p in self._files.values() if p.parent not in roots]
        return roots + [p for p in self._known_projects() if p not in roots]

    def _known_projects(self) -> list[Path]:
        """Project folders of any agent's sessions in agenttail's store (cached a while)."""
        now = time.monotonic()
        if self._projects is not None and now - self._projects[0] < PROJECTS_TTL_S:
            return self._projects[1]
        from agenttail.paths import AppPaths
        from agenttail.store import Store

        found: list[Path] = []
        database = AppPaths.resolve().database
        try:
            if database.is_file() and database.stat().st_size:
                with Store(database, readonly=True) as store:
                    known = store.known_projects()
                note_input(KNOWN_PROJECTS, known)  # the next scan asks the store again
                found = [Path(p) for p in known if Path(p).is_absolute()]
            else:
                note_input(KNOWN_PROJECTS, [])
        except (sqlite3.Error, OSError, AgenttailError):  # no store yet: no extra roots
            found = []
            doubt("the store's project folders could not be read")
        self._projects = (now, found)
        return found
