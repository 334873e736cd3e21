"""Generate a ``CODEX_HOME`` with Codex rollouts in the real format, and the totals it must give.

Rollouts go to ``sessions/YYYY/MM/DD/rollout-<ts>-<uuid>.jsonl`` (compact JSON, one
``{timestamp, type, payload}`` per line, as codex-rs writes them) with the format's pitfalls:
``token_count`` events re-emitted with an unchanged running total, rate-limit-only
``token_count`` lines (``info: null``), model switches between turns, sessions crossing UTC
midnight, a rollout copied into ``archived_sessions/``, a fork (``forked_from_id``) replaying
its parent with the original timestamps, a spawned sub-agent replaying it re-stamped to its
creation second, and a sub-agent whose counter restarts. Prompt, reasoning, response and tool
text hold canary strings for the privacy checks.

The expected numbers are this script's own arithmetic, per UTC day and model: every model call
once, input without the cached part, output with reasoning (ccusage 20.0.24 reports the same
for these files: ``tests/test_codex.py`` runs it):

    usage: python scripts/gen_codex_home.py CODEX_HOME [--sessions N] [--days D] [--seed S]

and it prints the expected JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

CLASSES = ("input", "output", "cache_read", "cache_write", "reasoning")
MODELS = ("gpt-5-codex", "gpt-5", "gpt-5.1-codex")
START = datetime(2026, 3, 2, 22, 40, tzinfo=UTC)  # sessions cross UTC midnight
WINDOW = 272_000


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line(moment: datetime, kind: str, payload: dict[str, Any]) -> str:
    record = {"timestamp": iso(moment), "type": kind, "payload": payload}
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def canary(kind: str, n: int) -> str:
    return f"CANARY-codex-{kind}-{n} secret text that must never leave the machine"


def usage(counts: list[int]) -> dict[str, int]:
    inp, cached, out, reasoning = counts
    return {
        "input_tokens": inp,
        "cached_input_tokens": cached,
        "output_tokens": out,
        "reasoning_output_tokens": reasoning,
        "total_tokens": inp + out,
    }


def token_count(moment: datetime, total: list[int], last: list[int]) -> str:
    info = {
        "total_token_usage": usage(total),
        "last_token_usage": usage(last),
        "model_context_window": WINDOW,
    }
    limits = {"limit_id": "codex", "primary": {"used_percent": 4.0, "window_minutes": 300}}
    return line(moment, "event_msg", {"type": "token_count", "info": info, "rate_limits": limits})


@dataclass
class Expected:
    """Per-day, per-model totals; requests; tool calls; turns."""

    days: dict[str, dict[str, dict[str, int]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(lambda: dict.fromkeys(CLASSES, 0)))
    )
    requests: int = 0
    tool_calls: int = 0
    turns: int = 0

    def add(self, moment: datetime, model: str, call: list[int]) -> None:
        inp, cached, out, reasoning = call
        row = self.days[moment.date().isoformat()][model]
        row["input"] += inp - cached
        row["cache_read"] += cached
        row["output"] += out
        row["reasoning"] += reasoning
        self.requests += 1

    def as_json(self) -> dict[str, Any]:
        days = {
            d: {m: dict(r) for m, r in sorted(ms.items())} for d, ms in sorted(self.days.items())
        }
        return {
            "agenttail": days,
            "ccusage": days,
            "requests": self.requests,
            "tool_calls": self.tool_calls,
            "turns": self.turns,
        }


@dataclass
class Session:
    """One rollout being written: its lines, running total and clock."""

    rng: random.Random
    expected: Expected
    sid: str
    moment: datetime
    n: int
    lines: list[str] = field(default_factory=list)
    total: list[int] = field(default_factory=lambda: [0, 0, 0, 0])

    def tick(self, low: float = 0.5, high: float = 20.0) -> datetime:
        self.moment += timedelta(seconds=self.rng.uniform(low, high))
        return self.moment

    def meta(self, **extra: Any) -> None:
        payload = {
            "id": self.sid,
            "timestamp": iso(self.moment),
            "cwd": f"/home/dev/project-{self.n % 3}",
            "originator": "codex_cli_rs",
            "cli_version": "0.63.0",
            "source": "cli",
            "model_provider": "openai",
            "base_instructions": {"text": canary("instructions", self.n)},
            "git": {"commit_hash": "0" * 40, "branch": "main"},
            **extra,
        }
        self.lines.append(line(self.moment, "session_meta", payload))
        message = {"type": "message", "role": "user"}
        content = [{"type": "input_text", "text": canary("prompt", self.n)}]
        self.lines.append(line(self.tick(), "response_item", {**message, "content": content}))

    def turn(self, model: str, calls: int) -> None:
        turn_id = str(uuid.UUID(int=self.rng.getrandbits(128)))
        started = self.tick()
        begin = {"type": "task_started", "turn_id": turn_id, "model_context_window": WINDOW}
        self.lines.append(line(started, "event_msg", begin))
        user = {"type": "user_message", "message": canary("user-message", self.n)}
        self.lines.append(line(self.tick(), "event_msg", user))
        self.lines.append(
            line(self.tick(0.01, 0.2), "event_msg", {"type": "token_count", "info": None})
        )
        for call_index in range(calls):
            context = {
                "turn_id": turn_id,
                "cwd": f"/home/dev/project-{self.n % 3}",
                "approval_policy": "on-request",
                "sandbox_policy": {"type": "workspace-write"},
                "model": model,
                "effort": "medium",
                "summary": "auto",
                "user_instructions": canary("user-instructions", self.n),
            }
            self.lines.append(line(self.tick(), "turn_context", context))
            reasoning = {
                "type": "reasoning",
                "summary": [{"type": "summary_text", "text": canary("reasoning", self.n)}],
                "encrypted_content": "gAAAA" + "x" * 40,
            }
            self.lines.append(line(self.tick(), "response_item", reasoning))
            call_id = f"call_{self.sid[:8]}_{call_index}_{self.rng.getrandbits(32):08x}"
            tool = self.rng.choice(("shell", "apply_patch", "update_plan"))
            arguments = json.dumps({"command": ["bash", "-lc", canary("tool-input", self.n)]})
            item = {"type": "function_call", "name": tool, "arguments": arguments}
            self.lines.append(line(self.tick(), "response_item", {**item, "call_id": call_id}))
            inp = self.rng.randint(2_000, 60_000)
            call = [inp, self.rng.randint(0, inp), self.rng.randint(20, 4_000), 0]
            call[3] = self.rng.randint(0, call[2])
            self.total = [a + b for a, b in zip(self.total, call, strict=True)]
            moment = self.tick(0.01, 0.1)
            self.lines.append(token_count(moment, self.total, call))
            self.expected.add(moment, model, call)
            self.expected.tool_calls += 1
            if self.rng.random() < 0.5:  # re-emitted after a rate-limit refresh: same totals
                self.lines.append(line(self.tick(0.5, 2), "turn_context", context))
                self.lines.append(token_count(self.tick(0.01, 0.2), self.total, call))
            output = {"type": "function_call_output", "call_id": call_id}
            self.lines.append(
                line(
                    self.tick(),
                    "response_item",
                    {**output, "output": canary("tool-output", self.n)},
                )
            )
        answer = [{"type": "output_text", "text": canary("response", self.n)}]
        message = {"type": "message", "role": "assistant", "content": answer}
        self.lines.append(line(self.tick(), "response_item", message))
        self.lines.append(
            line(
                self.tick(0.01, 0.1),
                "event_msg",
                {"type": "agent_message", "message": canary("response", self.n)},
            )
        )
        done = {
            "type": "task_complete",
            "turn_id": turn_id,
            "last_agent_message": canary("response", self.n),
        }
        self.lines.append(line(self.tick(0.01, 0.1), "event_msg", done))
        self.expected.turns += 1

    def path(self, root: Path) -> Path:
        created = datetime.fromisoformat(
            json.loads(self.lines[0])["timestamp"].replace("Z", "+00:00")
        )
        stamp = created.strftime("%Y-%m-%dT%H-%M-%S")
        return (
            root / "sessions" / created.strftime("%Y/%m/%d") / f"rollout-{stamp}-{self.sid}.jsonl"
        )

    def write(self, root: Path) -> Path:
        path = self.path(root)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")
        return path


def child(parent: Session, kind: str, n: int) -> Session:
    """A fork (original timestamps) or spawned sub-agent (re-stamped, maybe restarting) of
    ``parent``: its parent's history first, then one turn of its own."""
    rng, expected = parent.rng, parent.expected
    sid = str(uuid.UUID(int=rng.getrandbits(128)))
    created = (parent.moment + timedelta(minutes=3)).replace(microsecond=0)
    kid = Session(rng, expected, sid, created, n)
    if kind == "fork":
        kid.meta(forked_from_id=parent.sid)
        kid.lines += parent.lines[1:]  # replayed with their original timestamps
        kid.total = list(parent.total)
    else:
        source = {"subagent": {"thread_spawn": {"parent_thread_id": parent.sid, "depth": 1}}}
        kid.meta(source=source)
        for replayed in parent.lines[1:]:  # re-stamped into the child's creation second
            record = json.loads(replayed)
            record["timestamp"] = iso(created + timedelta(milliseconds=rng.randint(1, 900)))
            kid.lines.append(json.dumps(record, separators=(",", ":"), ensure_ascii=False))
        kid.total = list(parent.total) if kind == "subagent" else [0, 0, 0, 0]
    kid.moment = created + timedelta(seconds=2)
    kid.turn(rng.choice(MODELS), rng.randint(1, 3))
    return kid


