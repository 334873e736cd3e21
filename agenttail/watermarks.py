"""Typed cursors, persisted as strings in the ``sessions`` table.

A watermark is only valid for the file it was taken on (design invariant 5: identity before
offset), so the byte-offset kind carries the file's identity with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol, Self


class Watermark(Protocol):
    KIND: ClassVar[str]

    def to_string(self) -> str: ...

    @classmethod
    def parse(cls, text: str) -> Self: ...


class WatermarkError(ValueError):
    """A persisted watermark string that cannot be parsed (the stream is then re-read)."""


@dataclass(frozen=True, slots=True)
class ByteOffsetWatermark:
    """Offset just past the last complete line, plus what identifies the file it belongs to.

    ``head_hash`` fingerprints the first ``head_len`` bytes (replacement, copytruncate);
    ``marker_hash`` the bytes just before ``offset`` (in-place rewrite, inode reuse).
    """

    KIND: ClassVar[str] = "byte_offset"

    offset: int
    dev: int
    ino: int
    head_len: int
    head_hash: str
    marker_hash: str

    def to_string(self) -> str:
        return (
            f"v1:{self.offset}:{self.dev}:{self.ino}:{self.head_len}:"
            f"{self.head_hash}:{self.marker_hash}"
        )

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split(":")
        if len(parts) != 7 or parts[0] != "v1":
            raise WatermarkError(f"not a byte_offset watermark: {text!r}")
        try:
            offset, dev, ino, head_len = (int(p) for p in parts[1:5])
        except ValueError as exc:
            raise WatermarkError(f"not a byte_offset watermark: {text!r}") from exc
        if offset < 0 or head_len < 0 or head_len > offset:
            raise WatermarkError(f"inconsistent byte_offset watermark: {text!r}")
        return cls(offset, dev, ino, head_len, parts[5], parts[6])


WATERMARK_KINDS: dict[str, type[Watermark]] = {ByteOffsetWatermark.KIND: ByteOffsetWatermark}


def register_watermark_kind(kind: type[Watermark]) -> type[Watermark]:
    """Readers in other modules add their watermark kinds here (a class decorator)."""
    WATERMARK_KINDS[kind.KIND] = kind
    return kind


def parse_watermark(kind: str, text: str | None) -> Watermark | None:
    """The stored watermark, or None (start over) when absent or unreadable."""
    if not text:
        return None
    cls = WATERMARK_KINDS.get(kind)
    if cls is None:
        return None
    try:
        return cls.parse(text)
    except WatermarkError:
        return None
