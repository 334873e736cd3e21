from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from agenttail.agents.base import STANDARD_FALLBACKS
from agenttail.agents.registry import environment_variables

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


# Every variable that moves some registered agent's data, and the standard folders they fall
# back to: derived from the agents' declarations, so a new agent needs no edit here.
AGENT_ENV = tuple(dict.fromkeys((*environment_variables(), *STANDARD_FALLBACKS)))


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own state folder and an empty home: no agent sees the developer's
    own sessions, whatever variables the developer has set."""
    for name in AGENT_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.startswith("AGENTTAIL_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AGENTTAIL_HOME", str(tmp_path / "agenttail-home"))
    monkeypatch.setenv("HOME", str(tmp_path / "user-home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    yield


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL cluster for the whole session (tests/server/postgres.py); each
    test that needs one makes its own database on it."""
    from tests.server.postgres import postgres_cluster

    with postgres_cluster() as url:
        yield url


@pytest.fixture(autouse=True)
def no_thread_leaks() -> Iterator[None]:
    """A daemon that leaks threads leaks them in production too."""
    before = set(threading.enumerate())
    yield
    deadline = threading.Event()
    for _ in range(50):
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked:
            return
        deadline.wait(0.1)
    pytest.fail(f"threads leaked: {[t.name for t in leaked]}")


@pytest.fixture
def claude_dir(tmp_path: Path) -> Path:
    return tmp_path / "claude"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "agenttail-home"
