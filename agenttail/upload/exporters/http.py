"""agenttail's own endpoint: one gzip JSON ``agenttail.batch/v1`` body per batch.

Retries 408, 429, every 5xx, timeouts and connection errors: a server hiccup never loses
data, and the receiver de-duplicates by ``Idempotency-Key`` and ``event_id``.
"""

from __future__ import annotations

from typing import Any

import orjson

from agenttail.upload.exporters.base import Batch, Request
from agenttail.upload.wire import envelope


class HttpExporter:
    name = "http"

    def __init__(self, url: str) -> None:
        self.url = url

    def requests(self, batch: Batch, source: dict[str, Any], now_ms: int) -> list[Request]:
        body = orjson.dumps(envelope(batch.batch_id, batch.events, source, now_ms))
        return [Request("batch", self.url, body, "application/json", batch.batch_id)]

    def retryable(self, status: int) -> bool:
        return status in (408, 429) or status >= 500
