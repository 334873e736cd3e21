#!/usr/bin/env python3
"""Generate a large, realistic Claude Code ``projects/`` tree for load and parity tests.

Usage::

    python scripts/gen_claude_corpus.py OUT_DIR --sessions N --target-mb M --seed S \
        [--huge-line-mb K] [--days 30] [--start-date 2026-01-05] [--no-edge-cases] \
        [--unambiguous] [--omit-edge KIND ...]

Layout written::

    OUT_DIR/projects/<escaped-cwd>/<session-uuid>.jsonl
    OUT_DIR/projects/<escaped-cwd>/<session-uuid>/subagents/agent-<hex>.jsonl
    OUT_DIR/expected.json

``expected.json`` holds the generator's own arithmetic of the per-day (UTC) token totals that
ccusage 20 (``ccusage claude daily --json --offline --timezone UTC``) reports for the tree. It is
computed twice and cross-checked: by replaying the de-duplication rules over every usage-bearing
line of the corpus in processing order, and over each logical API call's copies on their own
(agreement proves no two calls collide on a key).

The rules (verified against the ccusage 20.0.24 binary):

* a line counts only if its raw bytes contain ``"usage":{`` and it parses as either a direct
  record (``timestamp`` + ``message.usage`` with integer ``input_tokens``/``output_tokens``) or an
  ``agent_progress`` record (``data.message.timestamp`` + ``data.message.message.usage``);
* lines holding ``"<field>":null`` for id, cwd, model, speed, costUSD, version, sessionId,
  requestId, isApiErrorMessage, cache_read_input_tokens or cache_creation_input_tokens anywhere are
  dropped, as are empty id/model/sessionId/requestId, a non-semver ``version`` and timestamps not
  shaped ``YYYY-MM-DDTHH:MM:SS[.mmm](Z|+HH:MM)``;
* cache creation = ``cache_creation.ephemeral_5m + ephemeral_1h`` when that object is present,
  else ``cache_creation_input_tokens``;
* key (message.id, requestId), or (message.id, session, timestamp instant) when requestId is
  absent (so 2.1.x streamed copies without requestId, and resumed copies under a new sessionId,
  are each billed); if that misses, a line matches an
  entry with the same message.id already seen in the line's session (sessionId, else the path's
  session) when either of them is a sidechain copy;
  a non-sidechain copy beats a sidechain one, then the larger total, then (ties) the first seen;
  the day is the winning copy's own timestamp; lines without message.id are never merged;
* files are processed in byte order of their full path, lines in file order.

``--unambiguous`` makes ccusage's keys identify API calls exactly, so a tool that counts each
API response once (by ``message.id``) must report the same totals: every CLI version writes
``requestId`` (no ``no_request_id`` edge case), a resumed session does not copy ``/btw``
sidechain replays, and the two ``no_message_id`` lines are distinct records (own ``uuid``).
Everything else (streaming copies, subagents, agent_progress copies, resumes, validity edge
cases, midnight crossings, the huge line) stays.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

MS_PER_DAY = 86_400_000
BASE62 = string.digits + string.ascii_letters

# (model, weight, typical max output)
MODELS: list[tuple[str, int, int]] = [
    ("claude-sonnet-4-5-20250929", 50, 4000),
    ("claude-opus-4-1-20250805", 12, 3000),
    ("claude-haiku-4-5-20251001", 20, 1500),
    ("claude-sonnet-4-20250514", 10, 3000),
    ("claude-opus-4-5-20251101", 8, 5000),
]
# (CLI version, writes requestId, uses cache_creation buckets, writes speed)
VERSIONS: list[tuple[str, bool, bool, bool]] = [
    ("1.0.98", True, False, False),
    ("2.0.69", True, True, False),
    ("2.1.33", True, True, True),
    ("2.1.44", False, True, True),
]
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "that",
    "for",
    "it",
    "as",
    "with",
    "was",
    "on",
    "be",
    "by",
    "this",
    "are",
    "from",
    "or",
    "have",
    "an",
    "not",
    "which",
    "function",
    "return",
    "value",
    "error",
    "file",
    "path",
    "config",
    "import",
    "class",
    "self",
    "test",
    "async",
    "await",
    "build",
    "parse",
    "token",
    "usage",
    "stream",
    "message",
    "session",
    "cache",
    "daemon",
    "report",
    "agent",
    "model",
    "request",
    "line",
    "résumé",
    "naïve",
    "東京",
    "данные",
    "émoji",
    "✓",
    "→",
    "λ",
]
TOOLS = ["Bash", "Read", "Edit", "Grep", "Glob", "Write", "TodoWrite", "WebFetch"]


def ts_str(ms: int, micro: bool = False) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    if micro:
        return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}123Z"
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"


def utc_day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date().isoformat()


def escape_cwd(cwd: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", cwd)


@dataclass(frozen=True)
class Usage:
    input_tokens: int
    output_tokens: int
    cache_5m: int
    cache_1h: int
    cache_read: int
    buckets: bool = True
    speed: str | None = None
    flat_override: int | None = None  # edge case: flat field disagrees with the buckets

    @property
    def cache_creation(self) -> int:
        return self.cache_5m + self.cache_1h

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_creation + self.cache_read

    def with_output(self, output_tokens: int) -> Usage:
        return Usage(
            self.input_tokens,
            output_tokens,
            self.cache_5m,
            self.cache_1h,
            self.cache_read,
            self.buckets,
            self.speed,
            self.flat_override,
        )

    def to_json(self) -> dict[str, Any]:
        flat = self.cache_creation if self.flat_override is None else self.flat_override
        out: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": flat,
            "cache_read_input_tokens": self.cache_read,
        }
        if self.buckets:
            out["cache_creation"] = {
                "ephemeral_5m_input_tokens": self.cache_5m,
                "ephemeral_1h_input_tokens": self.cache_1h,
            }
        out["output_tokens"] = self.output_tokens
        out["service_tier"] = "standard"
        if self.speed is not None:
            out["speed"] = self.speed
            out["inference_geo"] = "not_available"
        return out


Meta = tuple[str | None, str | None, bool, Usage, int, int]
Copy = tuple[str, str | None, Usage, int, dict[str, Any]]


@dataclass
class UsageLine:
    """One emitted line that ccusage counts (before de-duplication)."""

    sort_key: bytes
    seq: int
    msg_id: str | None
    req_id: str | None
    sidechain: bool
    usage: Usage
    ts_ms: int
    call: int  # logical API call this copy belongs to; -1 = must never win (sidechain replay)
    session: str  # top-level sessionId, else the session the path implies


@dataclass
class Stats:
    files: int = 0
    subagent_files: int = 0
    lines: int = 0
    bytes: int = 0
    usage_lines: int = 0
    skipped_usage_lines: dict[str, int] = field(default_factory=dict)
    api_calls: int = 0
    largest_line_bytes: int = 0

    def skip(self, reason: str) -> None:
        self.skipped_usage_lines[reason] = self.skipped_usage_lines.get(reason, 0) + 1


class Corpus:
    def __init__(self, out: Path, rng: random.Random, unambiguous: bool = False) -> None:
        self.out = out
        self.rng = rng
        self.unambiguous = unambiguous
        self.stats = Stats()
        self.usage_lines: list[UsageLine] = []
        self.call_copies: dict[int, list[UsageLine]] = {}
        self.next_call = 0
        pool_words = [rng.choice(WORDS) for _ in range(40_000)]
        self.pool = " ".join(pool_words)

    # ---- ids and text -------------------------------------------------------------------
    def uuid4(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def b62(self, n: int) -> str:
        return "".join(self.rng.choice(BASE62) for _ in range(n))

    def text(self, n_chars: int) -> str:
        if n_chars <= 0:
            return ""
        chunks: list[str] = []
        remaining = n_chars
        while remaining > 0:
            start = self.rng.randrange(0, len(self.pool) - 1)
            piece = self.pool[start : start + remaining]
            chunks.append(piece)
            remaining -= len(piece)
        return "".join(chunks)

    def new_call(self) -> int:
        self.next_call += 1
        self.stats.api_calls += 1
        return self.next_call


class FileWriter:
    """Buffers one .jsonl file; records usage-bearing lines for the oracle."""

    def __init__(self, corpus: Corpus, rel: str) -> None:
        self.corpus = corpus
        self.rel = rel
        self.sort_key = str(corpus.out / "projects" / rel).encode()
        self.parts: list[str] = []
        self.size = 0
        self.seq = 0
        parts = rel.split("/")
        # <project>/<session>.jsonl or <project>/<session>/subagents/agent-x.jsonl
        self.path_session = parts[1].removesuffix(".jsonl") if len(parts) > 1 else parts[0]

    def emit(
        self,
        record: dict[str, Any],
        *,
        counted: Meta | None = None,
        skip_reason: str | None = None,
        raw: str | None = None,
    ) -> None:
        line = (
            raw
            if raw is not None
            else json.dumps(record, ensure_ascii=False, separators=(",", ":"))
        )
        self.parts.append(line)
        self.parts.append("\n")
        n = len(line.encode()) + 1
        self.size += n
        st = self.corpus.stats
        st.lines += 1
        st.bytes += n
        st.largest_line_bytes = max(st.largest_line_bytes, n)
        if skip_reason is not None:
            st.skip(skip_reason)
        if counted is not None:
            msg_id, req_id, sidechain, usage, ts_ms, call = counted
            session = record.get("sessionId") or self.path_session
            ul = UsageLine(
                self.sort_key, self.seq, msg_id, req_id, sidechain, usage, ts_ms, call, session
            )
            self.corpus.usage_lines.append(ul)
            st.usage_lines += 1
            if call >= 0:
                self.corpus.call_copies.setdefault(call, []).append(ul)
        self.seq += 1

    def close(self) -> None:
        path = self.corpus.out / "projects" / self.rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8", newline="") as fh:
            fh.write("".join(self.parts))
        self.corpus.stats.files += 1
        if "/subagents/" in self.rel:
            self.corpus.stats.subagent_files += 1
        self.parts = []


@dataclass
class SessionCtx:
    corpus: Corpus
    writer: FileWriter
    session_id: str
    cwd: str
    version: str
    has_req: bool
    buckets: bool
    has_speed: bool
    branch: str
    slug: str | None
    model: str
    max_out: int
    t: int
    context: int = 0
    parent_uuid: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    history_meta: list[Meta | None] = field(default_factory=list)
    parent_msgs: list[tuple[str, str | None, Usage, int]] = field(default_factory=list)
    edge_queue: list[str] = field(default_factory=list)
    huge_bytes: int = 0

    @property
    def rng(self) -> random.Random:
        return self.corpus.rng

    def envelope(
        self, kind: str, sidechain: bool = False, agent_id: str | None = None
    ) -> dict[str, Any]:
        rec: dict[str, Any] = {
            "parentUuid": self.parent_uuid,
            "isSidechain": sidechain,
            "userType": "external",
            "cwd": self.cwd,
            "sessionId": self.session_id,
            "version": self.version,
            "gitBranch": self.branch,
        }
        if agent_id is not None:
            rec["agentId"] = agent_id
        if self.slug is not None:
            rec["slug"] = self.slug
        rec["type"] = kind
        return rec

    def tick(self, lo_ms: int, hi_ms: int) -> int:
        self.t += self.rng.randint(lo_ms, hi_ms)
        return self.t

    def keep(
        self,
        rec: dict[str, Any],
        meta: Meta | None,
        writer: FileWriter | None = None,
    ) -> None:
        (writer or self.writer).emit(rec, counted=meta)
        if writer is None and len(self.history) < 80:
            self.history.append(rec)
            self.history_meta.append(meta)


def make_usage(ctx: SessionCtx, final_out: int) -> Usage:
    rng = ctx.rng
    fresh = rng.randint(200, 9000) if rng.random() < 0.6 else rng.randint(0, 400)
    one_hour = fresh if rng.random() < 0.25 else 0
    five = fresh - one_hour
    usage = Usage(
        input_tokens=rng.randint(1, 60),
        output_tokens=final_out,
        cache_5m=five,
        cache_1h=one_hour,
        cache_read=ctx.context,
        buckets=ctx.buckets,
        speed=("fast" if rng.random() < 0.04 else "standard") if ctx.has_speed else None,
    )
    ctx.context += fresh + final_out // 2
    if ctx.context > 180_000:
        ctx.context = rng.randint(15_000, 30_000)
    return usage


def assistant_record(
    ctx: SessionCtx,
    msg_id: str,
    req_id: str | None,
    model: str,
    block: dict[str, Any],
    usage: Usage,
    ts_ms: int,
    stop_reason: str | None,
    sidechain: bool = False,
    agent_id: str | None = None,
) -> dict[str, Any]:
    rec = ctx.envelope("assistant", sidechain, agent_id)
    del rec["type"]
    rec["message"] = {
        "model": model,
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "content": [block],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage.to_json(),
    }
    if req_id is not None:
        rec["requestId"] = req_id
    rec["type"] = "assistant"
    rec["uuid"] = ctx.corpus.uuid4()
    rec["timestamp"] = ts_str(ts_ms)
    return rec


def content_blocks(ctx: SessionCtx, n_tools: int, huge: int = 0) -> list[dict[str, Any]]:
    rng = ctx.rng
    blocks: list[dict[str, Any]] = []
    if rng.random() < 0.6:
        blocks.append(
            {
                "type": "thinking",
                "thinking": ctx.corpus.text(rng.randint(80, 1500)),
                "signature": ctx.corpus.b62(rng.randint(200, 600)),
            }
        )
    if rng.random() < 0.8 or n_tools == 0:
        blocks.append({"type": "text", "text": ctx.corpus.text(rng.randint(20, 1200))})
    for i in range(n_tools):
        name = rng.choice(TOOLS)
        tool_input: dict[str, Any] = {"command": ctx.corpus.text(rng.randint(10, 120))}
        if huge and i == 0:
            name = "Write"
            tool_input = {"file_path": f"{ctx.cwd}/big.txt", "content": ctx.corpus.text(huge)}
        blocks.append(
            {
                "type": "tool_use",
                "id": "toolu_01" + ctx.corpus.b62(22),
                "name": name,
                "input": tool_input,
            }
        )
    return blocks


def emit_call(
    ctx: SessionCtx,
    n_tools: int,
    *,
    sidechain: bool = False,
    agent_id: str | None = None,
    writer: FileWriter | None = None,
    huge: int = 0,
) -> tuple[list[dict[str, Any]], list[Copy], int]:
    """Stream one API response over several lines. Returns blocks, copies and call id."""
    corpus = ctx.corpus
    rng = ctx.rng
    call = corpus.new_call()
    msg_id = "msg_01" + corpus.b62(22)
    req_id = "req_011C" + corpus.b62(21) if ctx.has_req else None
    model = ctx.model if rng.random() < 0.9 else rng.choice(MODELS)[0]
    final_out = rng.randint(5, ctx.max_out)
    usage = make_usage(ctx, final_out)
    blocks = content_blocks(ctx, n_tools, huge)
    growing = rng.random() < 0.7
    copies: list[Copy] = []
    for i, block in enumerate(blocks):
        last = i == len(blocks) - 1
        line_usage = usage if (last or not growing) else usage.with_output(rng.randint(1, 8))
        ts_ms = ctx.tick(150, 2500)
        stop = ("tool_use" if n_tools else "end_turn") if last else None
        rec = assistant_record(
            ctx, msg_id, req_id, model, block, line_usage, ts_ms, stop, sidechain, agent_id
        )
        ctx.keep(rec, (msg_id, req_id, sidechain, line_usage, ts_ms, call), writer)
        ctx.parent_uuid = rec["uuid"]
        copies.append((msg_id, req_id, line_usage, ts_ms, rec))
    if not sidechain and writer is None:
        ctx.parent_msgs.append((msg_id, req_id, usage, call))
    return blocks, copies, call


def emit_user_text(
    ctx: SessionCtx,
    text: str,
    writer: FileWriter | None = None,
    sidechain: bool = False,
    agent_id: str | None = None,
) -> None:
    rec = ctx.envelope("user", sidechain, agent_id)
    rec["message"] = {"role": "user", "content": text}
    rec["uuid"] = ctx.corpus.uuid4()
    rec["timestamp"] = ts_str(ctx.tick(500, 4000))
    if not sidechain:
        rec["permissionMode"] = "default"
    ctx.keep(rec, None, writer)
    ctx.parent_uuid = rec["uuid"]


def emit_tool_result(
    ctx: SessionCtx,
    tool: dict[str, Any],
    size: int,
    writer: FileWriter | None = None,
    sidechain: bool = False,
    agent_id: str | None = None,
    rollup: Usage | None = None,
) -> None:
    rng = ctx.rng
    body = ctx.corpus.text(size)
    is_error = rng.random() < 0.05
    rec = ctx.envelope("user", sidechain, agent_id)
    block: dict[str, Any] = {"tool_use_id": tool["id"], "type": "tool_result", "content": body}
    if is_error:
        block["is_error"] = True
    rec["message"] = {"role": "user", "content": [block]}
    rec["uuid"] = ctx.corpus.uuid4()
    rec["timestamp"] = ts_str(ctx.tick(200, 30_000))
    if rollup is not None:
        # Task roll-up: contains "usage":{ but must never be counted.
        rec["toolUseResult"] = {
            "status": "completed",
            "prompt": "subtask",
            "agentId": "rollup",
            "content": [{"type": "text", "text": body[:200]}],
            "totalDurationMs": 7635,
            "totalTokens": rollup.total,
            "totalToolUseCount": 1,
            "usage": rollup.to_json(),
        }
    else:
        rec["toolUseResult"] = {
            "stdout": body[:2000],
            "stderr": "",
            "interrupted": False,
            "isImage": False,
        }
    rec["sourceToolAssistantUUID"] = ctx.parent_uuid
    ctx.keep(rec, None, writer)
    ctx.parent_uuid = rec["uuid"]


def emit_system(ctx: SessionCtx, subtype: str) -> None:
    rec = ctx.envelope("system")
    rec["subtype"] = subtype
    if subtype == "turn_duration":
        rec["durationMs"] = ctx.rng.randint(2000, 400_000)
        rec["messageCount"] = ctx.rng.randint(2, 40)
    elif subtype == "compact_boundary":
        rec["parentUuid"] = None
        rec["logicalParentUuid"] = ctx.parent_uuid
        rec["content"] = "Conversation compacted"
        rec["compactMetadata"] = {
            "trigger": ctx.rng.choice(["manual", "auto"]),
            "preTokens": ctx.context,
        }
        ctx.context = ctx.rng.randint(8000, 20_000)
    else:
        rec.update(
            {
                "hookCount": 1,
                "hookInfos": [{"command": "callback"}],
                "hookErrors": [],
                "preventedContinuation": False,
                "stopReason": "",
                "hasOutput": False,
            }
        )
    rec["isMeta"] = False
    rec["level"] = "info" if subtype != "stop_hook_summary" else "suggestion"
    rec["timestamp"] = ts_str(ctx.tick(1, 50))
    rec["uuid"] = ctx.corpus.uuid4()
    ctx.keep(rec, None)
    ctx.parent_uuid = rec["uuid"]


def emit_misc(ctx: SessionCtx) -> None:
    rng = ctx.rng
    corpus = ctx.corpus
    roll = rng.random()
    if roll < 0.35:
        rec = ctx.envelope("progress")
        tool_id = "toolu_01" + corpus.b62(22)
        rec["data"] = {
            "type": "hook_progress",
            "hookEvent": "PreToolUse",
            "hookName": "PreToolUse:Bash",
            "command": "callback",
        }
        rec["toolUseID"] = tool_id
        rec["parentToolUseID"] = tool_id
        rec["uuid"] = corpus.uuid4()
        rec["timestamp"] = ts_str(ctx.tick(1, 30))
        ctx.keep(rec, None)
    elif roll < 0.65:
        msg = corpus.uuid4()
        backups = {
            f"{ctx.cwd}/src/f{i}.py": {
                "backupFileName": corpus.b62(16) + "@v2",
                "version": i + 1,
                "backupTime": ts_str(ctx.t),
            }
            for i in range(rng.randint(0, 6))
        }
        rec = {
            "type": "file-history-snapshot",
            "messageId": msg,
            "snapshot": {
                "messageId": msg,
                "trackedFileBackups": backups,
                "timestamp": ts_str(ctx.t),
            },
            "isSnapshotUpdate": rng.random() < 0.5,
        }
        ctx.keep(rec, None)
    else:
        rec = {
            "type": "queue-operation",
            "operation": rng.choice(["enqueue", "dequeue"]),
            "timestamp": ts_str(ctx.tick(1, 30)),
            "sessionId": ctx.session_id,
        }
        ctx.keep(rec, None)


def emit_synthetic(ctx: SessionCtx, api_error: bool) -> None:
    """Client-side messages written as the model: all-zero usage with null speed/tier."""
    rec = ctx.envelope("assistant")
    del rec["type"]
    rec["type"] = "assistant"
    rec["uuid"] = ctx.corpus.uuid4()
    rec["timestamp"] = ts_str(ctx.tick(100, 5000))
    usage = {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
        "service_tier": None,
        "cache_creation": {"ephemeral_1h_input_tokens": 0, "ephemeral_5m_input_tokens": 0},
        "inference_geo": None,
        "iterations": None,
        "speed": None,
    }
    text = "No response requested."
    if api_error:
        text = ctx.rng.choice(
            [
                "API Error: 529 Overloaded",
                "Claude AI usage limit reached|1767225600",
                "API Error: 500 Internal server error",
            ]
        )
    rec["message"] = {
        "id": ctx.corpus.uuid4(),
        "container": None,
        "model": "<synthetic>",
        "role": "assistant",
        "stop_reason": "stop_sequence",
        "stop_sequence": "",
        "type": "message",
        "usage": usage,
        "content": [{"type": "text", "text": text}],
        "context_management": None,
    }
    rec["isApiErrorMessage"] = api_error
    if api_error:
        rec["error"] = ctx.rng.choice(["rate_limit", "server_error"])
        rec["apiErrorStatus"] = ctx.rng.choice([429, 529, 500])
    ctx.writer.emit(rec, skip_reason="null_field(synthetic/api_error)")


def emit_subagent(ctx: SessionCtx, tool: dict[str, Any]) -> None:
    """Task tool: subagent file + agent_progress copies in the parent + roll-up result."""
    corpus = ctx.corpus
    rng = ctx.rng
    agent_id = corpus.b62(7).lower() if rng.random() < 0.5 else f"{rng.getrandbits(28):07x}"
    rel_parent = ctx.writer.rel[: -len(".jsonl")]
    sub = FileWriter(corpus, f"{rel_parent}/subagents/agent-{agent_id}.jsonl")
    saved_parent, saved_context = ctx.parent_uuid, ctx.context
    ctx.parent_uuid = None
    ctx.context = rng.randint(3000, 12_000)
    emit_user_text(ctx, "Subtask: " + corpus.text(rng.randint(40, 300)), sub, True, agent_id)
    rollup = Usage(0, 0, 0, 0, 0)
    progress: list[tuple[dict[str, Any], Meta]] = []
    for _ in range(rng.randint(1, 3)):
        n_tools = rng.choice([0, 1, 1, 2])
        blocks, copies, call = emit_call(
            ctx, n_tools, sidechain=True, agent_id=agent_id, writer=sub
        )
        final = copies[-1]
        # The parent file sees an agent_progress copy of one of the streamed lines.
        pick = copies[-1] if rng.random() < 0.6 else copies[0]
        msg_id, req_id, usage, ts_ms, src = pick
        inner: dict[str, Any] = {"type": "assistant", "message": src["message"]}
        if req_id is not None:
            inner["requestId"] = req_id
        # Some writers omit isSidechain on the embedded copy; ccusage then treats the
        # progress copy as a parent (non-sidechain) copy that beats the subagent file's lines.
        flagged = rng.random() < 0.5
        if flagged:
            inner["isSidechain"] = True
        inner["uuid"] = src["uuid"]
        inner["timestamp"] = src["timestamp"]
        progress.append((inner, (msg_id, req_id, flagged, usage, ts_ms, call)))
        rollup = Usage(
            rollup.input_tokens + final[2].input_tokens,
            rollup.output_tokens + final[2].output_tokens,
            rollup.cache_5m + final[2].cache_5m,
            rollup.cache_1h + final[2].cache_1h,
            rollup.cache_read + final[2].cache_read,
        )
        for block in blocks:
            if block["type"] == "tool_use":
                emit_tool_result(ctx, block, rng.randint(200, 4000), sub, True, agent_id)
    sub.close()
    ctx.parent_uuid, ctx.context = saved_parent, saved_context
    for inner, meta in progress:
        rec = ctx.envelope("progress")
        rec["data"] = {
            "message": inner,
            "normalizedMessages": [],
            "type": "agent_progress",
            "prompt": "Subtask",
            "agentId": agent_id,
        }
        rec["toolUseID"] = "agent_msg_01" + corpus.b62(22)
        rec["parentToolUseID"] = tool["id"]
        rec["uuid"] = corpus.uuid4()
        rec["timestamp"] = ts_str(ctx.tick(1, 40))
        ctx.keep(rec, meta)
    emit_tool_result(ctx, tool, rng.randint(100, 1500), rollup=rollup)


def emit_btw_replay(ctx: SessionCtx) -> None:
    """A /btw style sidechain replay of an earlier parent message with a new requestId."""
    if not ctx.parent_msgs:
        return
    msg_id, _req, usage, _call = ctx.rng.choice(ctx.parent_msgs)
    replay = Usage(
        usage.input_tokens,
        usage.output_tokens,
        usage.cache_5m,
        usage.cache_1h,
        usage.cache_read + ctx.rng.randint(1000, 50_000),
        usage.buckets,
        usage.speed,
    )
    req_id = "req_011C" + ctx.corpus.b62(21)
    ts_ms = ctx.tick(100, 3000)
    block = {"type": "text", "text": ctx.corpus.text(200)}
    rec = assistant_record(
        ctx, msg_id, req_id, ctx.model, block, replay, ts_ms, "end_turn", sidechain=True
    )
    # call=-1: this copy must lose to the parent copy (non-sidechain wins).
    ctx.keep(rec, (msg_id, req_id, True, replay, ts_ms, -1))


def emit_edge(ctx: SessionCtx, kind: str) -> None:
    corpus = ctx.corpus
    rng = ctx.rng
    ts_ms = ctx.tick(100, 3000)
    msg_id = "msg_01" + corpus.b62(22)
    req_id = "req_011C" + corpus.b62(21)
    usage = Usage(
        rng.randint(1, 50),
        rng.randint(10, 900),
        rng.randint(0, 5000),
        0,
        rng.randint(0, 40_000),
        True,
        "standard",
    )
    block = {"type": "text", "text": corpus.text(100)}
    rec = assistant_record(ctx, msg_id, req_id, ctx.model, block, usage, ts_ms, "end_turn")
    w = ctx.writer
    if kind == "null_cost":
        rec["costUSD"] = None
        w.emit(rec, skip_reason="null_field(costUSD)")
    elif kind == "null_request":
        rec["requestId"] = None
        w.emit(rec, skip_reason="null_field(requestId)")
    elif kind == "micro_ts":
        rec["timestamp"] = ts_str(ts_ms, micro=True)
        w.emit(rec, skip_reason="bad_timestamp")
    elif kind == "bad_version":
        rec["version"] = "dev"
        w.emit(rec, skip_reason="non_semver_version")
    elif kind == "spaced_json":
        w.emit(rec, raw=json.dumps(rec, ensure_ascii=False), skip_reason="no_compact_usage_marker")
    elif kind == "bucket_mismatch":
        odd = Usage(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_5m,
            17,
            usage.cache_read,
            True,
            "standard",
            flat_override=usage.cache_5m + 999,
        )
        rec["message"]["usage"] = odd.to_json()
        w.emit(rec, counted=(msg_id, req_id, False, odd, ts_ms, corpus.new_call()))
    elif kind == "no_message_id":
        del rec["message"]["id"]
        # Two copies: without message.id ccusage never merges, so both count. Unambiguous
        # corpora give the second its own uuid (two records, not one line written twice).
        w.emit(rec, counted=(None, req_id, False, usage, ts_ms, corpus.new_call()))
        if corpus.unambiguous:
            rec = {**rec, "uuid": corpus.uuid4()}
        w.emit(rec, counted=(None, req_id, False, usage, ts_ms, corpus.new_call()))
    elif kind == "no_request_id":
        del rec["requestId"]
        call = corpus.new_call()
        small = usage.with_output(3)
        rec2 = json.loads(json.dumps(rec))
        rec2["message"]["usage"] = small.to_json()
        w.emit(rec2, counted=(msg_id, None, False, small, ts_ms, call))
        w.emit(rec, counted=(msg_id, None, False, usage, ts_ms, call))


EDGE_KINDS = [
    "null_cost",
    "null_request",
    "micro_ts",
    "bad_version",
    "spaced_json",
    "bucket_mismatch",
    "no_message_id",
    "no_request_id",
]


def jump_to_midnight(ctx: SessionCtx) -> None:
    next_midnight = (ctx.t // MS_PER_DAY + 1) * MS_PER_DAY
    ctx.t = max(ctx.t, next_midnight - ctx.rng.randint(800, 2500))


def gen_session(
    corpus: Corpus,
    cwd: str,
    start_ms: int,
    budget: int,
    resume_from: SessionCtx | None,
    edge_kinds: list[str],
    huge_bytes: int,
) -> SessionCtx:
    rng = corpus.rng
    version, has_req, buckets, has_speed = rng.choice(VERSIONS)
    has_req = has_req or corpus.unambiguous
    model, _w, max_out = rng.choices(MODELS, weights=[m[1] for m in MODELS])[0]
    session_id = corpus.uuid4()
    writer = FileWriter(corpus, f"{escape_cwd(cwd)}/{session_id}.jsonl")
    slug = None
    if version.startswith("2.1"):
        slug = "-".join(
            rng.choice(["zippy", "quiet", "brave", "munching", "sundae", "otter", "lunar", "amber"])
            for _ in range(3)
        )
    ctx = SessionCtx(
        corpus,
        writer,
        session_id,
        cwd,
        version,
        has_req,
        buckets,
        has_speed,
        rng.choice(["main", "master", "feat/tailer", "fix/dedupe"]),
        slug,
        model,
        max_out,
        start_ms,
    )
    ctx.edge_queue = list(edge_kinds)
    ctx.huge_bytes = huge_bytes
    if version.startswith("1.0") and rng.random() < 0.5:
        writer.emit({"type": "summary", "summary": corpus.text(50), "leafUuid": corpus.uuid4()})
    if resume_from is not None:
        # Resumed/continued session: earlier messages copied verbatim (new sessionId).
        ctx.context = resume_from.context
        for rec, meta in zip(resume_from.history, resume_from.history_meta, strict=True):
            if corpus.unambiguous and meta is not None and meta[5] < 0:
                continue  # a /btw replay re-billed under the new sessionId by ccusage
            copy = json.loads(json.dumps(rec))
            if "sessionId" in copy:
                copy["sessionId"] = session_id
            writer.emit(copy, counted=meta)
        ctx.t = max(ctx.t, resume_from.t + rng.randint(60_000, 3_600_000))
        ctx.parent_uuid = resume_from.parent_uuid
    turns = 0
    start_bytes = corpus.stats.bytes
    # The budget covers the session file and its subagent files (a huge line comes on top).
    while turns < 2 or corpus.stats.bytes - start_bytes - huge_bytes < budget:
        turns += 1
        if rng.random() < 0.03:
            jump_to_midnight(ctx)
        emit_misc(ctx)
        emit_user_text(ctx, corpus.text(rng.randint(20, 600)))
        for step in range(rng.randint(1, 4)):
            if step and turns > 2 and corpus.stats.bytes - start_bytes - huge_bytes >= budget:
                break
            n_tools = rng.choice([0, 1, 1, 2, 3])
            huge = 0
            if ctx.huge_bytes:
                huge, ctx.huge_bytes = ctx.huge_bytes, 0
                n_tools = max(1, n_tools)
            blocks, _copies, _call = emit_call(ctx, n_tools, huge=huge)
            for block in blocks:
                if block["type"] != "tool_use":
                    continue
                if ctx.version.startswith("2.") and rng.random() < 0.12:
                    block["name"] = "Task"
                    emit_subagent(ctx, block)
                else:
                    size = (
                        rng.randint(300, 6000) if rng.random() < 0.8 else rng.randint(8000, 60_000)
                    )
                    emit_tool_result(ctx, block, size)
            if n_tools == 0:
                break
        if ctx.version.startswith("1.0") and rng.random() < 0.08:
            # 1.x wrote sidechain records into the main file.
            emit_user_text(ctx, "sidechain " + corpus.text(80), sidechain=True)
            emit_call(ctx, 0, sidechain=True)
        if rng.random() < 0.04:
            emit_btw_replay(ctx)
        if rng.random() < 0.05:
            emit_synthetic(ctx, api_error=rng.random() < 0.5)
        if ctx.edge_queue and rng.random() < 0.3:
            emit_edge(ctx, ctx.edge_queue.pop())
        if ctx.version.startswith("2."):
            emit_system(ctx, "turn_duration")
        if rng.random() < 0.1:
            emit_system(ctx, "stop_hook_summary")
        if rng.random() < 0.03:
            emit_system(ctx, "compact_boundary")
        ctx.tick(5_000, 20 * 60_000 if rng.random() < 0.9 else 5 * 3_600_000)
    for kind in ctx.edge_queue:
        emit_edge(ctx, kind)
    ctx.edge_queue = []
    writer.close()
    return ctx


# ---- expected totals ------------------------------------------------------------------------
Totals = dict[str, list[int]]  # day -> [input, output, cache_creation, cache_read]


def add(totals: Totals, ul: UsageLine) -> None:
    row = totals.setdefault(utc_day(ul.ts_ms), [0, 0, 0, 0])
    row[0] += ul.usage.input_tokens
    row[1] += ul.usage.output_tokens
    row[2] += ul.usage.cache_creation
    row[3] += ul.usage.cache_read


def same_key(a: UsageLine, b: UsageLine) -> bool:
    """Exact de-dup key: (message.id, requestId). Without a requestId ccusage 20.0.24 keys on
    (message.id, sessionId, timestamp instant): streamed copies written at different times, and
    resumed copies carrying the new sessionId, are all billed."""
    if a.msg_id != b.msg_id or a.req_id != b.req_id:
        return False
    return a.req_id is not None or (a.ts_ms == b.ts_ms and a.session == b.session)


def dedupe(lines: list[UsageLine]) -> list[UsageLine]:
    """Replay ccusage's de-duplication over counted lines in processing order.

    Each kept entry remembers the sessions of every line that created, replaced or exactly
    matched it; the sidechain fallback (same message.id, either side a sidechain copy) only
    reaches entries that have been seen in the candidate's session.
    """
    ordered = sorted(lines, key=lambda ul: (ul.sort_key, ul.seq))
    kept: list[UsageLine] = []
    sessions: list[set[str]] = []
    by_msg: dict[str, list[int]] = {}
    for cand in ordered:
        if cand.msg_id is None:
            kept.append(cand)
            sessions.append({cand.session})
            continue
        idxs = by_msg.setdefault(cand.msg_id, [])
        hit = next((i for i in idxs if same_key(kept[i], cand)), None)
        if hit is None:
            hit = next(
                (
                    i
                    for i in idxs
                    if cand.session in sessions[i] and (cand.sidechain or kept[i].sidechain)
                ),
                None,
            )
        if hit is None:
            idxs.append(len(kept))
            kept.append(cand)
            sessions.append({cand.session})
            continue
        sessions[hit].add(cand.session)
        cur = kept[hit]
        if cand.sidechain != cur.sidechain:
            replace = cur.sidechain
        elif cand.usage.total != cur.usage.total:
            replace = cand.usage.total > cur.usage.total
        else:
            replace = cand.usage.speed is not None and cur.usage.speed is None
        if replace:
            kept[hit] = cand
    return kept


def replay_rules(lines: list[UsageLine]) -> Totals:
    totals: Totals = {}
    for ul in dedupe(lines):
        add(totals, ul)
    return totals


def intended(corpus: Corpus) -> tuple[Totals, int]:
    """The same rules applied per logical API call. Agreement with the corpus-wide replay proves
    no two calls share a key. /btw sidechain replays only merge with a parent copy of the same
    session, so a replay copied into a resumed session (new sessionId) can survive when the
    parent's copy there matched the original by requestId; those survivors are billed too."""
    totals: Totals = {}
    for copies in corpus.call_copies.values():
        for ul in dedupe(copies):
            add(totals, ul)
    replays = {id(ul) for ul in corpus.usage_lines if ul.call < 0}
    survivors = [ul for ul in dedupe(corpus.usage_lines) if id(ul) in replays]
    for ul in survivors:
        add(totals, ul)
    return totals, len(survivors)


