"""Append-only JSON Lines, resumed from a byte offset.

Rules (design invariants 2-5): a line without its final newline is never consumed; malformed
and non-UTF-8 lines are skipped and counted; a line longer than ``max_line_bytes`` is skipped
without ever being held whole in memory; a truncated, replaced or rewritten file (size below
the offset, another inode, changed first bytes, changed bytes before the offset) is re-read
from its start.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from agenttail.readers.base import ReadLimits, ReadResult, Record
from agenttail.watermarks import ByteOffsetWatermark, Watermark

HEAD_BYTES = 1024
MARKER_BYTES = 64
SALVAGE_BYTES = 64 * 1024  # kept from each end of an overlong line


def _digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _pread(handle: BinaryIO, start: int, length: int) -> bytes:
    handle.seek(start)
    return handle.read(length)


def fingerprint(handle: BinaryIO, offset: int, dev: int, ino: int) -> ByteOffsetWatermark:
    """The watermark for ``offset`` in the open file: identity of what precedes it."""
    head_len = min(HEAD_BYTES, offset)
    marker_start = max(0, offset - MARKER_BYTES)
    return ByteOffsetWatermark(
        offset=offset,
        dev=dev,
        ino=ino,
        head_len=head_len,
        head_hash=_digest(_pread(handle, 0, head_len)),
        marker_hash=_digest(_pread(handle, marker_start, offset - marker_start)),
    )


def _why_invalid(handle: BinaryIO, stat: os.stat_result, mark: ByteOffsetWatermark) -> str | None:
    if (stat.st_dev, stat.st_ino) != (mark.dev, mark.ino):
        return "replaced"
    if stat.st_size < mark.offset:
        return "truncated"
    if _digest(_pread(handle, 0, mark.head_len)) != mark.head_hash:
        return "rewritten"
    marker_start = max(0, mark.offset - MARKER_BYTES)
    if _digest(_pread(handle, marker_start, mark.offset - marker_start)) != mark.marker_hash:
        return "rewritten"
    return None


SMALL_READ = 64 * 1024
LineParser = Callable[[str], dict[str, Any] | None]


class JsonlReader:
    """Reads complete JSON-object lines after a byte offset.

    With ``parse_line`` it reads any append-only text log by the same rules: each complete
    UTF-8 line goes to the parser, which returns the record's data or None for a line of no
    interest (a chat history's prose: neither kept nor counted as malformed).
    """

    name = "jsonl"
    watermark_kind: type[Watermark] = ByteOffsetWatermark

    def __init__(self, parse_line: LineParser | None = None) -> None:
        self.parse_line = parse_line

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        with open(path, "rb") as handle:
            stat = os.fstat(handle.fileno())
            reset_reason: str | None = None
            offset = 0
            if isinstance(watermark, ByteOffsetWatermark):
                reset_reason = _why_invalid(handle, stat, watermark)
                if reset_reason is None:
                    offset = watermark.offset
            scan = self._read_from(handle, offset, limits, stat.st_size)
            return ReadResult(
                records=scan.records,
                watermark=fingerprint(handle, scan.watermark_offset, stat.st_dev, stat.st_ino),
                at_end=scan.at_end,
                reset=reset_reason is not None,
                reset_reason=reset_reason,
                malformed=scan.malformed,
                invalid_utf8=scan.invalid_utf8,
                oversized=scan.oversized,
                bytes_read=scan.bytes_read,
                size=stat.st_size,
            )

    def _read_from(self, handle: BinaryIO, offset: int, limits: ReadLimits, size: int) -> _Scan:
        scan = _Scan(offset, self.parse_line)
        handle.seek(offset)
        buf = b""
        buf_start = offset  # file offset of buf[0]
        long_line: _LongLine | None = None  # inside a line longer than max_line_bytes
        while True:
            # Ask for what the file held at open, not a whole chunk: a 1 MiB buffer shrunk to a
            # 3 KiB append on every batch fragmented the daemon's heap until RSS grew without
            # end. Past that size (the file grew meanwhile) read on in small steps.
            remaining = size - (buf_start + len(buf))
            chunk = handle.read(min(limits.chunk_bytes, remaining if remaining > 0 else SMALL_READ))
            if not chunk:
                scan.at_end = True
                return scan
            buf = buf + chunk if buf else chunk
            pieces = buf.split(b"\n")
            remainder = pieces.pop()
            cursor = buf_start
            for piece in pieces:
                line_start = cursor
                cursor += len(piece) + 1
                if long_line is not None:
                    long_line.feed(piece)
                    scan.oversize(long_line)
                    long_line = None
                elif len(piece) > limits.max_line_bytes:
                    scan.oversize(_LongLine(line_start, piece))
                else:
                    scan.take(piece, line_start)
                scan.watermark_offset = cursor
                if (
                    len(scan.records) >= limits.max_batch_records
                    or scan.bytes_read >= limits.max_batch_bytes
                ):
                    return scan
            buf_start = cursor
            if long_line is not None:
                long_line.feed(remainder)
            elif len(remainder) > limits.max_line_bytes:
                long_line = _LongLine(buf_start, remainder)
            if long_line is not None:
                # Keep only the line's ends; the rest is dropped as it streams past.
                buf_start += len(remainder)
                buf = b""
            else:
                buf = remainder


class _LongLine:
    """The first and last bytes of a line too long to hold."""

    __slots__ = ("head", "position", "tail")

    def __init__(self, position: int, first: bytes) -> None:
        self.position = position
        self.head = first[:SALVAGE_BYTES]
        self.tail = first[-SALVAGE_BYTES:]

    def feed(self, more: bytes) -> None:
        self.tail = (self.tail + more[-SALVAGE_BYTES:])[-SALVAGE_BYTES:]


class _Scan:
    """Accumulates one batch; ``watermark_offset`` only ever points past a complete line."""

    __slots__ = (
        "at_end",
        "bytes_read",
        "invalid_utf8",
        "malformed",
        "oversized",
        "parse_line",
        "records",
        "watermark_offset",
    )

    def __init__(self, offset: int, parse_line: LineParser | None = None) -> None:
        self.parse_line = parse_line
        self.records: list[Record] = []
        self.watermark_offset = offset
        self.at_end = False
        self.malformed = 0
        self.invalid_utf8 = 0
        self.oversized = 0
        self.bytes_read = 0

    def oversize(self, line: _LongLine) -> None:
        self.oversized += 1
        self.records.append(Record({}, line.position, (line.head, line.tail)))

    def take(self, line: bytes, position: int) -> None:
        self.bytes_read += len(line) + 1
        if not line.strip():
            return
        if self.parse_line is not None:
            try:
                parsed = self.parse_line(line.decode("utf-8"))
            except UnicodeDecodeError:
                self.invalid_utf8 += 1
                return
            if parsed is not None:
                self.records.append(Record(parsed, position))
            return
        try:
            data = orjson.loads(line)
        except orjson.JSONDecodeError:
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                self.invalid_utf8 += 1
            else:
                self.malformed += 1
            return
        if isinstance(data, dict):
            self.records.append(Record(data, position))
        else:
            self.malformed += 1
