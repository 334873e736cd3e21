"""Generate a $HOME with Gemini CLI, Qwen Code, OpenCode, Kilo CLI or Amp data in the real formats.

Each agent's files go where the agent writes them (``~/.gemini/tmp``, ``~/.qwen/projects``,
``~/.local/share/{opencode,kilo,amp}``), with the pitfalls its format is known for: re-appended
Gemini messages, a legacy ``.json`` left beside its migrated ``.jsonl``, Qwen ``/branch`` copies,
OpenCode forks, in-place message updates, reasoning inside or outside output, Amp ledger threads.
Prompt, response and tool text hold canary strings for the privacy checks.

The expected numbers are this script's own arithmetic, twice: what agenttail must report (the
house meaning: input excludes cache traffic, output includes reasoning, each request once) and
what ccusage 20 reports for the same files (with its double counts), per UTC day and model:

    usage: python scripts/gen_agent_homes.py HOME --agent NAME [--sessions N] [--days D] [--seed S]
                                             [--fixture]

and it prints the expected JSON (also written to ``HOME/expected-<agent>.json``).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

AGENTS = ("gemini_cli", "qwen_code", "opencode", "kilo", "amp")
CLASSES = ("input", "output", "cache_read", "cache_write", "reasoning")
START = datetime(2026, 4, 6, 21, 30, tzinfo=UTC)  # sessions cross UTC midnight


def canary(kind: str, agent: str, n: int) -> str:
    return f"CANARY-{kind}-{agent}-{n} secret text that must never leave the machine"


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


@dataclass
class Expected:
    """Per-day, per-model totals in agenttail's meaning and in ccusage's."""

    agenttail: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: dict.fromkeys(CLASSES, 0)))
    )
    ccusage: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: dict.fromkeys(CLASSES, 0)))
    )
    requests: int = 0
    tool_calls: int = 0
    notes: list[str] = field(default_factory=list)

    def ours(self, moment: datetime, model: str, **counts: int) -> None:
        self.requests += 1
        row = self.agenttail[moment.date().isoformat()][model]
        for key, value in counts.items():
            row[key] += value

    def theirs(self, moment: datetime, model: str, **counts: int) -> None:
        row = self.ccusage[moment.date().isoformat()][model]
        for key, value in counts.items():
            row[key] += value

    def to_json(self, agent: str) -> dict[str, Any]:
        def plain(table: dict[str, dict[str, dict[str, int]]]) -> dict[str, Any]:
            return {
                day: {m: dict(v) for m, v in sorted(ms.items())}
                for day, ms in sorted(table.items())
            }

        return {
            "agent": agent,
            "agenttail": plain(self.agenttail),
            "ccusage": plain(self.ccusage),
            "requests": self.requests,
            "tool_calls": self.tool_calls,
            "notes": self.notes,
        }


class Clock:
    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng, self.now = rng, start

    def tick(self, low: int = 5, high: int = 90) -> datetime:
        self.now += timedelta(seconds=self.rng.randint(low, high))
        return self.now


# -- Gemini CLI ---------------------------------------------------------------------------------


def gemini(home: Path, rng: random.Random, sessions: int, days: int) -> Expected:
    exp = Expected()
    tmp = home / ".gemini" / "tmp"
    models = ("gemini-2.5-pro", "gemini-2.5-flash")
    for s in range(sessions):
        clock = Clock(rng, START + timedelta(days=s % max(1, days), minutes=7 * s))
        session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        slug = f"shop-{s % 3}"
        chats = tmp / slug / "chats"
        chats.mkdir(parents=True, exist_ok=True)
        legacy = s % 4 == 1  # a legacy .json resumed into a .jsonl: both files stay
        start = clock.now
        name = f"session-{iso(start)[:16].replace(':', '-')}-{session_id[:8]}"
        lines: list[dict[str, Any]] = []
        messages: list[dict[str, Any]] = []
        meta = {"sessionId": session_id, "projectHash": f"{s:064x}", "startTime": iso(start)}
        lines.append({**meta, "lastUpdated": iso(start), "kind": "main"})
        for turn in range(rng.randint(2, 5)):
            user = {"id": str(uuid.uuid4()), "timestamp": iso(clock.tick()), "type": "user"}
            user["content"] = [{"text": canary("PROMPT", "gemini", turn)}]
            lines.append(user)
            messages.append(user)
            for step in range(rng.randint(1, 3)):
                model = rng.choice(models)
                moment = clock.tick()
                message: dict[str, Any] = {
                    "id": str(uuid.uuid4()),
                    "timestamp": iso(moment),
                    "type": "gemini",
                    "content": canary("RESPONSE", "gemini", step),
                    "model": model,
                }
                tool_id = f"run_shell_command-{turn}-{step}"
                call = {
                    "id": tool_id,
                    "name": "run_shell_command",
                    "args": {"command": canary("TOOL", "gemini", step)},
                    "status": "executing",
                    "timestamp": iso(moment),
                }
                with_tool = rng.random() < 0.6
                if with_tool:
                    message["toolCalls"] = [call]
                lines.append(dict(message))  # first written without tokens
                prompt = rng.randint(2_000, 60_000)
                cached = rng.randint(0, prompt) if rng.random() < 0.7 else 0
                output, thoughts = rng.randint(10, 3_000), rng.choice((0, rng.randint(1, 2_000)))
                tool = rng.choice((0, 0, rng.randint(1, 50)))
                message["tokens"] = {
                    "input": prompt,
                    "output": output,
                    "cached": cached,
                    "thoughts": thoughts,
                    "tool": tool,
                    "total": prompt + output + thoughts + tool,
                }
                lines.append(dict(message))  # re-appended with its tokens
                if with_tool:
                    message["toolCalls"] = [
                        {
                            **call,
                            "status": "success",
                            "result": [{"text": canary("TOOLOUT", "gemini", step)}],
                        }
                    ]
                    lines.append(dict(message))  # and again with the tool's result
                    exp.tool_calls += 1
                messages.append(message)
                fresh = prompt - cached + tool
                exp.ours(
                    moment,
                    model,
                    input=fresh,
                    output=output + thoughts,
                    cache_read=cached,
                    reasoning=thoughts,
                )
                copies = 2 if legacy else 1  # ccusage reads the .json and the .jsonl
                for _ in range(copies):
                    exp.theirs(
                        moment,
                        model,
                        input=fresh,
                        output=output,
                        cache_read=cached,
                        reasoning=thoughts,
                    )
            lines.append({"$set": {"lastUpdated": iso(clock.now)}})
        if s % 5 == 2:  # a rewind: the messages stay billed
            lines.append({"$rewindTo": messages[-1]["id"]})
        info = {
            "id": str(uuid.uuid4()),
            "timestamp": iso(clock.tick()),
            "type": "info",
            "content": "x",
        }
        lines.append(info)
        _write_jsonl(chats / f"{name}.jsonl", lines)
        if legacy:
            document = {**meta, "lastUpdated": iso(clock.now), "messages": messages, "kind": "main"}
            (chats / f"{name}.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        if s % 3 == 0:  # a subagent's own session, nested under its parent's id
            sub_id = str(uuid.uuid4())
            moment = clock.tick()
            tokens = {
                "input": 4_000,
                "output": 120,
                "cached": 1_000,
                "thoughts": 30,
                "tool": 0,
                "total": 4_150,
            }
            sub = [
                {
                    "sessionId": sub_id,
                    "projectHash": "p",
                    "startTime": iso(moment),
                    "kind": "subagent",
                },
                {
                    "id": "sub-1",
                    "timestamp": iso(moment),
                    "type": "gemini",
                    "model": models[1],
                    "content": "",
                    "tokens": tokens,
                },
            ]
            _write_jsonl(chats / session_id / f"{sub_id}.jsonl", sub)
            exp.ours(moment, models[1], input=3_000, output=150, cache_read=1_000, reasoning=30)
            exp.theirs(moment, models[1], input=3_000, output=120, cache_read=1_000, reasoning=30)
    exp.notes.append(
        "ccusage counts a legacy .json and its migrated .jsonl twice; output excludes thoughts"
    )
    return exp


# -- Qwen Code ----------------------------------------------------------------------------------


@dataclass
class QwenWriter:
    """Chat records of one session, chained by ``parentUuid`` as Qwen Code writes them."""

    session_id: str
    cwd: str
    records: list[dict[str, Any]]
    parent: str | None = None

    def record(self, kind: str, moment: datetime, **extra: Any) -> dict[str, Any]:
        rec = {
            "uuid": str(uuid.uuid4()),
            "parentUuid": self.parent,
            "sessionId": self.session_id,
            "timestamp": iso(moment),
            "type": kind,
            "cwd": self.cwd,
            "version": "0.9.1",
            "gitBranch": "main",
            **extra,
        }
        self.parent = rec["uuid"]
        self.records.append(rec)
        return rec


def qwen(home: Path, rng: random.Random, sessions: int, days: int) -> Expected:
    exp = Expected()
    projects = home / ".qwen" / "projects"
    for s in range(sessions):
        clock = Clock(rng, START + timedelta(days=s % max(1, days), minutes=11 * s))
        session_id = str(uuid.UUID(int=rng.getrandbits(128)))
        cwd = f"/home/dev/app{s % 2}"
        chats = projects / cwd.replace("/", "-") / "chats"
        records: list[dict[str, Any]] = []
        native = s % 3 == 2  # the Gemini API path: thoughts outside candidates
        record = QwenWriter(session_id, cwd, records).record

        record("system", clock.tick(), subtype="ui_telemetry", systemPayload={"uiEvent": {}})
        for turn in range(rng.randint(2, 4)):
            record(
                "user",
                clock.tick(),
                message={"role": "user", "parts": [{"text": canary("PROMPT", "qwen", turn)}]},
            )
            for step in range(rng.randint(1, 3)):
                moment = clock.tick()
                model = "qwen3-coder-plus" if not native else "gemini-2.5-flash"
                prompt = rng.randint(1_000, 40_000)
                cached = rng.randint(0, prompt // 2)
                candidates, thoughts = rng.randint(10, 2_000), rng.choice((0, rng.randint(1, 500)))
                if native:
                    usage = {
                        "promptTokenCount": prompt,
                        "candidatesTokenCount": candidates,
                        "thoughtsTokenCount": thoughts,
                        "cachedContentTokenCount": cached,
                        "totalTokenCount": prompt + candidates + thoughts,
                    }
                    ours_out = candidates + thoughts
                else:
                    thoughts = min(thoughts, candidates)
                    usage = {
                        "promptTokenCount": prompt,
                        "candidatesTokenCount": candidates,
                        "thoughtsTokenCount": thoughts,
                        "totalTokenCount": prompt + candidates,
                        "cachedContentTokenCount": cached,
                    }
                    ours_out = candidates
                call_id = f"call_{s}_{turn}_{step}"
                parts: list[dict[str, Any]] = [{"text": canary("RESPONSE", "qwen", step)}]
                tool = rng.random() < 0.5
                if tool:
                    parts.append(
                        {
                            "functionCall": {
                                "id": call_id,
                                "name": "read_file",
                                "args": {"path": canary("TOOL", "qwen", step)},
                            }
                        }
                    )
                record(
                    "assistant",
                    moment,
                    model=model,
                    message={"role": "model", "parts": parts},
                    usageMetadata=usage,
                    contextWindowSize=131072,
                )
                exp.ours(
                    moment,
                    model,
                    input=prompt - cached,
                    output=ours_out,
                    cache_read=cached,
                    reasoning=thoughts,
                )
                exp.theirs(
                    moment,
                    model,
                    input=prompt,
                    output=candidates,
                    cache_read=cached,
                    reasoning=thoughts,
                )
                if tool:
                    record(
                        "tool_result",
                        clock.tick(1, 3),
                        message={
                            "role": "user",
                            "parts": [
                                {
                                    "functionResponse": {
                                        "id": call_id,
                                        "name": "read_file",
                                        "response": {"output": canary("TOOLOUT", "qwen", step)},
                                    }
                                }
                            ],
                        },
                        toolCallResult={"callId": call_id, "status": "success"},
                    )
                    exp.tool_calls += 1
        _write_jsonl(chats / f"{session_id}.jsonl", records)
        if s % 4 == 3:  # /branch: every record copied verbatim into a new session
            fork_id = str(uuid.uuid4())
            copies = [
                {
                    **r,
                    "sessionId": fork_id,
                    "forkedFrom": {"sessionId": session_id, "messageUuid": r["uuid"]},
                }
                for r in records
            ]
            _write_jsonl(chats / f"{fork_id}.jsonl", copies)
            for rec in copies:
                if rec["type"] == "assistant":
                    u = rec["usageMetadata"]
                    moment = datetime.fromisoformat(rec["timestamp"])
                    exp.theirs(
                        moment,
                        rec["model"],
                        input=u["promptTokenCount"],
                        output=u["candidatesTokenCount"],
                        cache_read=u["cachedContentTokenCount"],
                        reasoning=u["thoughtsTokenCount"],
                    )
    exp.notes.append("ccusage keeps cached tokens inside input and counts /branch copies again")
    return exp


# -- OpenCode and Kilo --------------------------------------------------------------------------

OPENCODE_SCHEMA = """
CREATE TABLE project (id TEXT PRIMARY KEY, worktree TEXT NOT NULL, vcs TEXT,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL);
CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT NOT NULL, parent_id TEXT,
  slug TEXT NOT NULL, directory TEXT NOT NULL, title TEXT NOT NULL, version TEXT NOT NULL,
  share_url TEXT, time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL,
  time_archived INTEGER);
CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT NOT NULL, session_id TEXT NOT NULL,
  time_created INTEGER NOT NULL, time_updated INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX message_session_idx ON message (session_id);
CREATE INDEX part_message_idx ON part (message_id);
"""
SESSION_ROW = (
    "INSERT INTO session VALUES (?, 'prj', ?, ?, '/home/dev/api', ?, '1.2.3', NULL, ?, ?, NULL)"
)


def row(db: sqlite3.Connection, table: str, *values: Any) -> None:
    """One ``message`` or ``part`` row; the last value is the ``data`` JSON."""
    *keys, data = values
    marks = ", ".join("?" for _ in values)
    db.execute(f"INSERT INTO {table} VALUES ({marks})", [*keys, json.dumps(data)])


def step_usage(rng: random.Random, style: str) -> dict[str, Any]:
    """One API call's usage as OpenCode writes it (``style``: v6, v5 or none), with its cost
    and what agenttail counts for it."""
    fresh, out = rng.randint(1, 20_000), rng.randint(5, 3_000)
    reasoning = rng.choice((0, rng.randint(1, 900)))
    read, write = rng.randint(0, 80_000), rng.randint(0, 6_000)
    tokens: dict[str, Any] = {
        "input": fresh,
        "output": out,
        "reasoning": reasoning,
        "cache": {"read": read, "write": write},
    }
    ours_out = out
    if style == "v6":  # output excludes reasoning; total holds everything
        tokens["total"] = fresh + out + reasoning + read + write
        ours_out = out + reasoning
    elif style == "v5":  # reasoning inside output; total without it again
        tokens["total"] = fresh + out + read + write
    ours = {"input": fresh, "output": ours_out, "cache_read": read, "cache_write": write}
    ours["reasoning"] = reasoning
    return {"tokens": tokens, "cost": round(rng.uniform(0.0001, 0.1), 6), "ours": ours}


def ccusage_extra(tokens: dict[str, Any]) -> int:
    """ccusage 20's tokens outside its four columns: reasoning, plus any excess of ``total``."""
    known = tokens["input"] + tokens["output"] + tokens["reasoning"]
    known += tokens["cache"]["read"] + tokens["cache"]["write"]
    return tokens["reasoning"] + max(0, tokens.get("total", 0) - known)


