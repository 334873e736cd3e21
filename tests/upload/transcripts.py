"""Claude Code transcripts in the real format (agent-formats.md s.2) with a planted canary."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

CANARY = "CANARY-d41d8cd9"


class Session:
    def __init__(self, claude_dir: Path, cwd: str = "/home/dev/shop", branch: str = "main"):
        self.id = str(uuid.uuid4())
        self.cwd = cwd
        self.branch = branch
        project = "".join(c if c.isalnum() or c == "-" else "-" for c in cwd)
        self.path = claude_dir / "projects" / project / f"{self.id}.jsonl"
        self.parent: str | None = None
        self.seconds = 0

    def _env(self, kind: str) -> dict[str, Any]:
        self.seconds += 1
        record_uuid = str(uuid.uuid4())
        data = {
            "parentUuid": self.parent,
            "isSidechain": False,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.id,
            "version": "2.1.44",
            "gitBranch": self.branch,
            "type": kind,
            "uuid": record_uuid,
            "timestamp": f"2026-05-01T10:{self.seconds // 60:02d}:{self.seconds % 60:02d}.000Z",
        }
        self.parent = record_uuid
        return data

    def write(self, *records: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for record in records:
                handle.write(json.dumps(record) + "\n")

    def prompt(self) -> dict[str, Any]:
        return {
            **self._env("user"),
            "message": {"role": "user", "content": f"please fix {CANARY} in the prompt"},
        }

    def assistant(
        self, message_id: str, blocks: list[dict[str, Any]], output_tokens: int = 100
    ) -> dict[str, Any]:
        return {
            **self._env("assistant"),
            "requestId": f"req_{message_id}",
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": blocks,
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": 12,
                    "cache_creation_input_tokens": 300,
                    "cache_read_input_tokens": 5000,
                    "cache_creation": {
                        "ephemeral_5m_input_tokens": 300,
                        "ephemeral_1h_input_tokens": 0,
                    },
                    "output_tokens": output_tokens,
                    "service_tier": "standard",
                },
            },
        }

    def tool_result(self, tool_id: str) -> dict[str, Any]:
        output = f"file content with {CANARY} inside"
        return {
            **self._env("user"),
            "message": {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_id, "content": output}],
            },
            "toolUseResult": {"stdout": output, "stderr": ""},
        }

    def compaction(self) -> dict[str, Any]:
        return {
            **self._env("system"),
            "subtype": "compact_boundary",
            "content": f"Conversation compacted {CANARY}",
            "level": "info",
            "compactMetadata": {"trigger": "auto", "preTokens": 150000},
        }

    def turn(self, index: int) -> list[dict[str, Any]]:
        """One turn: prompt, thinking + text + tool_use (three streamed copies), tool result."""
        message_id = f"msg_{self.id[:8]}_{index:04d}"
        tool_id = f"toolu_{self.id[:8]}_{index:04d}"
        return [
            self.prompt(),
            self.assistant(
                message_id,
                [{"type": "thinking", "thinking": f"thinking about {CANARY}", "signature": "s"}],
                output_tokens=3,
            ),
            self.assistant(message_id, [{"type": "text", "text": f"answer with {CANARY}"}], 8),
            self.assistant(
                message_id,
                [
                    {
                        "type": "tool_use",
                        "id": tool_id,
                        "name": "Bash",
                        "input": {"command": f"grep {CANARY} src/"},
                    }
                ],
                output_tokens=120 + index,
            ),
            self.tool_result(tool_id),
        ]


def write_sessions(claude_dir: Path, sessions: int, turns: int) -> list[Session]:
    out = []
    for s in range(sessions):
        session = Session(claude_dir, cwd=f"/home/dev/project{s}")
        for t in range(turns):
            session.write(*session.turn(t))
        session.write(session.compaction())
        out.append(session)
    return out
