"""The dashboard's HTTP server: the page, its files and the reports' JSON, on 127.0.0.1 only.

``GET /api/report/NAME`` answers exactly what ``agenttail report NAME --json`` prints, with the
CLI's options as query parameters (``?since=20261101&agent=codex&agent=pi``): both parse them
from ``report_params`` and run the same ``ReportSpec``. ``/api/report/NAME.csv`` is the same
report's rows as CSV. Every request opens the store read-only, so the page always shows what
the daemon has stored by then; ``/api/version`` changes whenever the store file does, which is
what the page polls to know when to reload.

Standard library only (``http.server``): the daemon serves this page without the server extra.
Requests whose ``Host`` is not this loopback address are refused, so a web page elsewhere
cannot read the numbers through DNS rebinding. Loopback alone lets every local user in, so each
server also has a random key: the URL it prints carries it (``/?token=…``), the first load sets
it as a cookie and redirects to the bare URL, and any request with neither gets a 403 and no
data. The store file's owner-only permissions thus hold for the page too.
"""

from __future__ import annotations

import hmac
import os
import secrets
import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from agenttail.cli_support import json_bytes
from agenttail.errors import AgenttailError
from agenttail.paths import AppPaths

LOOPBACK = "127.0.0.1"
STATIC_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
SERVICE = "agenttail-dashboard"
TOKEN_PARAMETER = "token"
FORBIDDEN = "this page needs the URL that `agenttail dashboard` prints (it carries the key)"


def with_token(url: str, token: str) -> str:
    """``url`` with the server's key as its query (what is printed, opened and recorded)."""
    return f"{url}?{urlencode({TOKEN_PARAMETER: token})}"


def split_token(url: str) -> tuple[str, str]:
    """A printed URL's bare part and key (``""`` when it has none)."""
    parts = urlsplit(url)
    token = parse_qs(parts.query).get(TOKEN_PARAMETER, [""])[-1]
    return parts._replace(query="", fragment="").geturl(), token


def url_port(url: str) -> int:
    return urlsplit(url).port or 80


def store_version(paths: AppPaths) -> str:
    """Changes whenever the daemon commits: the database's and its WAL's size and time."""
    parts = []
    for path in (paths.database, paths.database.with_name(paths.database.name + "-wal")):
        try:
            stat = path.stat()
        except OSError:
            parts.append("-")
        else:
            parts.append(f"{stat.st_size}.{stat.st_mtime_ns}")
    return ":".join(parts)


def page_context(tz_name: str | None) -> dict[str, Any]:
    """The days the page's summary cards ask about, in the reports' timezone."""
    from agenttail.report import resolve_timezone

    tz = resolve_timezone(tz_name)
    today = datetime.now(tz).date()
    return {
        "timezone": getattr(tz, "key", str(tz)),
        "today": today.isoformat(),
        "yesterday": (today - timedelta(days=1)).isoformat(),
        "week_start": (today - timedelta(days=today.weekday())).isoformat(),
        "month_start": today.replace(day=1).isoformat(),
    }


def run_report(paths: AppPaths, name: str, query: dict[str, list[str]]) -> dict[str, Any]:
    """The report ``name`` with URL parameters, as ``agenttail report NAME --json`` builds it.

    Raises ``ReportError`` for bad parameters, ``AgenttailError`` for an unusable store.
    """
    from agenttail.config import custom_prices, load_config
    from agenttail.report_params import REPORTS, build_report, options_from, values_from_query
    from agenttail.store import open_readonly
    from agenttail.store.analytics import SqliteAnalytics

    spec = REPORTS[name]
    values = values_from_query(spec, query)
    prices = custom_prices(load_config(paths, strict=False))
    options = options_from(values, prices)
    store = open_readonly(paths)
    try:
        return build_report(spec, SqliteAnalytics(store), options, values)
    finally:
        if store is not None:
            store.close()