def opencode_store(home: Path, rng: random.Random, sessions: int, days: int, kind: str) -> Expected:
    """``kind`` opencode or kilo: the same store under another name (Kilo has no legacy files)."""
    exp = Expected()
    data_dir = home / ".local" / "share" / kind
    data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(data_dir / f"{kind}.db")
    db.execute("PRAGMA journal_mode = WAL")
    db.executescript(OPENCODE_SCHEMA)
    counter = iter(range(10**9))

    def next_id(prefix: str) -> str:
        return f"{prefix}_{next(counter):012d}{rng.getrandbits(24):06x}"

    providers = (
        ("anthropic", "claude-sonnet-4-5"),
        ("openai", "gpt-5"),
        ("google", "gemini-2.5-pro"),
    )
    db.execute("INSERT INTO project VALUES ('prj', '/home/dev/api', 'git', 0, 0)")
    forkable: list[tuple[str, list[tuple[str, dict[str, Any], datetime, list[Any]]]]] = []
    for s in range(sessions):
        clock = Clock(rng, START + timedelta(days=s % max(1, days), minutes=13 * s))
        session_id = next_id("ses")
        parent = forkable[-1][0] if s % 5 == 4 and forkable else None  # a subtask session
        created = clock.tick()
        db.execute(
            SESSION_ROW,
            (session_id, parent, "slug", canary("TITLE", kind, s), ms(created), ms(created)),
        )
        kept: list[tuple[str, dict[str, Any], datetime, list[Any]]] = []
        for turn in range(rng.randint(2, 4)):
            user_id, moment = next_id("msg"), clock.tick()
            user = {
                "role": "user",
                "time": {"created": ms(moment)},
                "agent": "build",
                "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"},
            }
            row(db, "message", user_id, session_id, ms(moment), ms(moment), user)
            text = {"type": "text", "text": canary("PROMPT", kind, turn)}
            row(db, "part", next_id("prt"), user_id, session_id, ms(moment), ms(moment), text)
            for _reply in range(rng.randint(1, 3)):
                provider, model = rng.choice(providers)
                style = rng.choice(("v6", "v6", "v5", "none"))
                with_steps = rng.random() < 0.8  # builds before step parts: the message only
                start = clock.tick()
                steps = [step_usage(rng, style) for _ in range(rng.choice((1, 1, 2, 3)))]
                step_ends = [clock.tick(2, 40) for _ in steps]
                end = step_ends[-1]
                tokens = steps[-1]  # OpenCode keeps only the last step's tokens on the message
                cost = round(sum(step["cost"] for step in steps), 6)
                msg_id = next_id("msg")
                data = {
                    "role": "assistant",
                    "time": {"created": ms(start), "completed": ms(end)},
                    "parentID": user_id,
                    "modelID": model,
                    "providerID": provider,
                    "mode": "build",
                    "agent": "build",
                    "path": {"cwd": "/home/dev/api", "root": "/home/dev/api"},
                    "cost": cost,
                    "tokens": tokens["tokens"],
                    "finish": "stop",
                }
                streaming = {
                    **data,
                    "time": {"created": ms(start)},
                    "cost": 0,
                    "tokens": {
                        "input": 0,
                        "output": 0,
                        "reasoning": 0,
                        "cache": {"read": 0, "write": 0},
                    },
                }
                row(db, "message", msg_id, session_id, ms(start), ms(start), streaming)
                db.execute(
                    "UPDATE message SET data = ?, time_updated = ? WHERE id = ?",
                    (json.dumps(data), ms(end), msg_id),
                )
                text = {"type": "text", "text": canary("RESPONSE", kind, turn)}
                row(db, "part", next_id("prt"), msg_id, session_id, ms(start), ms(start), text)
                parts: list[dict[str, Any]] = []
                if rng.random() < 0.5:
                    state = {
                        "status": "completed",
                        "input": {"filePath": canary("TOOL", kind, turn)},
                        "output": canary("TOOLOUT", kind, turn),
                        "title": "x",
                        "metadata": {},
                        "time": {"start": ms(start) + 5, "end": ms(end) - 5},
                    }
                    tool = {
                        "type": "tool",
                        "tool": "edit",
                        "callID": f"call_{msg_id}",
                        "state": state,
                    }
                    row(db, "part", next_id("prt"), msg_id, session_id, ms(start), ms(end), tool)
                    exp.tool_calls += 1
                for usage, step_end in zip(steps, step_ends, strict=True):
                    if with_steps:
                        part = {"type": "step-finish", "reason": "tool-calls", "snapshot": "a1"}
                        part |= {"cost": usage["cost"], "tokens": usage["tokens"]}
                        parts.append(part)
                        row(
                            db,
                            "part",
                            next_id("prt"),
                            msg_id,
                            session_id,
                            ms(step_end),
                            ms(step_end),
                            part,
                        )
                    if with_steps or usage is tokens:  # each step is one API call
                        exp.ours(step_end if with_steps else start, model, **usage["ours"])
                last = tokens["tokens"]
                exp.theirs(
                    start,
                    model,
                    input=last["input"],
                    output=last["output"],
                    cache_read=last["cache"]["read"],
                    cache_write=last["cache"]["write"],
                    reasoning=ccusage_extra(last),
                )
                kept.append((msg_id, data, start, parts))
        forkable.append((session_id, kept))
        if kind == "opencode" and s % 3 == 1:  # legacy file of a message also in the database
            msg_id, data, _, _ = kept[0]
            folder = data_dir / "storage" / "message" / session_id
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{msg_id}.json").write_text(
                json.dumps({"id": msg_id, "sessionID": session_id, **data}), encoding="utf-8"
            )
    if kind == "opencode":
        # a fork: every message cloned under a new id into a session created afterwards
        source = forkable[0][1]
        fork_id, later = next_id("ses"), START + timedelta(days=days + 1)
        db.execute(
            SESSION_ROW,
            (fork_id, None, "slug2", "fork (fork #1)", ms(later), ms(later)),
        )
        for _msg_id, data, start, parts in source:
            copy_id = next_id("msg")
            row(db, "message", copy_id, fork_id, ms(later), ms(later), data)
            for part in parts:  # the fork clones parts too, under new ids
                row(db, "part", next_id("prt"), copy_id, fork_id, ms(later), ms(later), part)
            tokens = data["tokens"]
            exp.theirs(
                start,
                data["modelID"],
                input=tokens["input"],
                output=tokens["output"],
                cache_read=tokens["cache"]["read"],
                cache_write=tokens["cache"]["write"],
                reasoning=ccusage_extra(tokens),
            )
        # a legacy-only message (from before the database existed)
        old = START - timedelta(days=3)
        legacy = {
            "id": "msg_legacy_only",
            "sessionID": "ses_legacy",
            "role": "assistant",
            "time": {"created": ms(old), "completed": ms(old) + 900},
            "modelID": "claude-sonnet-4-5",
            "providerID": "anthropic",
            "cost": 0.01,
            "tokens": {
                "input": 700,
                "output": 90,
                "reasoning": 0,
                "cache": {"read": 300, "write": 50},
            },
        }
        folder = data_dir / "storage" / "message" / "ses_legacy"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "msg_legacy_only.json").write_text(json.dumps(legacy, indent=2), encoding="utf-8")
        exp.ours(old, "claude-sonnet-4-5", input=700, output=90, cache_read=300, cache_write=50)
        exp.theirs(old, "claude-sonnet-4-5", input=700, output=90, cache_read=300, cache_write=50)
        exp.notes.append("ccusage counts a forked session's cloned messages again")
    db.commit()
    db.close()
    return exp


