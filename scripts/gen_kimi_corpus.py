#!/usr/bin/env python3
"""Generate a Kimi CLI share dir (``KIMI_SHARE_DIR``) for parity and load tests.

Usage::

    python scripts/gen_kimi_corpus.py OUT_DIR [--sessions N] [--turns T] [--days D] [--seed S]
        [--forks] [--subagents]

Layout written (the real one: ``kimi_cli/metadata.py``, ``session.py``, ``subagents/store.py``)::

    OUT_DIR/root/config.toml, OUT_DIR/root/kimi.json      (root: a share dir)
    OUT_DIR/root/sessions/<md5(work dir)>/<session uuid>/wire.jsonl
    OUT_DIR/root/sessions/<md5(work dir)>/<session uuid>/subagents/<agent id>/wire.jsonl
    OUT_DIR/expected.json

Wire lines are what ``WireFile`` writes (``json.dumps``, spaced separators): a ``metadata``
header, then ``{"timestamp": <seconds>, "message": {"type", "payload"}}`` records: TurnBegin,
StepBegin, ContentPart, ToolCall, ToolResult, StatusUpdate (``token_usage`` and
``message_id``; some carry only context or plan-mode changes), StepRetry, TurnEnd. Prompts,
responses and tool text hold CANARY strings. ``--forks`` adds sessions made by Kimi's fork:
the parent's wire lines up to a turn, copied verbatim into a new session. ``--subagents`` gives
some turns an Agent tool call whose subagent writes its own wire, its events also wrapped in
``SubagentEvent`` records in the parent's wire.

``expected.json``: ``daily``/``totals`` count each request (``message_id``) once, as agenttail
does; ``ccusage`` is what ccusage 20.0.24 reports (checked against the binary): top-level
``StatusUpdate`` lines of each session's wire and of its subagents' wires (``SubagentEvent``
copies ignored), keyed with the session folder, so a fork's copied lines count again.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")
WORK_DIRS = ("/home/dev/shop", "/home/dev/api", "/home/dev/infra")


def line(ts: float, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"timestamp": ts, "message": {"type": kind, "payload": payload}}


class Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.requests: dict[str, tuple[str, dict[str, int]]] = {}
        self.ccusage: list[tuple[str, dict[str, int]]] = []

    def status(self, ts: float) -> dict[str, Any]:
        rng = self.rng
        usage = {
            "input_other": rng.randint(1, 4000),
            "output": rng.randint(1, 3000),
            "input_cache_read": rng.randint(0, 80_000),
            "input_cache_creation": rng.randint(0, 2000) if rng.random() < 0.3 else 0,
        }
        message_id = f"chatcmpl-{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}"
        tokens = {
            "input_tokens": usage["input_other"],
            "output_tokens": usage["output"],
            "cache_read_tokens": usage["input_cache_read"],
            "cache_write_tokens": usage["input_cache_creation"],
        }
        day = datetime.fromtimestamp(int(ts * 1000) / 1000, UTC).date().isoformat()
        self.requests[message_id] = (day, tokens)
        self.ccusage.append((day, tokens))
        context = usage["input_other"] + usage["input_cache_read"] + usage["input_cache_creation"]
        return {
            "context_usage": round(context / 262144, 4),
            "context_tokens": context,
            "max_context_tokens": 262144,
            "token_usage": usage,
            "message_id": message_id,
            "plan_mode": False,
            "mcp_status": None,
        }

    def turn(self, wire: list[dict[str, Any]], ts: float, n: int, sub_dir: Path | None) -> float:
        rng = self.rng
        wire.append(line(ts, "TurnBegin", {"user_input": f"CANARY-PROMPT-{n} fix the tests"}))
        for step in range(1, rng.randint(2, 4)):
            ts += rng.uniform(0.5, 4)
            wire.append(line(ts, "StepBegin", {"n": step}))
            if rng.random() < 0.1:
                wire.append(
                    line(
                        ts,
                        "StepRetry",
                        {
                            "n": step,
                            "next_attempt": 2,
                            "max_attempts": 3,
                            "wait_s": 1.0,
                            "error_type": "APIStatusError",
                            "status_code": 429,
                        },
                    )
                )
                ts += 1.5
            text = {"type": "text", "text": f"CANARY-RESPONSE-{n}-{step}"}
            wire.append(line(ts, "ContentPart", text))
            call_id = f"tool_{uuid.UUID(int=rng.getrandbits(128)).hex[:16]}"
            agent_call = sub_dir is not None and step == 1 and n % 4 == 1
            name = "Agent" if agent_call else "Shell"
            wire.append(
                line(
                    ts,
                    "ToolCall",
                    {
                        "type": "function",
                        "id": call_id,
                        "function": {"name": name, "arguments": '{"command": "CANARY-TOOL"}'},
                        "extras": None,
                    },
                )
            )
            ts += rng.uniform(0.2, 2)
            if rng.random() < 0.05:  # a status line without usage (plan mode toggled)
                wire.append(line(ts, "StatusUpdate", {"plan_mode": True}))
            wire.append(line(ts, "StatusUpdate", self.status(ts)))
            if agent_call and sub_dir is not None:
                ts = self.subagent(wire, ts, call_id, sub_dir)
            wire.append(
                line(
                    ts + 0.3,
                    "ToolResult",
                    {
                        "tool_call_id": call_id,
                        "return_value": {
                            "is_error": rng.random() < 0.2,
                            "output": "CANARY-TOOL-OUTPUT",
                            "message": "",
                            "display": [],
                        },
                    },
                )
            )
            ts += 0.5
        wire.append(line(ts, "TurnEnd", {}))
        return ts

    def subagent(self, parent: list[dict[str, Any]], ts: float, call_id: str, dirs: Path) -> float:
        agent_id = f"a{uuid.UUID(int=self.rng.getrandbits(128)).hex[:8]}"
        own: list[dict[str, Any]] = []
        own.append(line(ts, "TurnBegin", {"user_input": "CANARY-SUBAGENT-PROMPT"}))
        for step in range(1, 3):
            ts += self.rng.uniform(0.5, 3)
            own.append(line(ts, "StepBegin", {"n": step}))
            own.append(line(ts, "StatusUpdate", self.status(ts)))
        own.append(line(ts, "TurnEnd", {}))
        for record in own:  # the parent's wire gets every subagent event, wrapped
            wrapped = {
                "parent_tool_call_id": call_id,
                "agent_id": agent_id,
                "subagent_type": "coder",
                "event": record["message"],
            }
            parent.append(line(record["timestamp"] + 0.01, "SubagentEvent", wrapped))
        write_wire(dirs / agent_id / "wire.jsonl", own)
        return ts + 0.1


def write_wire(path: Path, records: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps({"type": "metadata", "protocol_version": "1.10"}) + "\n")
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def totals(records: list[tuple[str, dict[str, int]]]) -> dict[str, Any]:
    days: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    for day, tokens in records:
        for name in FIELDS:
            days[day][name] += tokens[name]
    rows = [
        {"date": day, **days[day], "total_tokens": sum(days[day].values())} for day in sorted(days)
    ]
    grand = {name: sum(r[name] for r in rows) for name in (*FIELDS, "total_tokens")}
    return {"daily": rows, "totals": grand}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--days", type=int, default=8)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--forks", action="store_true")
    parser.add_argument("--subagents", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    writer = Writer(rng)
    out: Path = args.out / "root"
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.toml").write_text(
        'default_model = "kimi-for-coding"\n\n[models.kimi-for-coding]\n'
        'provider = "managed:kimi-code"\nmodel = "kimi-for-coding"\nmax_context_size = 262144\n',
        encoding="utf-8",
    )
    (out / "kimi.json").write_text(
        json.dumps(
            {
                "work_dirs": [
                    {"path": p, "kaos": "local", "last_session_id": None} for p in WORK_DIRS
                ]
            }
        ),
        encoding="utf-8",
    )
    start = datetime(2026, 11, 1, 7, 0, tzinfo=UTC).timestamp()
    previous: tuple[Path, list[dict[str, Any]]] | None = None
    for index in range(args.sessions):
        group = hashlib.md5(WORK_DIRS[index % 3].encode()).hexdigest()
        session_dir = out / "sessions" / group / str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ts = start + index * args.days * 86400 / max(1, args.sessions) + rng.uniform(0, 3600)
        if index % 4 == 3:
            ts += 15 * 3600  # runs past midnight
        wire: list[dict[str, Any]] = []
        if args.forks and previous is not None and index % 3 == 2:
            copied = previous[1]
            cut = [i for i, r in enumerate(copied) if r["message"]["type"] == "TurnBegin"]
            end = cut[len(cut) // 2] if len(cut) > 1 else len(copied)
            wire.extend(json.loads(json.dumps(r)) for r in copied[:end])
            for record in wire:
                if (
                    record["message"]["type"] == "StatusUpdate"
                    and "token_usage" in record["message"]["payload"]
                ):
                    tokens = writer.requests[record["message"]["payload"]["message_id"]]
                    writer.ccusage.append(tokens)
            ts = max(ts, copied[-1]["timestamp"] + 60)
        subagents = session_dir / "subagents" if args.subagents and index % 2 == 0 else None
        for n in range(args.turns):
            ts = writer.turn(wire, ts, n, subagents) + rng.uniform(60, 2400)
        write_wire(session_dir / "wire.jsonl", wire)
        previous = (session_dir, wire)
    expected = totals(list(writer.requests.values()))
    expected["ccusage"] = totals(writer.ccusage)
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
