"""docs/agents.md's worked example runs as written, against a temporary HOME."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType

import orjson

from agenttail.agents.base import Agent
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.paths import AppPaths
from agenttail.store import Store

DOC = Path(__file__).resolve().parents[1] / "docs" / "agents.md"
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def example_source() -> str:
    """The plugin: the page's Python block that defines an ``Agent`` subclass and imports."""
    blocks = [b for b in _BLOCK.findall(DOC.read_text(encoding="utf-8")) if "(Agent):" in b]
    assert len(blocks) == 1, "docs/agents.md must hold exactly one complete plugin example"
    return str(blocks[0])


def example_agent() -> type[Agent]:
    """The example's module, loaded from the markdown as a plugin author would write it."""
    module = ModuleType("agenttail_demo")
    sys.modules.pop("agenttail_demo", None)
    exec(compile(example_source(), str(DOC), "exec"), module.__dict__)
    agents = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Agent)]
    found = [cls for cls in agents if cls is not Agent]
    assert len(found) == 1
    return found[0]


def test_worked_example_reads_its_sessions() -> None:
    cls = example_agent()
    home = Path.home()  # the isolated test HOME (tests/conftest.py)
    sessions = home / ".demo-agent" / "sessions"
    sessions.mkdir(parents=True)
    lines = [
        {"id": "c1", "ts": "2026-03-01T10:00:00Z", "model": "gpt-4.1", "prompt": "hi",
         "usage": {"input": 1200, "cached": 200, "output": 300}},
        {"id": "c2", "ts": "2026-03-01T10:01:00Z", "model": "gpt-4.1",
         "usage": {"input": 1500, "cached": 1200, "output": 80}},
        {"id": "n1", "ts": "2026-03-01T10:02:00Z", "note": "no usage: not a call"},
    ]  # fmt: skip
    (sessions / "s-001.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))

    paths = AppPaths.resolve().ensure()
    scan_once(Pipeline(paths, load_config(paths), [cls()]))

    with Store(paths.database, readonly=True) as store:
        rows = list(
            store.query(
                "SELECT session_id, input_tokens, cache_read_tokens, output_tokens, cost_nusd "
                "FROM events WHERE agent = 'demo' ORDER BY ts_ms"
            )
        )
    # input excludes the cached part: 1200 - 200 and 1500 - 1200.
    assert [(r["input_tokens"], r["cache_read_tokens"], r["output_tokens"]) for r in rows] == [
        (1000, 200, 300),
        (300, 1200, 80),
    ]
    assert {r["session_id"] for r in rows} == {"s-001"}
    assert all(r["cost_nusd"] and r["cost_nusd"] > 0 for r in rows)
