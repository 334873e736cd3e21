#!/usr/bin/env python3
"""Generate Pi (pi-coding-agent) or OpenClaw session trees for parity and load tests.

Usage::

    python scripts/gen_pi_corpus.py OUT_DIR [--layout pi|openclaw] [--sessions N] [--turns T]
        [--days D] [--seed S] [--forks] [--archives]

Layouts written::

    pi:        OUT_DIR/root/--home-dev-project-K--/<ISO-ts>_<uuid>.jsonl  (root: a sessions dir)
    openclaw:  OUT_DIR/root/agents/<agent>/sessions/<uuid>.jsonl  (root: a state dir; + archives)
    OUT_DIR/expected.json

Every line is the real format (pi ``docs/session.md``): a ``session`` header, then entries with
``id``/``parentId``/ISO ``timestamp``; assistant messages carry ``provider``, ``model``,
``usage{input, output, cacheRead, cacheWrite, totalTokens, cost{...}}``, ``stopReason`` and
``toolCall`` blocks; tool results carry ``toolCallId``, ``toolName``, ``isError``. OpenClaw
sessions set the model by ``model_change`` and ``custom``/``model-snapshot`` entries and leave it
out of some messages. Prompts, responses and tool text hold CANARY strings (never uploaded).

Edge cases: aborted messages with all-zero usage (never counted), usage with only
``totalTokens`` (counted as output, as ccusage does), ``stopReason: "error"`` with usage,
``/tree`` branches (an entry whose parent is an earlier entry), midnight crossings.
``--forks`` adds sessions made by pi's ``/fork`` (``createBranchedSession``): a new file (new
session id, ``parentSession`` in the header) holding a verbatim copy of the parent's
root-to-leaf path, then its own turns.
``--archives`` (OpenClaw) renames some finished transcripts to ``<id>.jsonl.reset.<ts>`` and
starts a fresh transcript for the session, and keeps a pre-compaction copy of others as
``<id>.checkpoint.<uuid>.jsonl``.

``expected.json`` is the generator's own arithmetic, per UTC day, counting each request once:
what agenttail reports, and what ccusage 20.0.24 reports when it finds each fork's parent at
the path its header names (it then drops the copied prefix that matches the parent's active
branch, ccusage#1662). ``copies`` holds the copied requests: ccusage counts a fork's copies
again when the parent path does not resolve (a moved or restored store, ``--parent-root``
elsewhere), and an OpenClaw checkpoint twin's always.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
MODELS = (
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-5"),
    ("anthropic", "claude-haiku-4-5"),
)


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Session:
    path: Path
    header: dict[str, Any]
    lines: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Corpus:
    rng: random.Random
    layout: str
    out: Path
    parent_root: str | None = None
    requests: dict[str, tuple[str, dict[str, int], str]] = field(default_factory=dict)
    copies: list[tuple[str, dict[str, int], str]] = field(default_factory=list)
    recorded: dict[str, tuple[str, dict[str, int], str]] = field(default_factory=dict)

    def entry_id(self) -> str:
        return f"{self.rng.getrandbits(32):08x}"

    def new_session(self, index: int, start: datetime, parent: Session | None) -> Session:
        sid = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        cwd = f"/home/dev/project-{index % 3}"
        if self.layout == "pi":
            folder = self.out / "root" / f"--{cwd.lstrip('/').replace('/', '-')}--"
            name = f"{iso(start).replace(':', '-').replace('.', '-')}_{sid}.jsonl"
        else:
            agent = "main" if index % 2 == 0 else "coder"
            folder = self.out / "root" / "agents" / agent / "sessions"
            name = f"{sid}.jsonl"
        header: dict[str, Any] = {
            "type": "session",
            "version": 3,
            "id": sid,
            "timestamp": iso(start),
            "cwd": cwd,
        }
        if parent is not None:  # an absolute path, as the agent writes it
            relative = parent.path.relative_to(self.out / "root").as_posix()
            root = self.parent_root or (self.out / "root").absolute()
            header["parentSession"] = f"{root}/{relative}"
        return Session(folder / name, header)

    def usage(self, provider: str) -> dict[str, Any]:
        cache_read = self.rng.randint(0, 60_000)
        cache_write = self.rng.randint(0, 4000) if provider == "anthropic" else 0
        fresh = self.rng.randint(1, 3000)
        output = self.rng.randint(1, 2500)
        return {
            "input": fresh,
            "output": output,
            "cacheRead": cache_read,
            "cacheWrite": cache_write,
            "totalTokens": fresh + output + cache_read + cache_write,
            "cost": {
                "input": 0.0,
                "output": 0.0,
                "cacheRead": 0.0,
                "cacheWrite": 0.0,
                "total": round(self.rng.uniform(0.0001, 0.2), 6),
            },
        }

    def turn(self, s: Session, clock: datetime, turn: int, edges: bool) -> datetime:
        rng = self.rng
        parent = s.lines[-1]["id"] if s.lines and "id" in s.lines[-1] else None
        if edges and turn % 9 == 8 and len(s.lines) > 4:  # a /tree branch from an older entry
            parent = s.lines[-4]["id"]
        user_id = self.entry_id()
        s.lines.append(
            {
                "type": "message",
                "id": user_id,
                "parentId": parent,
                "timestamp": iso(clock),
                "message": {
                    "role": "user",
                    "content": f"CANARY-PROMPT-{turn} please refactor",
                    "timestamp": int(clock.timestamp() * 1000),
                },
            }
        )
        provider, model = MODELS[rng.randrange(len(MODELS))]
        if self.layout == "openclaw" and turn % 5 == 0:
            s.lines.append(
                {
                    "type": "custom" if turn % 10 == 0 else "model_change",
                    "id": self.entry_id(),
                    "parentId": user_id,
                    "timestamp": iso(clock),
                    **(
                        {
                            "customType": "model-snapshot",
                            "data": {"provider": provider, "modelId": model},
                        }
                        if turn % 10 == 0
                        else {"provider": provider, "modelId": model}
                    ),
                }
            )
            s.header.setdefault("_model", (provider, model))
            s.header["_model"] = (provider, model)
        clock += timedelta(seconds=rng.randint(2, 90))
        usage = self.usage(provider)
        stop = "toolUse"
        kind = rng.random()
        if edges and kind < 0.06:
            usage = {k: 0 for k in ("input", "output", "cacheRead", "cacheWrite", "totalTokens")}
            usage["cost"] = {"total": 0}
            stop = "aborted"
        elif edges and kind < 0.10:
            total = rng.randint(100, 5000)
            usage = {"totalTokens": total}
            stop = "stop"
        elif edges and kind < 0.14:
            stop = "error"
        call_id = f"call_{uuid.UUID(int=rng.getrandbits(128)).hex[:20]}"
        message: dict[str, Any] = {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "CANARY-THINKING private reasoning"},
                {"type": "text", "text": f"CANARY-RESPONSE-{turn} done"},
                {
                    "type": "toolCall",
                    "id": call_id,
                    "name": "bash",
                    "arguments": {"command": "echo CANARY-TOOL-INPUT"},
                },
            ],
            "api": "anthropic-messages" if provider == "anthropic" else "openai-responses",
            "provider": provider,
            "model": model,
            "usage": usage,
            "stopReason": stop,
            "timestamp": int(clock.timestamp() * 1000),
        }
        if stop == "error":
            message["errorMessage"] = "CANARY-ERROR overloaded"
        implicit = self.layout == "openclaw" and turn % 3 == 1 and "_model" in s.header
        if implicit:  # OpenClaw messages may leave the model to the last model_change
            provider, model = s.header["_model"]
            del message["model"]
            del message["provider"]
        entry: dict[str, Any] = {
            "type": "message",
            "id": self.entry_id(),
            "parentId": user_id,
            "timestamp": iso(clock),
            "message": message,
        }
        s.lines.append(entry)
        tokens = {
            "input_tokens": int(usage.get("input", 0)),
            "output_tokens": int(usage.get("output", 0)),
            "cache_write_tokens": int(usage.get("cacheWrite", 0)),
            "cache_read_tokens": int(usage.get("cacheRead", 0)),
        }
        if "input" not in usage:
            tokens["output_tokens"] = int(usage["totalTokens"])
        if any(tokens.values()):
            key = json.dumps([entry["timestamp"], message["timestamp"], provider, model, usage])
            record = (entry["timestamp"][:10], tokens, model)
            self.requests[key] = record
            self.recorded[entry["id"]] = record
        clock += timedelta(seconds=rng.randint(1, 30))
        s.lines.append(
            {
                "type": "message",
                "id": self.entry_id(),
                "parentId": entry["id"],
                "timestamp": iso(clock),
                "message": {
                    "role": "toolResult",
                    "toolCallId": call_id,
                    "toolName": "bash",
                    "content": [{"type": "text", "text": "CANARY-TOOL-OUTPUT"}],
                    "isError": rng.random() < 0.2,
                    "timestamp": int(clock.timestamp() * 1000),
                },
            }
        )
        return clock + timedelta(minutes=rng.randint(1, 40))


def branch(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The entries from the root to the last entry (``createBranchedSession``'s copy)."""
    by_id = {line["id"]: line for line in lines}
    path: list[dict[str, Any]] = []
    entry: dict[str, Any] | None = lines[-1] if lines else None
    while entry is not None:
        path.append(entry)
        entry = by_id.get(entry.get("parentId") or "")
    return path[::-1]


