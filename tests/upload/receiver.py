"""A real HTTP receiver on 127.0.0.1 that stores batches by event_id and injects faults."""

from __future__ import annotations

import gzip
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)


@dataclass
class Fault:
    """What to do with one request: answer ``status``, sleep, drop the connection."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    drop: bool = False  # close without any response, nothing stored
    store_then_drop: bool = False  # the lost ack: stored, then the connection is cut
    body: bytes = b""


@dataclass
class Captured:
    path: str
    headers: dict[str, str]
    body: bytes  # decompressed
    fault: Fault


def otlp_attrs(record: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in record.attributes:
        which = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, which) if which else None
    return out


class Receiver:
    def __init__(self) -> None:
        self.faults: deque[Fault] = deque()
        self.requests: list[Captured] = []
        self.events: dict[str, dict[str, Any]] = {}  # event_id -> highest revision seen
        self.deliveries: list[str] = []  # event ids in arrival order (duplicates kept)
        self.keys: list[str] = []
        self.metrics: list[ExportMetricsServiceRequest] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 1.0  # an idle keep-alive connection must not pin close()

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                body = (
                    gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
                )
                with receiver.lock:
                    fault = receiver.faults.popleft() if receiver.faults else Fault()
                    receiver.requests.append(
                        Captured(self.path, dict(self.headers.items()), body, fault)
                    )
                if fault.delay:
                    time.sleep(fault.delay)
                if fault.drop:
                    self.close_connection = True
                    return
                if fault.status < 300 or fault.store_then_drop:
                    receiver.store(self.path, self.headers.get("Idempotency-Key", ""), body)
                if fault.store_then_drop:
                    self.close_connection = True
                    return
                self.send_response(fault.status)
                for name, value in fault.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                self.wfile.write(fault.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = False
        self.server.block_on_close = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="receiver")
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def store(self, path: str, key: str, body: bytes) -> None:
        with self.lock:
            self.keys.append(key)
            if path.endswith("/v1/metrics"):
                request = ExportMetricsServiceRequest()
                request.ParseFromString(body)
                self.metrics.append(request)
                return
            if path.endswith("/v1/logs"):
                logs = ExportLogsServiceRequest()
                logs.ParseFromString(body)
                events = [
                    {
                        "event_id": attrs["agenttail.event_id"],
                        "revision": attrs["agenttail.revision"],
                        "attrs": attrs,
                    }
                    for rl in logs.resource_logs
                    for sl in rl.scope_logs
                    for attrs in (otlp_attrs(r) for r in sl.log_records)
                ]
            else:
                events = orjson.loads(body)["events"]
            for event in events:
                self.deliveries.append(event["event_id"])
                known = self.events.get(event["event_id"])
                if known is None or event["revision"] >= known["revision"]:
                    self.events[event["event_id"]] = event

    def script(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()
