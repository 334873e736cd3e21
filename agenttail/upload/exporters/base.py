"""The exporter seam and the one place that talks HTTP (``send``).

An exporter decides the body and which statuses are worth retrying; ``send`` adds gzip,
``Authorization: Bearer`` and ``Idempotency-Key``, and turns any response or transport error
into an ``Outcome``. The ``httpx.Client`` passed in is the transport seam for tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from agenttail.upload.retry import FailureClass, parse_retry_after, status_class

if TYPE_CHECKING:
    import httpx

MAX_RESPONSE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Batch:
    """A frozen batch: exactly what was claimed, re-sent byte-identical in its events."""

    batch_id: str
    events: list[dict[str, Any]]
    first_export: frozenset[str]
    attempts: int = 0
    next_attempt_at: int | None = None
    parts_done: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Request:
    part: str
    url: str
    body: bytes
    content_type: str
    idempotency_key: str


class Exporter(Protocol):
    name: str

    def requests(self, batch: Batch, source: dict[str, Any], now_ms: int) -> list[Request]: ...

    def retryable(self, status: int) -> bool: ...


class Verdict(StrEnum):
    OK = "ok"
    RETRY = "retry"
    TOO_LARGE = "too_large"
    REJECT = "reject"


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    status: int | None = None
    failure: FailureClass | None = None
    retry_after: float | None = None
    message: str = ""


def _excerpt(body: bytes) -> str:
    return body[:200].decode("utf-8", "replace").replace("\n", " ").strip()


def send(
    client: httpx.Client,
    exporter: Exporter,
    request: Request,
    token: str | None,
    timeout: float,
    now: datetime,
) -> Outcome:
    import gzip

    import httpx  # imported on first send: `status` and `report` never pay for it

    headers = {
        "Content-Type": request.content_type,
        "Content-Encoding": "gzip",
        "Idempotency-Key": request.idempotency_key,
        "User-Agent": "agenttail",
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with client.stream(
            "POST",
            request.url,
            content=gzip.compress(request.body, compresslevel=6),
            headers=headers,
            timeout=timeout,
        ) as response:
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) >= MAX_RESPONSE_BYTES:
                    break
    except httpx.TimeoutException as exc:
        return Outcome(Verdict.RETRY, failure=FailureClass.TIMEOUT, message=f"timeout: {exc!r}")
    except httpx.TransportError as exc:
        return Outcome(
            Verdict.RETRY, failure=FailureClass.CONNECTION, message=f"connection: {exc!r}"
        )
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(Verdict.OK, status=status)
    message = f"HTTP {status} from {request.part}: {_excerpt(body)}".rstrip(": ")
    failure = status_class(status)
    if status == 413:
        return Outcome(Verdict.TOO_LARGE, status=status, failure=failure, message=message)
    if exporter.retryable(status):
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
        return Outcome(Verdict.RETRY, status, failure, retry_after, message)
    return Outcome(Verdict.REJECT, status=status, failure=failure, message=message)