def write(session: Session) -> None:
    session.path.parent.mkdir(parents=True, exist_ok=True)
    header = {k: v for k, v in session.header.items() if not k.startswith("_")}
    with open(session.path, "w", encoding="utf-8") as handle:
        for line in (header, *session.lines):
            handle.write(json.dumps(line, separators=(",", ":")) + "\n")


def totals(records: list[tuple[str, dict[str, int], str]]) -> dict[str, Any]:
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    models: dict[str, dict[str, dict[str, int]]] = defaultdict(dict)
    for day, tokens, model in records:
        per_model = models[day].setdefault(model, dict.fromkeys(FIELDS, 0))
        for name in FIELDS:
            days[day][name] += tokens[name]
            per_model[name] += tokens[name]
    rows = []
    for day in sorted(days):
        row: dict[str, Any] = {"date": day, **days[day]}
        row["total_tokens"] = sum(days[day].values())
        row["by_model"] = dict(sorted(models[day].items()))
        rows.append(row)
    grand = {name: sum(r[name] for r in rows) for name in (*FIELDS, "total_tokens")}
    return {"daily": rows, "totals": grand}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--layout", choices=("pi", "openclaw"), default="pi")
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--forks", action="store_true")
    parser.add_argument("--archives", action="store_true")
    parser.add_argument("--no-edge-cases", action="store_true")
    parser.add_argument(
        "--parent-root",
        help="the sessions folder a fork header names its parent in (default: OUT_DIR/root)",
    )
    args = parser.parse_args()
    corpus = Corpus(random.Random(args.seed), args.layout, args.out, args.parent_root)
    start = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    sessions: list[Session] = []
    for index in range(args.sessions):
        clock = start + timedelta(hours=(24 * args.days) * index // max(1, args.sessions))
        clock += timedelta(hours=17 if index % 4 == 1 else 0)  # some sessions cross midnight
        parent = sessions[-1] if args.forks and index % 3 == 2 and sessions else None
        if parent is not None:  # a fork is made after the last entry it copies
            last = datetime.fromisoformat(parent.lines[-1]["timestamp"].replace("Z", "+00:00"))
            clock = max(clock, last + timedelta(minutes=5))
        session = corpus.new_session(index, clock, parent)
        if parent is not None:  # pi's /fork: the parent's root-to-leaf path copied verbatim
            for line in branch(parent.lines):
                session.lines.append(json.loads(json.dumps(line)))
                record = corpus.recorded.get(line["id"])
                if record is not None:
                    corpus.copies.append(record)
            session.header["_model"] = parent.header.get("_model")
            if session.header["_model"] is None:
                del session.header["_model"]
        for turn in range(args.turns):
            clock = corpus.turn(session, clock, turn, not args.no_edge_cases)
        sessions.append(session)
        if args.archives and args.layout == "openclaw" and index % 3 == 0:
            write(session)  # /reset: the finished transcript is renamed, a new one begins
            stamp = iso(clock).replace(":", "-")
            session.path.rename(session.path.with_name(f"{session.path.name}.reset.{stamp}"))
            fresh = corpus.new_session(index, clock, None)
            fresh.header["_model"] = session.header.get("_model")
            if fresh.header["_model"] is None:
                del fresh.header["_model"]
            for turn in range(args.turns // 2):
                clock = corpus.turn(fresh, clock, turn, not args.no_edge_cases)
            sessions.append(fresh)
            write(fresh)
            continue
        write(session)
        if args.archives and args.layout == "openclaw" and index % 3 == 1:
            twin = uuid.UUID(int=corpus.rng.getrandbits(128), version=4)
            name = session.path.name.replace(".jsonl", f".checkpoint.{twin}.jsonl")
            session.path.with_name(name).write_bytes(session.path.read_bytes())
            corpus.copies.extend(
                r for line in session.lines if (r := corpus.recorded.get(line["id"]))
            )
    expected = totals(list(corpus.requests.values()))
    expected["copies"] = totals(corpus.copies)
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
