"""Whole-file JSON documents that are rewritten in place (VS Code ``chatSessions/<id>.json``).

Items of such a document change after they were first written (a streaming response gains its
result), so on every content change all items are derived again and the events upserted by id:
re-deriving is idempotent. The watermark is the content digest plus the index of the next item
to emit, so an unchanged file costs one hash and a long document is emitted in bounded pages.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import orjson

from agenttail.readers.base import MIB, ReadLimits, ReadResult, Record
from agenttail.watermarks import Watermark, WatermarkError, register_watermark_kind

MAX_DOCUMENT_BYTES = 256 * MIB
HEADER_POSITION = -1


@register_watermark_kind
@dataclass(frozen=True, slots=True)
class DocumentWatermark:
    """``digest`` of the content whose items before ``index`` were emitted (``count`` in all)."""

    KIND: ClassVar[str] = "document_index"

    digest: str
    index: int
    count: int

    def to_string(self) -> str:
        return f"v1:{self.digest}:{self.index}:{self.count}"

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split(":")
        if len(parts) != 4 or parts[0] != "v1":
            raise WatermarkError(f"not a document_index watermark: {text!r}")
        try:
            index, count = int(parts[2]), int(parts[3])
        except ValueError as exc:
            raise WatermarkError(f"not a document_index watermark: {text!r}") from exc
        if not 0 <= index <= count:
            raise WatermarkError(f"inconsistent document_index watermark: {text!r}")
        return cls(parts[1], index, count)


def split_items(document: Any, path: tuple[str, ...]) -> tuple[dict[str, Any], list[Any]] | None:
    """(the document without the list at ``path``, that list); None when the document has no
    object where the path needs one. A missing list is an empty one."""
    if not path:
        return ({}, document) if isinstance(document, list) else None
    if not isinstance(document, dict):
        return None
    head, rest = path[0], path[1:]
    header = {k: v for k, v in document.items() if k != head}
    if not rest:
        found = document.get(head)
        return header, found if isinstance(found, list) else []
    inner = split_items(document.get(head, {}), rest)
    if inner is None:
        return None
    header[head] = inner[0]
    return header, inner[1]


class JsonDocumentReader:
    """Emits a header record (the document without its item list) and then one record per item.

    ``items_key`` says where the item list is: a key (``"requests"``), a path of keys
    (``("data", "messages")``), ``()`` for a document that is itself a list (its header is
    ``{}``), or None: an object document is one record (its header, no items) and a list
    document is read as with ``()`` (Cline's ``ui_messages.json``). The
    header (position -1) comes first in every pass that starts at item 0; item records carry
    their index as position.
    """

    name = "json_document"
    watermark_kind: type[Watermark] = DocumentWatermark

    def __init__(
        self, items_key: str | tuple[str, ...] | None, max_bytes: int = MAX_DOCUMENT_BYTES
    ) -> None:
        self.items_path = (items_key,) if isinstance(items_key, str) else items_key
        self.max_bytes = max_bytes

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size > self.max_bytes:
                mark = DocumentWatermark(f"size{size}", 0, 0)
                done = isinstance(watermark, DocumentWatermark) and watermark == mark
                return ReadResult([], mark, at_end=True, oversized=0 if done else 1, size=size)
            data = handle.read()
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        start = 0
        if isinstance(watermark, DocumentWatermark) and watermark.digest == digest:
            if watermark.index >= watermark.count:
                return ReadResult([], watermark, at_end=True, size=size)
            start = watermark.index
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            # Usually a half-written rewrite: nothing is consumed, the next change re-reads it.
            bad = DocumentWatermark(digest, 0, 0)
            return ReadResult([], bad, at_end=True, malformed=1, size=size)
        split: tuple[dict[str, Any], list[Any]] | None
        if self.items_path is None:  # an object is its header; a list, its items
            split = (document, []) if isinstance(document, dict) else split_items(document, ())
        else:
            split = split_items(document, self.items_path)
        if split is None:
            return ReadResult([], DocumentWatermark(digest, 0, 0), True, malformed=1, size=size)
        header, items = split
        records: list[Record] = []
        if start == 0:
            records.append(Record(header, HEADER_POSITION))
        end = min(len(items), start + max(1, limits.max_batch_records))
        malformed = 0
        for index in range(start, end):
            item = items[index]
            if isinstance(item, dict):
                records.append(Record(item, index))
            else:
                malformed += 1
        return ReadResult(
            records=records,
            watermark=DocumentWatermark(digest, end, len(items)),
            at_end=end >= len(items),
            malformed=malformed,
            bytes_read=size if start == 0 else 0,
            size=size,
        )
