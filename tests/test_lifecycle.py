"""Single-instance lock and sd_notify, against real files and sockets."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path

import pytest

from agenttail.daemon.lifecycle import AlreadyRunning, InstanceLock, Notifier, lock_holder


def test_second_lock_names_the_holder(tmp_path: Path) -> None:
    path = tmp_path / "state" / "agenttail.lock"
    assert lock_holder(path) is None
    with InstanceLock(path):
        assert lock_holder(path) == os.getpid()
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}") as caught:
            InstanceLock(path).acquire()
        assert caught.value.pid == os.getpid()
    assert lock_holder(path) is None  # released: a restart is never blocked by a stale file
    with InstanceLock(path):
        pass


def _receive(sock: socket.socket) -> str:
    sock.settimeout(5)
    return sock.recv(4096).decode()


def test_notify_to_a_path_socket(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        notifier = Notifier({"NOTIFY_SOCKET": str(path)})
        assert notifier.ready("watching 1 roots")
        message = _receive(server).splitlines()
        assert "READY=1" in message
        assert "STATUS=watching 1 roots" in message
        assert notifier.watchdog()
        assert _receive(server) == "WATCHDOG=1"
        assert notifier.stopping()
        assert "STOPPING=1" in _receive(server).splitlines()


def test_notify_to_an_abstract_socket() -> None:
    name = f"agenttail-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).watchdog()
        assert _receive(server) == "WATCHDOG=1"


def test_notify_is_a_no_op_outside_systemd() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert not notifier.ready("x")
    assert notifier.ping_interval(1.0) == 1.0


def test_watchdog_interval_is_half_the_timeout() -> None:
    env = {"NOTIFY_SOCKET": "/nonexistent", "WATCHDOG_USEC": "1000000"}
    assert Notifier(env).ping_interval(5.0) == 0.5
    other = {**env, "WATCHDOG_PID": str(os.getpid() + 1)}  # meant for another process
    assert Notifier(other).ping_interval(5.0) == 5.0
