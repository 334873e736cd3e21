"""Readers know on-disk formats, not agents: (path, watermark, limits) -> (records, watermark)."""

from agenttail.readers.base import Reader, ReadLimits, ReadResult, Record

__all__ = ["ReadLimits", "ReadResult", "Reader", "Record"]
