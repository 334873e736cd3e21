"""Builders for Claude Code transcript lines in the real format (see agent-formats.md s.2)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from scripts import ccusage_tool


def escaped_cwd(cwd: str) -> str:
    return "".join(c if c.isalnum() or c == "-" else "-" for c in cwd)


@dataclass
class ClaudeSession:
    """Writes one session file under ``<config>/projects/<escaped-cwd>/<session>.jsonl``."""

    config_dir: Path
    cwd: str = "/home/dev/shop"
    session_id: str = field(default_factory=lambda: str(uuidlib.uuid4()))
    version: str = "2.1.44"
    sidechain: bool = False
    agent_id: str | None = None
    parent_uuid: str | None = None

    @property
    def path(self) -> Path:
        project = self.config_dir / "projects" / escaped_cwd(self.cwd)
        if self.agent_id:
            return project / self.session_id / "subagents" / f"agent-{self.agent_id}.jsonl"
        return project / f"{self.session_id}.jsonl"

    def envelope(self, kind: str, ts: str) -> dict[str, Any]:
        record_uuid = str(uuidlib.uuid4())
        data: dict[str, Any] = {
            "parentUuid": self.parent_uuid,
            "isSidechain": self.sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": "main",
            "type": kind,
            "uuid": record_uuid,
            "timestamp": ts,
        }
        if self.agent_id:
            data["agentId"] = self.agent_id
        self.parent_uuid = record_uuid
        return data

    def write(self, *records: dict[str, Any], newline: bool = True) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as handle:
            for index, record in enumerate(records):
                last = index == len(records) - 1
                handle.write(json.dumps(record) + ("\n" if newline or not last else ""))

    def prompt(self, text: str, ts: str) -> dict[str, Any]:
        return {**self.envelope("user", ts), "message": {"role": "user", "content": text}}

    def assistant(
        self,
        ts: str,
        message_id: str,
        *,
        request_id: str | None = "req_default",
        model: str = "claude-sonnet-4-20250514",
        input_tokens: int = 10,
        output_tokens: int = 100,
        cache_read: int = 0,
        cache_write_5m: int = 0,
        cache_write_1h: int = 0,
        content: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        usage = {
            "input_tokens": input_tokens,
            "cache_creation_input_tokens": cache_write_5m + cache_write_1h,
            "cache_read_input_tokens": cache_read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": cache_write_5m,
                "ephemeral_1h_input_tokens": cache_write_1h,
            },
            "output_tokens": output_tokens,
            "service_tier": "standard",
        }
        record = {
            **self.envelope("assistant", ts),
            "message": {
                "id": message_id,
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": content or [{"type": "text", "text": "done"}],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": usage,
            },
            **extra,
        }
        if request_id is not None:
            record["requestId"] = request_id
        return record

    def tool_result(
        self, ts: str, tool_use_id: str, output: str, *, is_error: bool = False
    ) -> dict[str, Any]:
        block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": output}
        if is_error:
            block["is_error"] = True
        return {
            **self.envelope("user", ts),
            "message": {"role": "user", "content": [block]},
            "toolUseResult": {"stdout": output},
        }

    def compact_boundary(self, ts: str, pre_tokens: int = 150000) -> dict[str, Any]:
        return {
            **self.envelope("system", ts),
            "subtype": "compact_boundary",
            "content": "Conversation compacted",
            "level": "info",
            "compactMetadata": {"trigger": "auto", "preTokens": pre_tokens},
        }

    def api_error(self, ts: str, status: int = 529) -> dict[str, Any]:
        return {
            **self.envelope("assistant", ts),
            "message": {
                "id": str(uuidlib.uuid4()),
                "model": "<synthetic>",
                "role": "assistant",
                "type": "message",
                "content": [{"type": "text", "text": f"API Error: {status} Overloaded"}],
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
            "isApiErrorMessage": True,
            "error": "server_error",
            "apiErrorStatus": status,
        }

    def synthetic(self, ts: str) -> dict[str, Any]:
        record = self.assistant(
            ts,
            str(uuidlib.uuid4()),
            request_id=None,
            model="<synthetic>",
            input_tokens=0,
            output_tokens=0,
        )
        return record


def agenttail_cli(env: dict[str, str], *args: str) -> str:
    """Run the real CLI in a subprocess; returns stdout, fails the test with stderr."""
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def agenttail_daily(env: dict[str, str]) -> Any:
    """A real ``agenttail scan`` then ``report daily --json --timezone UTC`` (subprocesses)."""
    agenttail_cli(env, "scan")
    return json.loads(agenttail_cli(env, "report", "daily", "--json", "--timezone", "UTC"))


def _without_root_override() -> None:
    """In the child: drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH from the bounding set, so
    a root test run meets file permissions as a user does (exec then loses them)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_capbset_drop, cap_dac_override, cap_dac_read_search = 24, 1, 2
    for cap in (cap_dac_override, cap_dac_read_search):
        if libc.prctl(pr_capbset_drop, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


def run_agenttail(
    env: dict[str, str], *args: str, as_user: bool = False, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """The real CLI in a subprocess, whatever its exit code.

    ``as_user`` makes file permissions apply even when the tests run as root.
    """
    import os

    return subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        preexec_fn=_without_root_override if as_user and os.geteuid() == 0 else None,
    )


def ccusage_or_skip(folder: Path) -> Path:
    """The ccusage 20 executable under ``folder`` (installed with npm on first use), or skip.

    Callers read ``ccusage_tool.default_dir()`` at import: the test isolation clears the
    ``AGENTTAIL_CCUSAGE_DIR`` it may name."""
    executable, reason = ccusage_tool.ensure(folder)
    if executable is None:
        pytest.skip(f"ccusage {ccusage_tool.VERSION} unavailable: {reason}")
    return executable
