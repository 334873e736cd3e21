from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.upload.receiver import Receiver


@pytest.fixture(autouse=True)
def upload_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Own state and agent folders per test; no AGENTTAIL_* from the caller leaks in."""
    for name in list(os.environ):
        if name.startswith("AGENTTAIL_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTTAIL_HOME", str(tmp_path / "agenttail-home"))
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", str(tmp_path / "claude"))
    yield


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.close()
