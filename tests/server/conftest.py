from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.server.postgres import fresh_database, wait_for_port


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty team database on each engine: both must pass the same tests."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'team.db'}"
    server: str = request.getfixturevalue("postgres_server")
    return fresh_database(server)


def cli(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "agenttail", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    if check:
        assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass
class RunningServer:
    database: str
    port: int
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/batches"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "agenttail",
                "server",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--database",
                self.database,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port("127.0.0.1", self.port)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def token(self, user: str) -> str:
        if user not in self.tokens:
            out = cli("server", "token", "create", user, "--database", self.database)
            self.tokens[user] = out.strip()
        return self.tokens[user]


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(database_url: str) -> Iterator[RunningServer]:
    running = RunningServer(database_url, free_port())
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def environ() -> dict[str, str]:
    return dict(os.environ)
