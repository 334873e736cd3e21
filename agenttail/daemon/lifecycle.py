"""What makes ``agenttail run`` behave like a service: one instance, sd_notify, runtime state.

The lock is an ``fcntl.flock`` on a file in the state folder that holds the owner's pid; the
kernel drops it when the process dies, so a stale file never blocks a restart. sd_notify is
the ten-line datagram protocol (no libsystemd): ``NOTIFY_SOCKET`` may name a path or, with a
leading ``@``, the abstract namespace.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import orjson

from agenttail.lazy_log import logger
from agenttail.paths import AppPaths


class AlreadyRunning(RuntimeError):
    """Another daemon holds the lock; ``pid`` names it when the lock file says so."""

    def __init__(self, lock_file: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"agenttail is already running ({who}; lock {lock_file})")
        self.pid = pid
        self.lock_file = lock_file


def _read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return int(text) if text.isdigit() else None


class InstanceLock:
    """Exclusive, non-blocking, released by the kernel when the holder exits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise AlreadyRunning(self.path, _read_pid(self.path)) from None
        self._fd = fd
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError as exc:  # a full disk: the lock holds, only its pid is not readable
            logger(__name__).warning(
                "lock_pid_not_written", lock_file=str(self.path), error=repr(exc)
            )

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def lock_holder(path: Path) -> int | None:
    """The pid of a running daemon (-1 when held but unreadable), None when nobody holds it."""
    if not path.exists():
        return None
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return _read_pid(path) or -1
    finally:
        os.close(fd)  # also drops our probe lock
    return None


class Notifier:
    """sd_notify(3) client; every call is a no-op when not started by systemd."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        environ = os.environ if env is None else env
        raw = environ.get("NOTIFY_SOCKET", "")
        self.address: str | None = None
        if raw.startswith("@"):
            self.address = "\0" + raw[1:]
        elif raw.startswith("/"):
            self.address = raw
        self.watchdog_seconds: float | None = None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            self.watchdog_seconds = int(usec) / 1_000_000

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def ping_interval(self, default: float) -> float:
        """Half the watchdog timeout, as sd_watchdog_enabled(3) recommends."""
        if self.watchdog_seconds is None:
            return default
        return min(default, self.watchdog_seconds / 2)

    def notify(self, *lines: str) -> bool:
        if self.address is None:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.setblocking(False)  # a stalled manager must never stall the main loop
                sock.connect(self.address)
                sock.sendall("\n".join(lines).encode())
        except OSError as exc:
            logger(__name__).warning("sd_notify_failed", error=repr(exc))
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.notify("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> bool:
        return self.notify(f"STATUS={status}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1", "STATUS=stopping")


def runtime_state_file(paths: AppPaths) -> Path:
    return paths.state_dir / "daemon.json"


STATE_BLOCK = 4096


def write_runtime_state(path: Path, data: Mapping[str, Any]) -> None:
    """What the running daemon watches and its conditions, for ``doctor`` and ``status``.

    Atomic (temp file + replace) when the disk allows. The file is padded to whole 4 KiB
    blocks, one spare, so that on a full disk, where no new block can be had, the state can
    still be overwritten in place: that is when ``status`` most needs to read "disk full".
    A state that outgrew the file even so is written compact, then without its watch list.
    """
    body = _padded(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(body)
        tmp.replace(path)
        return
    except OSError as exc:
        error = exc
        with contextlib.suppress(OSError):
            tmp.unlink()
    smaller = {k: v for k, v in data.items() if k not in ("watches", "watched")}
    candidates = (body, orjson.dumps(data), orjson.dumps(smaller))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    except OSError:
        fd = None
    if fd is not None:
        try:
            size = os.fstat(fd).st_size
            fitting = next((c for c in candidates if len(c) <= size), None)
            if fitting is not None:
                os.pwrite(fd, fitting + b" " * (size - len(fitting)), 0)
                return
        except OSError:
            pass
        finally:
            os.close(fd)
    logger(__name__).warning("runtime_state_write_failed", path=str(path), error=repr(error))


def _padded(body: bytes) -> bytes:
    return body + b" " * (-len(body) % STATE_BLOCK + STATE_BLOCK)


def read_runtime_state(path: Path) -> dict[str, Any] | None:
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None
