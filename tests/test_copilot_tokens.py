"""Copilot tokens wherever a known version writes them (issue 8, items 2 and 3).

Copilot Chat 0.37 returned ``ChatResult.usage`` (``promptTokens``/``completionTokens``), which
VS Code persists as ``result.usage``; earlier versions write ``result.metadata.promptTokens`` /
``outputTokens``. A request with no tokens anywhere is a request with unknown tokens, shown in
``status``, never silent zeros. Driven through the real CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from scripts import gen_copilot_home as GEN
from tests.helpers import agenttail_cli

DAY = 1_800_000_000_000  # 2027-01-15T08:00:00Z


def cli_json(*args: str) -> Any:
    return json.loads(agenttail_cli(dict(os.environ), *args, "--json"))


def workspace(tmp_path: Path) -> Path:
    user = tmp_path / "user-home" / ".config" / "Code" / "User"
    return GEN.write_workspace(user, "h1", "/home/me/p") / "chatSessions"


def request(rid: str, ts: int | None, result: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {
        "requestId": rid,
        "modelId": "copilot/gpt-4o",
        "message": {"text": "secret prompt", "parts": []},
        "response": [{"kind": "markdownContent", "content": {"value": "secret reply"}}],
        "result": {"timings": {"totalElapsed": 900}, **result},
    }
    if ts is not None:
        data["timestamp"] = ts
        data["modelState"] = {"value": 1, "completedAt": ts + 900}
    return data


def usage_037(prompt: int, completion: int) -> dict[str, Any]:
    return {"usage": {"promptTokens": prompt, "completionTokens": completion}, "metadata": {}}


def test_tokens_in_result_usage_and_unknown_tokens_in_both_file_forms(tmp_path: Path) -> None:
    folder = workspace(tmp_path)
    folder.mkdir(parents=True)
    json_requests = [
        request("j0", DAY, usage_037(1200, 80)),
        request("j1", DAY + 60_000, {"metadata": {"promptTokens": 300, "outputTokens": 20}}),
        request("j2", DAY + 120_000, {"metadata": {"resolvedModel": "gpt-4o"}}),  # no tokens
    ]
    doc = GEN.session_document("s-json", DAY, json_requests)
    (folder / "s-json.json").write_text(json.dumps(doc))
    log_requests = [
        request("l0", DAY + 3_600_000, usage_037(2000, 150)),
        request("l1", DAY + 3_660_000, {}),  # no tokens
    ]
    GEN.write_mutation_log(folder / "s-log.jsonl", "s-log", DAY + 3_600_000, log_requests)
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    totals = report["totals"]
    assert totals["requests"] == 5  # every request, also the two without tokens
    assert totals["input_tokens"] == 1200 + 300 + 2000
    assert totals["output_tokens"] == 80 + 20 + 150
    gaps = cli_json("status")["gaps"]
    assert gaps["unknown_token_requests"] == {"copilot": 2}
    by_stream = gaps["unknown_token_requests_by_stream"]["copilot"]
    assert by_stream == {str(folder / "s-json.json"): 1, str(folder / "s-log.jsonl"): 1}
    text = agenttail_cli(dict(os.environ), "status")
    assert "copilot: 2 requests without recorded tokens" in text


def test_a_request_without_timestamp_is_dated_by_its_completion_or_skipped(
    tmp_path: Path,
) -> None:
    folder = workspace(tmp_path)
    folder.mkdir(parents=True)
    completed = request("c0", None, usage_037(10, 1))
    completed["modelState"] = {"value": 1, "completedAt": DAY + 86_400_000}  # the next day
    undated = request("u0", None, usage_037(20, 2))
    doc = GEN.session_document("s-undated", DAY, [completed])
    del doc["creationDate"]
    (folder / "s-undated.json").write_text(json.dumps(doc))
    doc = GEN.session_document("s-none", DAY, [undated])
    del doc["creationDate"]
    (folder / "s-none.json").write_text(json.dumps(doc))
    agenttail_cli(dict(os.environ), "scan")
    report = cli_json("report", "daily", "--timezone", "UTC")
    assert [(d["date"], d["input_tokens"]) for d in report["daily"]] == [("2027-01-16", 10)]
    status = cli_json("status")
    skipped = {s["path"]: s for s in status["gaps"]["invalid_records"]}
    (entry,) = skipped.values()
    assert entry["path"].endswith("s-none.json") and entry["last_reason"].endswith("no timestamp")


# -- Copilot CLI: per-model totals in session.shutdown (issue 8, item 3) -----------------------

CLI_DAY = "2027-01-15T10:00:00.000Z"


def cli_events(tmp_path: Path, session: str, *events: tuple[str, dict[str, Any]]) -> None:
    """``session-state/<id>/events.jsonl`` in the ``{type, data, id, timestamp}`` envelope."""
    folder = tmp_path / "user-home" / ".copilot" / "session-state" / session
    folder.mkdir(parents=True)
    start = ("session.start", {"sessionId": session, "context": {"cwd": "/home/me/cli"}})
    lines = [
        {"type": kind, "data": data, "id": f"{session}-{n}", "timestamp": CLI_DAY, "parentId": None}
        for n, (kind, data) in enumerate([start, *events])
    ]
    (folder / "events.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


def model_metrics(**models: tuple[int, int, int, int]) -> dict[str, Any]:
    """``modelMetrics``: per model (input incl. cache, output, cache read, cache write)."""
    return {
        "modelMetrics": {
            name.replace("_", "-"): {
                "requests": {"count": 2, "cost": 1},
                "usage": {
                    "inputTokens": inp,
                    "outputTokens": out,
                    "cacheReadTokens": read,
                    "cacheWriteTokens": write,
                    "reasoningTokens": 0,
                },
                "totalNanoAiu": 0,
            }
            for name, (inp, out, read, write) in models.items()
        }
    }


def assistant_usage(inp: int, out: int) -> tuple[str, dict[str, Any]]:
    return ("assistant.usage", {"model": "gpt-5", "inputTokens": inp, "outputTokens": out})


def otel_chat_span(session: str, span_id: str, inp: int, out: int) -> dict[str, Any]:
    return {
        "type": "span", "traceId": f"trace-{session}", "spanId": span_id, "name": "chat gpt-5",
        "startTime": [1_800_000_000, 0], "endTime": [1_800_000_002, 0],
        "attributes": {"gen_ai.operation.name": "chat", "gen_ai.conversation.id": session,
                       "gen_ai.response.model": "gpt-5", "gen_ai.usage.input_tokens": inp,
                       "gen_ai.usage.output_tokens": out},
        "status": {"code": 0},
    }  # fmt: skip


def test_shutdown_totals_count_once_beside_per_request_sources(tmp_path: Path) -> None:
    # Only shutdown totals: both models count (input excludes the cache traffic it includes).
    cli_events(
        tmp_path,
        "s-totals",
        (
            "session.shutdown",
            model_metrics(gpt_5=(1000, 100, 300, 200), claude_sonnet_4=(50, 5, 0, 0)),
        ),
    )
    # Per-request usage and the same totals in shutdown: only the per-request rows count.
    cli_events(
        tmp_path,
        "s-requests",
        assistant_usage(400, 40),
        assistant_usage(600, 60),
        ("session.shutdown", model_metrics(gpt_5=(1000, 100, 0, 0))),
    )
    # Per-request usage, shutdown totals and an OTel export of the same session: only the
    # export counts.
    cli_events(
        tmp_path,
        "s-otel",
        assistant_usage(300, 30),
        assistant_usage(400, 40),
        ("session.shutdown", model_metrics(gpt_5=(700, 70, 0, 0))),
    )
    otel = tmp_path / "user-home" / ".copilot" / "otel" / "export.jsonl"
    otel.parent.mkdir(parents=True)
    spans = [otel_chat_span("s-otel", "a", 300, 30), otel_chat_span("s-otel", "b", 400, 40)]
    otel.write_text("".join(json.dumps(span) + "\n" for span in spans))
    agenttail_cli(dict(os.environ), "scan")
    agenttail_cli(dict(os.environ), "scan")  # a second pass counts nothing twice
    sessions = cli_json("report", "session", "--timezone", "UTC")["sessions"]
    got = {
        s["session_id"]: (s["input_tokens"], s["output_tokens"], s["requests"]) for s in sessions
    }
    assert got == {
        "s-totals": ((1000 - 300 - 200) + 50, 100 + 5, 2),  # one row per model
        "s-requests": (400 + 600, 40 + 60, 2),
        "s-otel": (300 + 400, 30 + 40, 2),
    }
    totals = cli_json("report", "daily", "--timezone", "UTC")["totals"]
    assert totals["cache_read_tokens"] == 300 and totals["cache_write_tokens"] == 200


def test_the_unknown_token_count_reads_its_partial_index() -> None:
    from agenttail.paths import AppPaths
    from agenttail.store import UNKNOWN_TOKEN_REQUESTS, Store

    with Store(AppPaths.resolve().database) as store:
        plan = store.conn.execute(f"EXPLAIN QUERY PLAN {UNKNOWN_TOKEN_REQUESTS}").fetchall()
    assert "USING INDEX events_unknown_tokens" in " ".join(str(row) for row in plan)
