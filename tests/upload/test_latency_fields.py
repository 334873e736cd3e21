"""Latency and context metrics leave the machine; content never does (issue 8, item 16).

Real files in the agents' formats, the real CLI (``scan``, ``upload``) and a real receiver on
127.0.0.1, once with the JSON batch exporter and once with OTLP.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from scripts import gen_copilot_home as GEN
from tests.upload.receiver import Receiver
from tests.upload.support import VALIDATOR

SECRET = "CANARY-latency-prompt"


def write_sources(tmp_path: Path) -> None:
    """A VS Code trace span with ttft_ms (ms) and a Copilot CLI OTel span with the GenAI
    convention's time to first chunk (seconds)."""
    user = tmp_path / "user-home" / ".config" / "Code" / "User"
    db = GEN.TraceDb(user / "globalStorage" / "github.copilot-chat" / "agent-traces.db")
    db.span(
        {"error.type": "rate_limited", "gen_ai.input.messages": SECRET},
        span_id="vs-1", trace_id="t", name="chat gpt-4o", start_time_ms=1_800_000_000_000,
        end_time_ms=1_800_000_002_500.0, operation_name="chat", response_model="gpt-4o",
        input_tokens=1000, output_tokens=50, cached_tokens=400, chat_session_id="s-vs",
        ttft_ms=321,
    )  # fmt: skip
    db.close()
    otel = tmp_path / "user-home" / ".copilot" / "otel" / "export.jsonl"
    otel.parent.mkdir(parents=True)
    span = {
        "type": "span", "traceId": "tc", "spanId": "cli-1", "name": "chat gpt-5",
        "startTime": [1_800_000_100, 0], "endTime": [1_800_000_104, 0], "status": {"code": 0},
        "attributes": {"gen_ai.operation.name": "chat", "gen_ai.conversation.id": "s-cli",
                       "gen_ai.response.model": "gpt-5", "gen_ai.usage.input_tokens": 700,
                       "gen_ai.usage.output_tokens": 70, TTFC: 0.75,
                       "gen_ai.output.messages": SECRET},
    }  # fmt: skip
    otel.write_text(json.dumps(span) + "\n")


TTFC = "gen_ai.response.time_to_first_chunk"


def cli(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


def upload(tmp_path: Path, url: str, exporter: str) -> None:
    env = {
        **os.environ,
        "AGENTTAIL_HOME": str(tmp_path / f"home-{exporter}"),
        "AGENTTAIL_UPLOAD_URL": url,
        "AGENTTAIL_UPLOAD_TOKEN": "tok-latency",
        "AGENTTAIL_UPLOAD_EXPORTER": exporter,
    }
    cli(env, "scan")
    cli(env, "upload")


def requests_by_session(events: dict[str, Any], session_key: str) -> dict[str, Any]:
    return {e[session_key]: e for e in events.values() if e.get("kind") == "llm_request"}


def test_ttft_duration_context_and_error_class_leave_by_json_and_otlp(
    receiver: Receiver, tmp_path: Path
) -> None:
    write_sources(tmp_path)
    upload(tmp_path, receiver.url, "http")
    for captured in receiver.requests:
        VALIDATOR.validate(json.loads(captured.body))
        assert SECRET.encode() not in captured.body
    sent = requests_by_session(receiver.events, "session_id")
    assert set(sent) == {"s-vs", "s-cli"}
    assert sent["s-vs"]["ttft_ms"] == 321
    assert sent["s-vs"]["duration_ms"] == 2500
    assert sent["s-vs"]["context_tokens"] == 1000  # all input, cached included
    assert sent["s-vs"]["error_class"] == "rate_limited"
    assert sent["s-cli"]["ttft_ms"] == 750  # 0.75 s
    assert sent["s-cli"]["duration_ms"] == 4000
    assert sent["s-cli"]["context_tokens"] == 700

    otlp = Receiver()
    try:
        upload(tmp_path, otlp.url, "otlp")
        assert all(SECRET.encode() not in c.body for c in otlp.requests)
        records = [e["attrs"] for e in otlp.events.values()]
    finally:
        otlp.close()
    chats = {
        a["gen_ai.conversation.id"]: a for a in records if a["agenttail.kind"] == "llm_request"
    }
    assert chats["s-vs"][TTFC] == 0.321 and chats["s-vs"]["agenttail.ttft_ms"] == 321
    assert chats["s-vs"]["error.type"] == "rate_limited"
    assert chats["s-vs"]["agenttail.duration_ms"] == 2500
    assert chats["s-vs"]["agenttail.context_tokens"] == 1000
    assert chats["s-cli"][TTFC] == 0.75 and chats["s-cli"]["agenttail.ttft_ms"] == 750
