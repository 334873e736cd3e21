from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[2] / "shared" / "samples"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test gets its own state folder and agent folders; nothing touches $HOME."""
    monkeypatch.setenv("AGENTTAIL_HOME", str(tmp_path / "agenttail-home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    # Agents that look under $HOME (VS Code family, Copilot CLI) see an empty home, never the
    # developer's own sessions.
    user_home = tmp_path / "user-home"
    monkeypatch.setenv("HOME", str(user_home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(user_home / ".config"))
    monkeypatch.setenv("COPILOT_HOME", str(user_home / ".copilot"))
    monkeypatch.delenv("APPDATA", raising=False)
    monkeypatch.delenv("VSCODE_PORTABLE", raising=False)
    for name in list(__import__("os").environ):
        if name.startswith("AGENTTAIL_") and name != "AGENTTAIL_HOME":
            monkeypatch.delenv(name, raising=False)
    yield


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
