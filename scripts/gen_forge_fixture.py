"""Writes Forge's fixture: ``fixtures/forge/root/.forge.db`` in Forge's schema (its Diesel
migrations) and ``fixtures/forge/expected.json`` from the generator's own request list.

Usage: python scripts/gen_forge_fixture.py fixtures/forge
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE conversations (
    conversation_id TEXT PRIMARY KEY NOT NULL,
    title TEXT,
    workspace_id BIGINT NOT NULL,
    context TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at TIMESTAMP,
    metrics TEXT
);
CREATE INDEX idx_conversations_workspace_id ON conversations(workspace_id);
"""


def count(n: int, approx: bool = False) -> dict[str, int]:
    return {"approx" if approx else "actual": n}


def usage(
    prompt: int, completion: int, cached: int, cost: float | None, approx: bool = False
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "prompt_tokens": count(prompt, approx),
        "completion_tokens": count(completion, approx),
        "total_tokens": count(prompt + completion, approx),
        "cached_tokens": count(cached, approx),
    }
    if cost is not None:
        record["cost"] = cost
    return record


def text(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"message": {"text": {"role": role, "content": content, **extra}}}


def tool_result(name: str, call_id: str, is_error: bool) -> dict[str, Any]:
    output = {"is_error": is_error, "values": [{"text": f"CANARY-forge-tool-output-{call_id}"}]}
    return {"message": {"tool": {"name": name, "call_id": call_id, "output": output}}}


def build(out: Path) -> dict[str, Any]:
    root = out / "root"
    root.mkdir(parents=True, exist_ok=True)
    path = root / ".forge.db"
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.executescript(SCHEMA)
    requests: list[dict[str, Any]] = []  # what must be reported, one entry per request
    tools: list[tuple[str, bool]] = []

    def reply(
        model: str,
        prompt: int,
        completion: int,
        cached: int,
        cost: float | None,
        day: str,
        approx: bool = False,
        calls: tuple[str, ...] = (),
    ) -> dict[str, Any]:
        requests.append(
            {"day": day, "model": model, "input_tokens": prompt - cached,
             "output_tokens": completion, "cache_read_tokens": cached, "cost_usd": cost,
             "estimated": approx}
        )  # fmt: skip
        tool_calls = [
            {"name": "shell", "call_id": call, "arguments": {"command": "CANARY-forge-args"}}
            for call in calls
        ]
        message = text("Assistant", "CANARY-forge-response", model=model)
        if tool_calls:
            message["message"]["text"]["tool_calls"] = tool_calls
        message["usage"] = usage(prompt, completion, cached, cost, approx)
        return message

    conv_a = [
        text("System", "CANARY-forge-system"),
        text("User", "CANARY-forge-prompt-1"),
        reply("claude-sonnet-4-20250514", 12000, 400, 9000, 0.0123, "2026-03-04", calls=("c1",)),
        tool_result("shell", "c1", False),
        reply("claude-sonnet-4-20250514", 13000, 250, 11500, 0.0081, "2026-03-04"),
        text("User", "CANARY-forge-prompt-2"),
        reply("claude-sonnet-4-20250514", 14000, 90, 13000, None, "2026-03-04", calls=("c2",)),
        tool_result("shell", "c2", True),
    ]
    tools += [("shell", True), ("shell", False)]
    conv_b = [
        text("User", "CANARY-forge-prompt-3"),
        reply("gpt-4.1", 3000, 120, 0, None, "2026-03-05", approx=True),
    ]
    rows = [
        ("conv-a", "CANARY-forge-title-a", conv_a, "2026-03-04 10:00:00", "2026-03-04 10:20:31.5"),
        ("conv-b", "CANARY-forge-title-b", conv_b, "2026-03-05 08:00:00", "2026-03-05 08:01:02"),
        ("conv-empty", None, None, "2026-03-05 09:00:00", None),  # no message yet
    ]
    for conversation, title, messages, created, updated in rows:
        context = None
        if messages is not None:
            context = json.dumps({"conversation_id": conversation, "messages": messages})
        db.execute(
            "INSERT INTO conversations (conversation_id, title, workspace_id, context,"
            " created_at, updated_at, metrics) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (conversation, title, 7261, context, created, updated, '{"files_changed": {}}'),
        )
    db.commit()
    db.close()
    expected = {
        "sessions": ["conv-a", "conv-b"],
        "requests": requests,
        "tools": [{"name": n, "ok": ok} for n, ok in tools],
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=2) + "\n")
    return expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    build(parser.parse_args(argv).out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
