"""The agent contract, run against every registered agent and the docs' worked example.

A new agent needs only its module, its entry point and ``fixtures/<name>/root/`` (the content
of its first root, with ``CANARY-...`` strings in its prompt, response and tool text).
"""

from __future__ import annotations

import re
import shutil
import sqlite3
from importlib.metadata import entry_points
from pathlib import Path

import orjson
import pytest

from agenttail.agents.base import PLATFORMS, Agent, discover
from agenttail.agents.registry import ENTRY_POINT_GROUP, agent_classes
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.paths import AppPaths
from agenttail.store import Store
from agenttail.upload.outbox import Limits, Outbox
from agenttail.upload.privacy import ATTR_KEYS, ProjectPolicy
from agenttail.upload.wire import envelope, source_info
from tests.test_docs_agents import example_agent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CANARY = re.compile(rb"CANARY[\w-]*")
NOW_MS = 1_900_000_000_000


def _example_fixture(root: Path) -> None:
    """The worked example's fixture, in its documented format."""
    sessions = root / "sessions"
    sessions.mkdir(parents=True)
    lines = [
        {"id": "c1", "ts": "2026-03-01T10:00:00Z", "model": "gpt-4.1",
         "prompt": "CANARY-demo-prompt", "usage": {"input": 1200, "cached": 200, "output": 300}},
        {"id": "t1", "ts": "2026-03-01T10:00:05Z", "tool": "bash",
         "input": "CANARY-demo-tool-input", "output": "CANARY-demo-tool-output"},
        {"id": "c2", "ts": "2026-03-01T10:01:00Z", "model": "gpt-4.1",
         "reply": "CANARY-demo-response", "usage": {"input": 1500, "cached": 1200, "output": 80}},
    ]  # fmt: skip
    (sessions / "s-001.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))


def _cases() -> list[pytest.param]:
    cases = [pytest.param(cls, id=cls.name) for cls in agent_classes()]
    return [*cases, pytest.param(None, id="docs-example")]


@pytest.fixture(params=_cases())
def agent_class(request: pytest.FixtureRequest) -> type[Agent]:
    cls: type[Agent] | None = request.param
    return example_agent() if cls is None else cls


def place_fixture(cls: type[Agent], root: Path) -> Path:
    """Copies the agent's fixture to ``root`` (the example writes its own); returns its source."""
    source = FIXTURES / cls.name / "root"
    if cls.name == "demo":
        _example_fixture(root)
        return root
    assert source.is_dir(), f"{cls.name} has no fixture: write fixtures/{cls.name}/root/"
    shutil.copytree(source, root, dirs_exist_ok=True)  # SQLite readers need a writable copy
    return source


def canaries(folder: Path) -> set[bytes]:
    found: set[bytes] = set()
    for path in folder.rglob("*"):
        if path.is_file():
            found |= set(CANARY.findall(path.read_bytes()))
    return found


def test_entry_point_names_match_agent_names() -> None:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        assert entry.load().name == entry.name


def test_upload_attrs_do_not_conflict() -> None:
    seen: dict[str, type] = dict(ATTR_KEYS)
    for cls in agent_classes():
        for key, kind in cls.upload_attrs.items():
            assert kind in (int, float, str), (cls.name, key)
            assert seen.setdefault(key, kind) is kind, f"{cls.name}: {key} declared as two types"


@pytest.mark.parametrize("platform", PLATFORMS)
def test_roots_and_discovery_per_os(
    agent_class: type[Agent], platform: str, tmp_path: Path
) -> None:
    home = tmp_path / f"home-{platform}"
    env = {"HOME": str(home), "USERPROFILE": str(home)}
    roots = agent_class().resolve_roots(env, platform)
    assert roots, f"{agent_class.name} has no root on {platform}"
    for root in roots:
        assert root.is_relative_to(home), f"{root} is outside the fake HOME"
    for name in agent_class.locations.override_variables:
        custom = tmp_path / f"custom-{name}"
        moved = agent_class().resolve_roots({**env, name: str(custom)}, platform)
        assert moved and all(r.is_relative_to(custom) for r in moved), (name, moved)

    place_fixture(agent_class, roots[0])
    refs = list(discover(agent_class(roots=roots)))
    assert refs, f"no stream of {agent_class.name} found under {roots[0]}"
    assert all(ref.path.is_relative_to(roots[0]) for ref in refs)
    assert all(ref.agent == agent_class.name and ref.session_id for ref in refs)


def _events(database: Path) -> dict[str, tuple[int, str, str, str, str | None]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT event_id, revision, agent, session_id, kind, run_id FROM events"
        )
        return {r[0]: (r[1], r[2], r[3], r[4], r[5]) for r in rows}


def _scan(agent: Agent) -> None:
    paths = AppPaths.resolve().ensure()
    scan_once(Pipeline(paths, load_config(paths), [agent]))


def _upload_bodies(database: Path) -> list[bytes]:
    bodies: list[bytes] = []
    with Store(database) as store:
        outbox = Outbox(store, ProjectPolicy(mode="full"), True, Limits())
        while (batch := outbox.next_batch(NOW_MS)) is not None:
            body = envelope(batch.batch_id, batch.events, source_info("h", "http"), NOW_MS)
            bodies.append(orjson.dumps(body))
            outbox.mark_sent(batch, NOW_MS)
    return bodies


def test_fixture_ingested_once_and_no_content_leaves(
    agent_class: type[Agent], tmp_path: Path
) -> None:
    root = tmp_path / "root"
    source = place_fixture(agent_class, root)
    agent = agent_class(roots=[root])
    database = AppPaths.resolve().database

    _scan(agent)
    first = _events(database)
    assert first, f"the {agent_class.name} fixture gave no events"
    assert {agent for _, agent, *_ in first.values()} == {agent_class.name}
    assert all(session and session != "__shared__" for _, _, session, *_ in first.values())
    if agent_class.tokens_recorded:
        assert any(kind == "llm_request" for _, _, _, kind, _ in first.values())

    _scan(agent)
    assert _events(database) == first, "a second scan changed the events"
    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM sessions")  # forget every watermark: re-read from the start
    _scan(agent)
    assert _events(database) == first, "a re-read from the start changed the events"

    planted = canaries(source)
    assert planted, f"plant CANARY-... strings in fixtures/{agent_class.name}/root/ text fields"
    bodies = _upload_bodies(database)
    assert bodies, "nothing was uploaded"
    leaked = {c.decode() for c in planted for body in bodies if c in body}
    assert not leaked, f"content left through upload: {sorted(leaked)}"


# Events that happen inside a user turn: each names its run when the agent records turns.
IN_TURN = ("llm_request", "tool_call", "turn", "api_error")
# Attributes by which a format ties a tool call to the request that made it (OpenCode's and
# Gemini's message, an OTel trace): events sharing one in a session share the run.
LINKS = ("message_id", "trace_id")


def _runs(database: Path) -> list[tuple[str, str, str, str | None, dict[str, object]]]:
    with sqlite3.connect(database) as conn:
        rows = conn.execute("SELECT event_id, kind, session_id, run_id, attrs FROM events")
        return [(e, k, s, r, orjson.loads(a) if a else {}) for e, k, s, r, a in rows]


def test_runs_name_every_turn_the_same_way_each_time(
    agent_class: type[Agent], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``records_turns``: every request and tool call carries its run. For every agent, a
    store built again from the same files gets the same runs, and a tool call shares its
    request's run (an agent keeping only session totals may leave its requests in no run)."""
    root = tmp_path / "root"
    place_fixture(agent_class, root)
    _scan(agent_class(roots=[root]))
    events = _runs(AppPaths.resolve().database)
    missing = [(kind, event) for event, kind, _, run, _ in events if kind in IN_TURN and not run]
    if agent_class.records_turns:
        assert not missing, f"{len(missing)} events of {agent_class.name} carry no run id"
    assert any(kind in ("llm_request", "tool_call") for _, kind, *_ in events)

    monkeypatch.setenv("AGENTTAIL_HOME", str(tmp_path / "second-store"))
    _scan(agent_class(roots=[root]))
    again = {event: run for event, _, _, run, _ in _runs(AppPaths.resolve().database)}
    first = {event: (run, kind, session, attrs) for event, kind, session, run, attrs in events}
    assert again == {event: run for event, _, _, run, _ in events}, [
        (first[e], r) for e, r in again.items() if first[e][0] != r
    ]

    for link in LINKS:
        runs: dict[tuple[str, object], set[str | None]] = {}
        for _, _, session, run, attrs in events:
            if attrs.get(link):
                runs.setdefault((session, attrs[link]), set()).add(run)
        split = {key: found for key, found in runs.items() if len(found) > 1}
        assert not split, f"events sharing a {link} are in different runs: {split}"
