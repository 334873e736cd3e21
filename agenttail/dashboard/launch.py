"""Who serves the dashboard: the running daemon when there is one, else the command itself.

The daemon starts a ``DashboardServer`` on 127.0.0.1 (port ``dashboard.port``, 0 = a free
one) next to its pipeline and records the URL, key included, in ``dashboard.json`` in its
state folder (owner-only, like the store), removed when it stops. ``agenttail dashboard``
reads that file and asks the URL's ``/api/health`` whether it serves this same store: if so
it prints (and opens) that URL and exits; otherwise it serves the page itself until Ctrl-C.
"""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any

from agenttail.config import Config
from agenttail.dashboard.server import SERVICE, DashboardServer, split_token, with_token
from agenttail.lazy_log import logger
from agenttail.paths import AppPaths

STATE_FILE = "dashboard.json"


def state_file(paths: AppPaths) -> Path:
    return paths.state_dir / STATE_FILE


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically into a file only its owner can read (mode 0600)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    tmp.replace(path)


def _health(url: str) -> dict[str, Any] | None:
    # No proxy: a proxy variable must never send a loopback request elsewhere.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    base, token = split_token(url)
    try:
        with opener.open(with_token(base + "api/health", token), timeout=2) as response:
            data = json.loads(response.read())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def daemon_dashboard(paths: AppPaths) -> str | None:
    """The URL the running daemon serves this store's dashboard on, if it answers now."""
    try:
        recorded = json.loads(state_file(paths).read_text(encoding="utf-8"))
        url = str(recorded["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not url.startswith("http://127.0.0.1:"):
        return None
    health = _health(url)
    if health is None or health.get("service") != SERVICE:
        return None
    return url if health.get("database") == str(paths.database) else None


class DaemonDashboard:
    """The daemon's companion serving the dashboard (a ``background.Companion``).

    A port that cannot be bound is logged and the daemon runs on without the page:
    ``agenttail dashboard`` then serves it itself.
    """

    name = "dashboard"

    def __init__(self, paths: AppPaths, config: Config) -> None:
        self.paths = paths
        self.port = config.get_int("dashboard.port")
        self.server: DashboardServer | None = None

    def start(self) -> None:
        try:
            server = DashboardServer(self.paths, self.port)
        except OSError as exc:
            logger(__name__).warning(
                "dashboard_unavailable",
                port=self.port,
                error=str(exc),
                hint="`agenttail dashboard` serves the page itself meanwhile",
            )
            return
        server.start()
        self.server = server
        body = json.dumps({"url": server.login_url, "pid": os.getpid()})
        try:
            write_private(state_file(self.paths), body)
        except OSError as exc:
            logger(__name__).warning("dashboard_state_not_written", error=str(exc))
        logger(__name__).info("dashboard_serving", url=server.url)

    def stop(self) -> None:
        if self.server is None:
            return
        state_file(self.paths).unlink(missing_ok=True)
        self.server.stop()
        self.server = None

    def apply_config(self, config: Config) -> None:
        """A new ``dashboard.port`` moves the page at once."""
        port = config.get_int("dashboard.port")
        if port != self.port:
            self.stop()
            self.port = port
            self.start()