# -- Amp ----------------------------------------------------------------------------------------


def amp(home: Path, rng: random.Random, sessions: int, days: int) -> Expected:
    exp = Expected()
    threads = home / ".local" / "share" / "amp" / "threads"
    threads.mkdir(parents=True, exist_ok=True)
    for s in range(sessions):
        clock = Clock(rng, START + timedelta(days=s % max(1, days), minutes=17 * s))
        thread_id = f"T-{uuid.UUID(int=rng.getrandbits(128))}"
        ledger = s % 4 == 3  # the older schema: usageLedger events
        messages: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        next_id = 0
        for turn in range(rng.randint(1, 3)):
            messages.append(
                {
                    "role": "user",
                    "messageId": next_id,
                    "content": [{"type": "text", "text": canary("PROMPT", "amp", turn)}],
                    "meta": {"sentAt": ms(clock.tick())},
                }
            )
            next_id += 1
            for step in range(rng.randint(1, 3)):
                moment = clock.tick()
                fresh, out = rng.randint(1, 50), rng.randint(10, 2_000)
                write, read = rng.randint(0, 20_000), rng.randint(0, 90_000)
                model = rng.choice(("claude-opus-4-6", "claude-sonnet-4-5"))
                tool_id = f"toolu_vrtx_{s}_{turn}_{step}"
                usage = {
                    "model": model,
                    "maxInputTokens": 168000,
                    "inputTokens": fresh,
                    "outputTokens": out,
                    "cacheCreationInputTokens": write,
                    "cacheReadInputTokens": read,
                    "totalInputTokens": fresh + write + read,
                    "timestamp": iso(moment),
                }
                content: list[dict[str, Any]] = [
                    {"type": "text", "text": canary("RESPONSE", "amp", step)}
                ]
                tool = rng.random() < 0.5
                if tool:
                    content.append(
                        {
                            "type": "tool_use",
                            "id": tool_id,
                            "name": "Read",
                            "input": {"path": canary("TOOL", "amp", step)},
                            "complete": True,
                        }
                    )
                messages.append(
                    {
                        "role": "assistant",
                        "messageId": next_id,
                        "content": content,
                        "state": {
                            "type": "complete",
                            "stopReason": "tool_use" if tool else "end_turn",
                        },
                        "usage": usage,
                    }
                )
                if ledger:
                    events.append(
                        {
                            "id": f"evt-{s}-{next_id}",
                            "timestamp": iso(moment),
                            "model": model,
                            "credits": 1.5,
                            "tokens": {"input": fresh, "output": out},
                            "toMessageId": next_id,
                            "operationType": "inference",
                        }
                    )
                next_id += 1
                exp.ours(moment, model, input=fresh, output=out, cache_read=read, cache_write=write)
                exp.theirs(
                    moment, model, input=fresh, output=out, cache_read=read, cache_write=write
                )
                if tool:
                    messages.append(
                        {
                            "role": "user",
                            "messageId": next_id,
                            "content": [
                                {
                                    "type": "tool_result",
                                    "toolUseID": tool_id,
                                    "run": {
                                        "status": "done",
                                        "result": canary("TOOLOUT", "amp", step),
                                    },
                                }
                            ],
                        }
                    )
                    next_id += 1
                    exp.tool_calls += 1
        thread: dict[str, Any] = {
            "v": 40 + len(messages),
            "id": thread_id,
            "created": ms(START),
            "messages": messages,
            "agentMode": "smart",
            "nextMessageId": next_id,
            "meta": {"traces": []},
            "env": {"initial": {"trees": [{"displayName": "web", "uri": "file:///home/dev/web"}]}},
            "title": canary("TITLE", "amp", s),
        }
        if ledger:
            thread["usageLedger"] = {"events": events}
        (threads / f"{thread_id}.json").write_text(json.dumps(thread, indent=2), encoding="utf-8")
    return exp


