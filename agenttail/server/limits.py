"""Input hygiene for the receiver: what a request may weigh, before and after gzip."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

MIB = 1024 * 1024


class TooLarge(ValueError):
    """A body over the limit, compressed or once decompressed (a gzip bomb)."""


class BadEncoding(ValueError):
    """A Content-Encoding the receiver does not take, or a corrupt gzip stream."""


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 16 * MIB  # as sent (the exporter's batches are ~1 MiB gzip)
    max_decoded_bytes: int = 64 * MIB  # once decompressed
    max_concurrent: int = 4  # batches written at once; more wait
    max_waiting: int = 64  # beyond this many waiting, 429 with Retry-After
    retry_after_s: int = 2


def decode_body(raw: bytes, encoding: str | None, limits: Limits) -> bytes:
    """The JSON bytes of a request body; never inflates more than ``max_decoded_bytes``."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        if len(raw) > limits.max_decoded_bytes:
            raise TooLarge("body too large")
        return raw
    if encoding != "gzip":
        raise BadEncoding(f"unsupported Content-Encoding {encoding!r}: send gzip or identity")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(raw, limits.max_decoded_bytes + 1)
    except zlib.error as exc:
        raise BadEncoding(f"corrupt gzip body: {exc}") from None
    if len(data) > limits.max_decoded_bytes or inflater.unconsumed_tail:
        raise TooLarge("body too large once decompressed")
    if not inflater.eof:
        raise BadEncoding("truncated gzip body")
    return data
