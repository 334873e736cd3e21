#!/usr/bin/env python3
"""Generate a Factory Droid sessions folder (``DROID_SESSIONS_DIR``) for parity and load tests.

Usage::

    python scripts/gen_droid_corpus.py OUT_DIR [--sessions N] [--days D] [--seed S]

Layout written (the real one, as in git-ai's ``tests/fixtures/droid-session.*``)::

    OUT_DIR/root/-home-dev-project-K/<uuid>.jsonl           transcript (no usage in it)
    OUT_DIR/root/-home-dev-project-K/<uuid>.settings.json   sidecar with cumulative tokenUsage
    OUT_DIR/expected.json

Transcripts have ``session_start`` (cwd), ``message`` lines with text, ``tool_use`` and
``tool_result`` blocks (CANARY strings in every text field) and ``todo_state`` lines; some name
the model only in a ``Model: ...`` system reminder (the sidecar then has no ``model``). Sidecars
hold the session's final running totals, ``providerLock`` and ``providerLockTimestamp``
(missing in some: the file's mtime dates them, set here to the last message).

``expected.json``: ``daily``/``totals`` are agenttail's (each session's totals on the day its
provider lock was taken; ``thinkingTokens`` inside output), ``ccusage`` what ccusage 20.0.24
reports (the same, with thinking tokens outside ``outputTokens`` but inside ``totalTokens``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MODELS = (
    ("Claude-Sonnet-4.5-[Anthropic]", "anthropic", "claude-sonnet-4-5"),
    ("custom:GPT-5-[OpenAI]-0", "openai", "gpt-5-0"),
    ("Claude-Haiku-4.5-[Anthropic]", "anthropic", "claude-haiku-4-5"),
)
FIELDS = ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def transcript(rng: random.Random, sid: str, cwd: str, start: datetime, model: str | None) -> Any:
    lines: list[dict[str, Any]] = [
        {
            "type": "session_start",
            "id": sid,
            "title": "CANARY-TITLE fix build",
            "sessionTitle": "New Session",
            "owner": "dev",
            "version": 2,
            "cwd": cwd,
        },
    ]
    clock = start
    reminder = f"<system-reminder>Model: {model} [Anthropic]</system-reminder>" if model else ""
    for turn in range(rng.randint(3, 8)):
        clock += timedelta(seconds=rng.randint(20, 900))
        text = [{"type": "text", "text": f"CANARY-PROMPT-{turn} {reminder}"}]
        lines.append(
            {
                "type": "message",
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "timestamp": iso(clock),
                "message": {"role": "user", "content": text},
            }
        )
        call = f"call_{uuid.UUID(int=rng.getrandbits(128)).hex[:24]}"
        clock += timedelta(seconds=rng.randint(2, 60))
        blocks = [
            {"type": "text", "text": f"CANARY-RESPONSE-{turn}"},
            {
                "type": "tool_use",
                "id": call,
                "name": "Execute",
                "input": {"command": "CANARY-TOOL-INPUT make test"},
            },
        ]
        lines.append(
            {
                "type": "message",
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "timestamp": iso(clock),
                "message": {"role": "assistant", "content": blocks},
            }
        )
        clock += timedelta(seconds=rng.randint(1, 40))
        result = {"type": "tool_result", "tool_use_id": call, "content": "CANARY-TOOL-OUTPUT ok"}
        lines.append(
            {
                "type": "message",
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "timestamp": iso(clock),
                "message": {"role": "user", "content": [result]},
            }
        )
    return lines, clock


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--sessions", type=int, default=10)
    parser.add_argument("--days", type=int, default=6)
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ours: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
    theirs: dict[str, dict[str, int]] = defaultdict(
        lambda: dict.fromkeys((*FIELDS, "total_tokens"), 0)
    )
    for index in range(args.sessions):
        cwd = f"/home/dev/project-{index % 3}"
        folder = args.out / "root" / cwd.replace("/", "-")
        folder.mkdir(parents=True, exist_ok=True)
        sid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        start = datetime(2026, 11, 1, 5, tzinfo=UTC) + timedelta(
            hours=24 * args.days * index / args.sessions + rng.uniform(0, 12)
        )
        raw, provider, _ = MODELS[index % len(MODELS)]
        in_settings = index % 4 != 3
        lines, end = transcript(rng, sid, cwd, start, None if in_settings else "Claude Sonnet 4.5")
        with open(folder / f"{sid}.jsonl", "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(line, separators=(",", ":")) + "\n" for line in lines)
        usage = {
            "inputTokens": rng.randint(1000, 90_000),
            "outputTokens": rng.randint(100, 20_000),
            "cacheCreationTokens": rng.randint(0, 30_000) if provider == "anthropic" else 0,
            "cacheReadTokens": rng.randint(0, 900_000),
            "thinkingTokens": rng.randint(0, 8000),
        }
        settings: dict[str, Any] = {
            "assistantActiveTimeMs": rng.randint(1000, 900_000),
            "reasoningEffort": "medium",
            "autonomyMode": "auto-low",
            "providerLock": provider,
            "tokenUsage": usage,
        }
        if in_settings:
            settings["model"] = raw
        dated = start
        if index % 5 == 4:  # no lock timestamp: the sidecar's mtime dates the session
            dated = end
        else:
            settings["providerLockTimestamp"] = iso(start)
        path = folder / f"{sid}.settings.json"
        path.write_text(json.dumps(settings, indent=2), encoding="utf-8")
        os.utime(path, (dated.timestamp(), dated.timestamp()))
        day = dated.date().isoformat()
        thinking = usage["thinkingTokens"]
        mine = {
            "input_tokens": usage["inputTokens"],
            "output_tokens": usage["outputTokens"] + thinking,
            "cache_write_tokens": usage["cacheCreationTokens"],
            "cache_read_tokens": usage["cacheReadTokens"],
        }
        for name in FIELDS:
            ours[day][name] += mine[name]
            theirs[day][name] += mine[name] - (thinking if name == "output_tokens" else 0)
        theirs[day]["total_tokens"] += sum(mine.values())

    def rows(days: dict[str, dict[str, int]], total: bool) -> list[dict[str, Any]]:
        return [
            {"date": d, **days[d], **({} if total else {"total_tokens": sum(days[d].values())})}
            for d in sorted(days)
        ]

    daily = rows(ours, False)
    ccusage = rows(theirs, True)
    grand = {k: sum(r[k] for r in daily) for k in (*FIELDS, "total_tokens")}
    their_grand = {k: sum(r[k] for r in ccusage) for k in (*FIELDS, "total_tokens")}
    expected = {
        "daily": daily,
        "totals": grand,
        "ccusage": {"daily": ccusage, "totals": their_grand},
    }
    (args.out / "expected.json").write_text(json.dumps(expected, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
