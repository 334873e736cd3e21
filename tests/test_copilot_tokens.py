"""Copilot Chat session files: tokens wherever a known version writes them (issue 8, item 2).

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
