"""agenttail's daily token totals equal ccusage 20's wherever ccusage's keys identify API calls.

Users compare ``agenttail report daily`` with ``ccusage daily``; the numbers must agree. The one
deliberate divergence: ccusage keys a usage line without ``requestId`` by (message.id, session,
timestamp), so Claude Code 2.1.x streamed copies (and /btw replays copied into a resumed
session) are billed once per copy; agenttail counts one API response once. The corpus tests use
``gen_claude_corpus.py --unambiguous`` (every line keyed by requestId), whose expected.json is
ccusage's per-day arithmetic; the ccusage tests run the real binary (installed with npm into a
cache folder on first use, skipped when that is impossible).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts import ccusage_tool
from tests import helpers
from tests.conftest import SAMPLES

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "gen_claude_corpus.py"
# Read at import: the autouse isolated_env fixture removes AGENTTAIL_* variables.
CCUSAGE_DIR = ccusage_tool.default_dir()
# Where agenttail still differs from ccusage 20.0.24 although every line has a requestId (see
# test_known_validity_gaps): ccusage skips a line whose raw bytes lack the compact marker
# '"usage":{' (its byte pre-filter); agenttail parses the line and counts it. Claude Code
# writes compact JSON, so real transcripts never hit this.
KNOWN_GAPS = ("spaced_json",)


@dataclass(frozen=True)
class Corpus:
    config_dir: Path
    expected: Any


def generate(out: Path, *extra: str) -> Corpus:
    subprocess.run(
        [sys.executable, str(GENERATOR), str(out), "--unambiguous", "--quiet", *extra],
        check=True,
        timeout=120,
    )
    return Corpus(out, json.loads((out / "expected.json").read_text(encoding="utf-8")))


def agenttail_daily(config_dir: Path, home: Path) -> Any:
    """A real ``agenttail scan`` then ``report daily --json --timezone UTC``.

    Lines over 256 KiB are not parsed whole, so the corpus's 1 MB line goes through the
    bounded salvage path and must still count exactly.
    """
    return helpers.agenttail_daily(
        {
            **os.environ,
            "AGENTTAIL_HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "AGENTTAIL_MAX_LINE_BYTES": str(256 * 1024),
        }
    )


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    """~3 MB over 14 sessions and ~20 days: streaming copies, subagents, agent_progress
    copies, resumed sessions, /btw replays, midnight crossings, a 1 MB line, edge cases."""
    out = tmp_path_factory.mktemp("corpus")
    args = ["--sessions", "14", "--target-mb", "2", "--huge-line-mb", "1", "--seed", "11"]
    args += ["--days", "20"]
    for kind in KNOWN_GAPS:
        args += ["--omit-edge", kind]
    return generate(out, *args)


@pytest.fixture(scope="module")
def agenttail_report(corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return agenttail_daily(corpus.config_dir, tmp_path_factory.mktemp("agenttail-home"))


@pytest.fixture(scope="module")
def ccusage() -> Path:
    return helpers.ccusage_or_skip(CCUSAGE_DIR)


def test_corpus_totals_equal_ccusage_arithmetic(corpus: Corpus, agenttail_report: Any) -> None:
    expected_days, expected_totals = ccusage_tool.ccusage_rows(corpus.expected)
    days, totals = ccusage_tool.agenttail_rows(agenttail_report)
    assert len(expected_days) >= 10
    assert days == expected_days
    assert totals == expected_totals


def test_corpus_totals_equal_real_ccusage(
    corpus: Corpus, agenttail_report: Any, ccusage: Path, tmp_path: Path
) -> None:
    theirs = ccusage_tool.run_daily(ccusage, corpus.config_dir, tmp_path / "empty-home")
    their_days, their_totals = ccusage_tool.ccusage_rows(theirs)
    days, totals = ccusage_tool.agenttail_rows(agenttail_report)
    assert days == their_days
    assert totals == their_totals


@pytest.mark.xfail(
    strict=True, raises=AssertionError, reason="agenttail counts spaced-JSON usage lines"
)
def test_known_validity_gaps(tmp_path: Path) -> None:
    """When this passes, agenttail has closed the gaps: drop KNOWN_GAPS and this test."""
    sessions = ["--sessions", "3", "--target-mb", "0.2", "--seed", "5", "--days", "3"]
    small = generate(tmp_path / "corpus", *sessions)
    days, totals = ccusage_tool.agenttail_rows(agenttail_daily(small.config_dir, tmp_path / "h"))
    assert (days, totals) == ccusage_tool.ccusage_rows(small.expected)


# ---- the real public samples ----------------------------------------------------------------

WITH_REQUEST_ID = ("git-ai/claude-code-with-thinking.jsonl", "claude-code/b02ed4d8-*.jsonl")
WITHOUT_REQUEST_ID = ("claude-code/98b76fb9-*.jsonl", "claude-code/b3a7bd3c-*.jsonl")


def sample_config(tmp_path: Path, pattern: str) -> Path:
    """A config dir holding one sample session (and its subagents folder) as Claude Code
    lays it out; the samples themselves stay read-only in ../shared."""
    if not SAMPLES.is_dir():
        pytest.skip(f"samples not present at {SAMPLES}")
    (source,) = sorted(SAMPLES.glob(pattern))
    project = tmp_path / "claude" / "projects" / "-home-dev-sample"
    project.mkdir(parents=True)
    (project / source.name).write_bytes(source.read_bytes())
    subagents = source.with_suffix("") / "subagents"
    if subagents.is_dir():
        target = project / source.stem / "subagents"
        target.mkdir(parents=True)
        for path in subagents.glob("*.jsonl"):
            (target / path.name).write_bytes(path.read_bytes())
    return tmp_path / "claude"


def message_ids(config_dir: Path) -> set[str]:
    """Distinct message ids of usage-bearing assistant lines (direct or agent_progress)."""
    ids: set[str] = set()
    for path in (config_dir / "projects").rglob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if '"usage":{' not in line:
                continue
            record = json.loads(line)
            if record.get("type") == "progress":
                record = record.get("data", {}).get("message", {})
            message = record.get("message")
            if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
                continue
            if message.get("model") != "<synthetic>" and isinstance(message.get("id"), str):
                ids.add(message["id"])
    return ids


@pytest.mark.parametrize("pattern", WITHOUT_REQUEST_ID)
def test_samples_without_request_id_count_each_response_once(pattern: str, tmp_path: Path) -> None:
    config = sample_config(tmp_path, pattern)
    report = agenttail_daily(config, tmp_path / "home")
    assert report["totals"]["requests"] == len(message_ids(config)) > 0


@pytest.mark.parametrize("pattern", WITH_REQUEST_ID)
def test_samples_with_request_id_equal_ccusage(pattern: str, tmp_path: Path, ccusage: Path) -> None:
    config = sample_config(tmp_path, pattern)
    theirs = ccusage_tool.ccusage_rows(ccusage_tool.run_daily(ccusage, config, tmp_path / "e"))
    ours = ccusage_tool.agenttail_rows(agenttail_daily(config, tmp_path / "home"))
    assert ours == theirs
    assert ours[1]["total_tokens"] > 0


@pytest.mark.parametrize("pattern", WITHOUT_REQUEST_ID)
def test_samples_without_request_id_never_exceed_ccusage(
    pattern: str, tmp_path: Path, ccusage: Path
) -> None:
    """ccusage bills each streamed copy that lacks a requestId; agenttail bills the response."""
    config = sample_config(tmp_path, pattern)
    their_days, their_totals = ccusage_tool.ccusage_rows(
        ccusage_tool.run_daily(ccusage, config, tmp_path / "e")
    )
    days, totals = ccusage_tool.agenttail_rows(agenttail_daily(config, tmp_path / "home"))
    assert set(days) == set(their_days)
    for day, row in days.items():
        for field, tokens in row.items():
            assert tokens <= their_days[day][field], (day, field)
    # Both samples split a response over several lines: ccusage bills it more than once.
    assert 0 < totals["total_tokens"] < their_totals["total_tokens"]