class DashboardServer(ThreadingHTTPServer):
    """Serves one state folder's store on 127.0.0.1:``port`` (0: a free port)."""

    daemon_threads = False  # requests are short; close() waits for them
    block_on_close = True

    def __init__(self, paths: AppPaths, port: int = 0) -> None:
        self.paths = paths
        self.token = secrets.token_urlsafe(32)
        super().__init__((LOOPBACK, port), DashboardHandler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The bare address: without the key it answers only 403."""
        return f"http://{LOOPBACK}:{self.server_port}/"

    @property
    def login_url(self) -> str:
        """The URL to print and open: it carries the key."""
        return with_token(self.url, self.token)

    @property
    def cookie_name(self) -> str:
        # Browsers share 127.0.0.1's cookies across ports: one name per port keeps the
        # daemon's page and a command's page from overwriting each other's key.
        return f"agenttail_dashboard_{self.server_port}"

    def key_matches(self, given: str) -> bool:
        return hmac.compare_digest(given.encode(), self.token.encode())

    def start(self) -> None:
        """Serve on a background thread (the daemon's way); ``stop`` ends it."""
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.25}, name="dashboard"
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


class DashboardHandler(BaseHTTPRequestHandler):
    server: DashboardServer
    server_version = "agenttail-dashboard"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the page polls every few seconds."""

    def do_GET(self) -> None:
        if not self._host_allowed():
            self._error(HTTPStatus.FORBIDDEN, "forbidden", "only 127.0.0.1 may ask")
            return
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        route = url.path
        given = query.pop(TOKEN_PARAMETER, None)
        if not self.server.key_matches(given[-1] if given else self._cookie_key()):
            self._error(HTTPStatus.FORBIDDEN, "forbidden", FORBIDDEN)
            return
        if given and route in ("/", "/index.html"):
            self._login()
        elif route in ("/", "/index.html"):
            self._static("index.html")
        elif route.startswith("/static/"):
            self._static(route.removeprefix("/static/"))
        elif route == "/api/health":
            paths = self.server.paths
            self._json({"service": SERVICE, "database": str(paths.database), "pid": os.getpid()})
        elif route == "/api/version":
            self._json({"version": store_version(self.server.paths)})
        elif route == "/api/context":
            self._with_errors(lambda: self._json(page_context(_last(query, "timezone"))))
        elif route.startswith("/api/report/"):
            self._report(route.removeprefix("/api/report/"), query)
        else:
            self._error(HTTPStatus.NOT_FOUND, "not_found", f"no such page: {route}")

    def _cookie_key(self) -> str:
        name = self.server.cookie_name
        for header in self.headers.get_all("Cookie") or ():
            for pair in header.split(";"):
                key, _, value = pair.strip().partition("=")
                if key == name:
                    return value
        return ""

    def _login(self) -> None:
        """The key becomes a cookie the page's scripts cannot read, and the address bar
        loses it: a redirect to the bare URL."""
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", "/")
        self.send_header(
            "Set-Cookie",
            f"{self.server.cookie_name}={self.server.token}; HttpOnly; SameSite=Strict; Path=/",
        )
        self.send_header("Content-Length", "0")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Referrer-Policy", "no-referrer")
        self.end_headers()

    def _host_allowed(self) -> bool:
        port = self.server.server_port
        return self.headers.get("Host", "") in (f"{LOOPBACK}:{port}", f"localhost:{port}")

    def _report(self, name: str, query: dict[str, list[str]]) -> None:
        from agenttail.report_params import REPORTS

        as_csv = name.endswith(".csv")
        name = name.removesuffix(".csv")
        spec = REPORTS.get(name)
        if spec is None:
            known = ", ".join(sorted(REPORTS))
            self._error(HTTPStatus.NOT_FOUND, "not_found", f"no report {name!r} (known: {known})")
            return

        def answer() -> None:
            data = run_report(self.server.paths, name, query)
            if as_csv:
                from agenttail.dashboard.export import rows_csv

                body = rows_csv(data[spec.rows]).encode()
                self._send(HTTPStatus.OK, "text/csv; charset=utf-8", body)
            else:
                self._json(data)

        self._with_errors(answer)

    def _with_errors(self, answer: Callable[[], None]) -> None:
        """Bad parameters are a 400 naming them; an unusable store a 503 saying why."""
        from agenttail.report import ReportError

        try:
            answer()
        except ReportError as exc:
            self._error(HTTPStatus.BAD_REQUEST, "usage", str(exc))
        except AgenttailError as exc:
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "application/json",
                json_bytes({"error": exc.to_dict()}),
            )
        except sqlite3.Error as exc:
            from agenttail.store import store_problem

            problem = store_problem(exc, self.server.paths.database)
            self._send(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "application/json",
                json_bytes({"error": problem.to_dict()}),
            )

    def _static(self, name: str) -> None:
        kind = STATIC_TYPES.get(name)
        if kind is None:
            self._error(HTTPStatus.NOT_FOUND, "not_found", f"no such file: {name}")
            return
        body = (files("agenttail.dashboard") / "static" / name).read_bytes()
        self._send(HTTPStatus.OK, kind, body)

    def _json(self, data: Any) -> None:
        self._send(HTTPStatus.OK, "application/json", json_bytes(data) + b"\n")  # as --json

    def _error(self, status: HTTPStatus, kind: str, message: str) -> None:
        body = json_bytes({"error": {"kind": kind, "message": message}})
        self._send(status, "application/json", body)

    def _send(self, status: HTTPStatus, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'",
        )
        self.end_headers()
        self.wfile.write(body)


def _last(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None
