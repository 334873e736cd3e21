"""A fault-injecting HTTP proxy on 127.0.0.1 in front of the team server.

Requests meet faults in a fixed rotation: answer 503 or 429 itself (nothing forwarded), drop
the connection before forwarding, or forward and then drop the server's answer (a lost ack:
stored, but the client never hears it). The rest pass through unchanged.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

# Every other request fails, each fault in turn: half the traffic faulty, every kind seen.
SCHEDULE = ("503", "pass", "429", "pass", "drop", "pass", "lost_ack", "pass")


class FaultProxy:
    def __init__(self, upstream: str, schedule: tuple[str, ...] = SCHEDULE) -> None:
        self.upstream = upstream.rstrip("/")
        self.schedule = itertools.cycle(schedule)
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 5.0

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fault = proxy.draw()
                if fault in ("503", "429"):
                    self._answer(
                        int(fault),
                        b'{"error":{"code":"injected","message":"x"}}',
                        {"Retry-After": "0"},
                    )
                    return
                if fault == "drop":
                    self.close_connection = True
                    return
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower()
                    in ("authorization", "content-encoding", "content-type", "idempotency-key")
                }
                upstream = httpx.post(
                    proxy.upstream + self.path, content=body, headers=headers, timeout=30
                )
                if fault == "lost_ack":
                    self.close_connection = True
                    return
                self._answer(upstream.status_code, upstream.content, {})

            def _answer(self, status: int, body: bytes, extra: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in extra.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy")

    def draw(self) -> str:
        with self.lock:
            fault = next(self.schedule)
            self.seen[fault] += 1
            return fault

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