def _write_jsonl(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, separators=(",", ":")) + "\n")


# Each agent's first root, relative to HOME: what ``fixtures/<agent>/root/`` holds.
ROOTS = {
    "gemini_cli": ".gemini/tmp",
    "qwen_code": ".qwen/projects",
    "opencode": ".local/share/opencode",
    "kilo": ".local/share/kilo",
    "amp": ".local/share/amp",
}

GENERATORS: dict[str, Callable[[Path, random.Random, int, int], Expected]] = {
    "gemini_cli": gemini,
    "qwen_code": qwen,
    "opencode": lambda h, r, s, d: opencode_store(h, r, s, d, "opencode"),
    "kilo": lambda h, r, s, d: opencode_store(h, r, s, d, "kilo"),
    "amp": amp,
}


def generate(home: Path, agent: str, sessions: int, days: int, seed: int) -> dict[str, Any]:
    expected = GENERATORS[agent](home, random.Random(seed), sessions, days).to_json(agent)
    (home / f"expected-{agent}.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")
    return expected


def fixture(out: Path, agent: str, sessions: int, days: int, seed: int) -> dict[str, Any]:
    """``out/root`` = the agent's first root, ``out/expected.json`` its totals."""
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch)
        expected = generate(home, agent, sessions, days, seed)
        shutil.rmtree(out / "root", ignore_errors=True)
        shutil.copytree(home / ROOTS[agent], out / "root")
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n", encoding="utf-8")
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("home", type=Path)
    parser.add_argument("--agent", choices=AGENTS, required=True)
    parser.add_argument("--sessions", type=int, default=6)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--fixture", action="store_true", help="write HOME/root (the first root) and expected.json"
    )
    args = parser.parse_args(argv)
    args.home.mkdir(parents=True, exist_ok=True)
    if args.fixture:
        expected = fixture(args.home, args.agent, args.sessions, args.days, args.seed)
    else:
        expected = generate(args.home, args.agent, args.sessions, args.days, args.seed)
    json.dump(expected, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