def as_report(totals: Totals) -> dict[str, Any]:
    daily = []
    grand = [0, 0, 0, 0]
    for day in sorted(totals):
        i, o, cc, cr = totals[day]
        daily.append(
            {
                "date": day,
                "inputTokens": i,
                "outputTokens": o,
                "cacheCreationTokens": cc,
                "cacheReadTokens": cr,
                "totalTokens": i + o + cc + cr,
            }
        )
        grand = [a + b for a, b in zip(grand, totals[day], strict=True)]
    return {
        "daily": daily,
        "totals": {
            "inputTokens": grand[0],
            "outputTokens": grand[1],
            "cacheCreationTokens": grand[2],
            "cacheReadTokens": grand[3],
            "totalTokens": sum(grand),
        },
    }


def plan_projects(rng: random.Random, n_sessions: int) -> list[str]:
    n = max(1, min(12, n_sessions // 6 + 1))
    names = [
        "agenttail",
        "web app",
        "infra_tf",
        "ml.pipeline",
        "docs",
        "api-gw",
        "cli",
        "mobile",
        "data lake",
        "etl",
        "site",
        "tools",
    ]
    rng.shuffle(names)
    homes = ["/home/dev/work", "/Users/alex/code", "/home/dev/src/github.com/acme"]
    return [f"{rng.choice(homes)}/{name}" for name in names[:n]]


def generate(args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    out = Path(args.out_dir)
    corpus = Corpus(out, rng, args.unambiguous)
    projects = plan_projects(rng, args.sessions)
    start = datetime.combine(date.fromisoformat(args.start_date), datetime.min.time(), tzinfo=UTC)
    start_ms = int(start.timestamp() * 1000)
    span_ms = args.days * MS_PER_DAY
    budget = max(4096, int(args.target_mb * 1024 * 1024 / max(1, args.sessions)))
    edge_plan: list[list[str]] = [[] for _ in range(args.sessions)]
    if args.edge_cases:
        omit = set(args.omit_edge or ())
        if args.unambiguous:
            omit.add("no_request_id")
        for kind in EDGE_KINDS:
            if kind in omit:
                continue
            edge_plan[rng.randrange(args.sessions)].append(kind)
    huge_at = rng.randrange(args.sessions) if args.huge_line_mb > 0 else -1
    starts = sorted(start_ms + rng.randrange(span_ms - 6 * 3_600_000) for _ in range(args.sessions))
    done: dict[str, list[SessionCtx]] = {}
    for k, s_ms in enumerate(starts):
        cwd = rng.choice(projects)
        prior = done.get(cwd, [])
        resume = rng.choice(prior) if prior and rng.random() < 0.15 else None
        huge = int(args.huge_line_mb * 1024 * 1024) if k == huge_at else 0
        ctx = gen_session(corpus, cwd, s_ms, budget, resume, edge_plan[k], huge)
        ctx.history_meta = ctx.history_meta[:80]
        done.setdefault(cwd, []).append(ctx)
        if len(done[cwd]) > 8:
            done[cwd].pop(0)
    by_rules = replay_rules(corpus.usage_lines)
    by_intent, replays_billed = intended(corpus)
    if by_rules != by_intent:
        raise SystemExit(f"internal error: rule replay {by_rules} != intent {by_intent}")
    report = as_report(by_rules)
    st = corpus.stats
    report.update(
        {
            "timezone": "UTC",
            "generator": {
                "seed": args.seed,
                "sessions": args.sessions,
                "target_mb": args.target_mb,
                "huge_line_mb": args.huge_line_mb,
                "days": args.days,
                "start_date": args.start_date,
                "edge_cases": args.edge_cases,
                "unambiguous": args.unambiguous,
                "omit_edge": sorted(args.omit_edge or ()),
            },
            "stats": {
                "files": st.files,
                "subagent_files": st.subagent_files,
                "lines": st.lines,
                "bytes": st.bytes,
                "largest_line_bytes": st.largest_line_bytes,
                "counted_usage_lines": st.usage_lines,
                "api_calls": st.api_calls,
                "sidechain_replays_billed": replays_billed,
                "skipped_usage_lines": dict(sorted(st.skipped_usage_lines.items())),
            },
        }
    )
    (out / "expected.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def iter_summary(report: dict[str, Any]) -> Iterator[str]:
    st = report["stats"]
    yield (
        f"files={st['files']} (subagent {st['subagent_files']}) lines={st['lines']} "
        f"bytes={st['bytes']} largest_line={st['largest_line_bytes']}"
    )
    for row in report["daily"]:
        yield (
            f"{row['date']} in={row['inputTokens']} out={row['outputTokens']} "
            f"cc={row['cacheCreationTokens']} cr={row['cacheReadTokens']} "
            f"total={row['totalTokens']}"
        )
    yield f"TOTAL {report['totals']}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--sessions", type=int, default=50)
    p.add_argument("--target-mb", type=float, default=50.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--huge-line-mb", type=float, default=0.0)
    p.add_argument("--days", type=int, default=30)
    p.add_argument("--start-date", default="2026-01-05")
    p.add_argument("--no-edge-cases", dest="edge_cases", action="store_false")
    p.add_argument(
        "--unambiguous",
        action="store_true",
        help="every line keyed by requestId and no replay re-billed in a resumed session",
    )
    p.add_argument(
        "--omit-edge",
        action="append",
        choices=EDGE_KINDS,
        metavar="KIND",
        help=f"leave out one edge case (repeatable): {', '.join(EDGE_KINDS)}",
    )
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.sessions < 1 or args.days < 1:
        p.error("--sessions and --days must be >= 1")
    report = generate(args)
    if not args.quiet:
        for line in iter_summary(report):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