def generate(root: Path, sessions: int = 8, days: int = 3, seed: int = 11) -> dict[str, Any]:
    """Writes ``sessions`` rollouts (and their copies, forks and sub-agents) under ``root``."""
    rng = random.Random(seed)
    expected = Expected()
    written: list[Session] = []
    for n in range(sessions):
        day = n % days
        moment = START + timedelta(days=day, minutes=rng.randint(0, 50))
        sid = str(uuid.UUID(int=rng.getrandbits(128)))
        session = Session(rng, expected, sid, moment, n)
        session.meta()
        for _ in range(rng.randint(1, 3)):
            session.turn(rng.choice(MODELS), rng.randint(1, 4))
        if n in (2, 3, 4):  # parents of the children below: a replay of at least two calls
            session.turn(rng.choice(MODELS), 2)
        session.write(root)
        written.append(session)
    archived = written[0].path(root)  # a copy left in archived_sessions/: counted once
    (root / "archived_sessions").mkdir(parents=True, exist_ok=True)
    (root / "archived_sessions" / archived.name).write_bytes(archived.read_bytes())
    moved = written[1].path(root)  # archived: moved out of sessions/
    moved.replace(root / "archived_sessions" / moved.name)
    for index, kind in enumerate(("fork", "subagent", "restart")):
        child(written[(2 + index) % len(written)], kind, sessions + index).write(root)
    return expected.as_json()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--days", type=int, default=3)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    result = generate(args.root, args.sessions, args.days, args.seed)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
