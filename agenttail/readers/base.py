"""The reader seam shared by every on-disk format."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from agenttail.watermarks import Watermark

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """Caps that keep one task's memory and time bounded whatever the input."""

    max_line_bytes: int = 8 * MIB
    max_batch_bytes: int = 4 * MIB
    max_batch_records: int = 5000
    chunk_bytes: int = 1 * MIB


@dataclass(slots=True)
class Record:
    """One raw record and where it came from (byte offset of its line, or row ordinal).

    A line too long to hold arrives with empty ``data`` and ``fragments`` = its first and last
    bytes (bounded), so an agent that knows the format can still salvage metric fields.
    """

    data: dict[str, Any]
    position: int
    fragments: tuple[bytes, bytes] | None = None


@dataclass(slots=True)
class ReadResult:
    """A batch of records and the watermark that covers exactly them.

    ``reset`` says the source was truncated or replaced and was read from its start; the
    caller must drop any per-stream state derived from the old content.
    """

    records: list[Record]
    watermark: Watermark
    at_end: bool
    reset: bool = False
    reset_reason: str | None = None
    malformed: int = 0
    invalid_utf8: int = 0
    oversized: int = 0
    bytes_read: int = 0
    size: int = 0
    notes: list[str] = field(default_factory=list)


class Reader(Protocol):
    """Pure: reads ``path`` after ``watermark``; never consumes an unfinished record."""

    name: str
    watermark_kind: type[Watermark]

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult: ...
