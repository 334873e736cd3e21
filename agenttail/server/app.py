"""The receiver's HTTP application (Starlette, served by uvicorn).

``POST /v1/batches`` takes what the ``http`` exporter sends: a gzip ``agenttail.batch/v1`` body
with ``Authorization: Bearer <token>`` and an ``Idempotency-Key``. The token names the user: a
token writes only as its own user. Writes run in a thread pool, a few at a time; beyond a bounded
queue the server answers 429 with ``Retry-After`` rather than growing without limit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from agenttail import __version__
from agenttail.server.batch import decode_batch, event_dicts
from agenttail.server.limits import BadEncoding, Limits, TooLarge, decode_body
from agenttail.server.openapi import openapi_document
from agenttail.server.validation import InvalidBatch
from agenttail.store.team import IngestBatch, TeamStore


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = extra.pop("headers", None)
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status, headers)


class _Gate:
    """At most ``max_concurrent`` writers, at most ``max_waiting`` waiting: else refuse."""

    def __init__(self, limits: Limits) -> None:
        self._slots = threading.BoundedSemaphore(limits.max_concurrent)
        self._waiting = 0
        self._max_waiting = limits.max_waiting
        self._lock = threading.Lock()

    def enter(self) -> bool:
        with self._lock:
            if self._waiting >= self._max_waiting:
                return False
            self._waiting += 1
        self._slots.acquire()
        with self._lock:
            self._waiting -= 1
        return True

    def leave(self) -> None:
        self._slots.release()


def create_app(store: TeamStore, limits: Limits | None = None) -> Starlette:
    limits = limits or Limits()
    gate = _Gate(limits)
    unauthorized = {"WWW-Authenticate": "Bearer"}

    def ingest(batch: IngestBatch) -> Any:
        if not gate.enter():
            return None
        try:
            return store.ingest(batch, int(time.time() * 1000))
        finally:
            gate.leave()

    async def batches(request: Request) -> Response:
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header[:7].lower() == "bearer " else ""
        user = await run_in_threadpool(store.user_for_token, token) if token else None
        if user is None:
            return _error(
                401, "unauthorized", "a valid bearer token is required", headers=unauthorized
            )
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
            return _error(413, "too_large", "body too large: send smaller batches")
        raw = bytearray()
        async for chunk in request.stream():
            raw.extend(chunk)
            if len(raw) > limits.max_body_bytes:
                return _error(413, "too_large", "body too large: send smaller batches")
        try:
            body = decode_body(bytes(raw), request.headers.get("content-encoding"), limits)
            document = decode_batch(body)
        except TooLarge as exc:
            return _error(413, "too_large", str(exc))
        except BadEncoding as exc:
            return _error(415, "bad_encoding", str(exc))
        except InvalidBatch as exc:
            return _error(400, "invalid", exc.message, field=exc.field)
        key = request.headers.get("idempotency-key")
        if key is not None and key != document.batch_id:
            return _error(
                400, "invalid", "Idempotency-Key differs from batch_id", field="$.batch_id"
            )
        source = document.source
        if source.user not in (None, user):
            return _error(403, "forbidden", "this token may not write for that user")
        batch = IngestBatch(document.batch_id, user, source.host_id, event_dicts(document))
        result = await run_in_threadpool(ingest, batch)
        if result is None:
            retry = str(limits.retry_after_s)
            return _error(429, "busy", "too many batches at once", headers={"Retry-After": retry})
        return JSONResponse(
            {
                "batch_id": result.batch_id,
                "received": result.received,
                "stored": result.stored,
                "duplicate": result.duplicate,
            }
        )

    async def health(_request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def openapi(_request: Request) -> Response:
        return JSONResponse(openapi_document())

    return Starlette(
        routes=[
            Route("/v1/batches", batches, methods=["POST"]),
            Route("/healthz", health, methods=["GET"]),
            Route("/openapi.json", openapi, methods=["GET"]),
        ]
    )
