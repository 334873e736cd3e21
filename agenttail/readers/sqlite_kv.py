"""Values of a SQLite key-value table whose entries are rewritten in place (Cursor's
``state.vscdb``: ``ItemTable`` and ``cursorDiskKV``, ``key TEXT`` -> ``value BLOB``).

Such a table has no column that grows with each change, so changes are found by digest: keys
are hashed into ``BUCKETS`` buckets and the watermark keeps each bucket's digest of its
(key, value) pairs. A read hashes the matching rows once, then emits the rows of the buckets
whose digest changed (whole buckets, until the batch is full), so one edited conversation costs
a re-derivation of about 1/256 of the entries, not all of them. Records are re-derived by id, so
re-emitting an unchanged entry of a changed bucket is harmless. A replaced database (another
inode) is read again whole, reported as a reset.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Self

import orjson

from agenttail.readers.base import MIB, ReadLimits, ReadResult, Record
from agenttail.readers.sqlite_rows import connect_readonly, has_table, lenient_text
from agenttail.watermarks import Watermark, WatermarkError, register_watermark_kind

BUCKETS = 256
_DIGEST_BYTES = 8
_MASK = (1 << 64) - 1
MAX_VALUE_BYTES = 64 * MIB
DECODINGS = ("json", "text", "bytes")


@register_watermark_kind
@dataclass(frozen=True, slots=True)
class BucketDigestWatermark:
    """Each bucket's digest as of the last emission, and the database file it came from.

    String form ``v1|<dev>:<ino>|<hex digests, 16 characters per bucket>``.
    """

    KIND: ClassVar[str] = "kv_buckets"

    digests: tuple[int, ...]
    dev: int
    ino: int

    def to_string(self) -> str:
        return f"v1|{self.dev}:{self.ino}|" + "".join(f"{d:016x}" for d in self.digests)

    @classmethod
    def parse(cls, text: str) -> Self:
        parts = text.split("|")
        if len(parts) != 3 or parts[0] != "v1" or len(parts[2]) != BUCKETS * 16:
            raise WatermarkError(f"not a kv_buckets watermark: {text[:80]!r}")
        try:
            dev_text, ino_text = parts[1].split(":")
            digests = tuple(int(parts[2][i : i + 16], 16) for i in range(0, BUCKETS * 16, 16))
            return cls(digests, int(dev_text), int(ino_text))
        except ValueError as exc:
            raise WatermarkError(f"not a kv_buckets watermark: {text[:80]!r}") from exc


def _bucket(key: str) -> int:
    return hashlib.blake2b(key.encode("utf-8", "replace"), digest_size=1).digest()[0]


def _entry_digest(key: str, value: object) -> int:
    raw = value if isinstance(value, bytes) else str(value).encode("utf-8", "replace")
    blob = hashlib.blake2b(key.encode("utf-8", "replace") + b"\0" + raw, digest_size=8)
    return int.from_bytes(blob.digest(), "big")


def _prefix_range(prefix: str) -> tuple[str, str | None]:
    """``key >= low AND key < high`` matches exactly the keys starting with ``prefix`` (and
    uses the key's index, unlike LIKE, which also ignores case)."""
    if not prefix:
        return "", None
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SqliteKeyValueReader:
    """Emits ``{"key", "value"}`` records for the keys of ``table`` starting with one of
    ``prefixes`` whose bucket changed since the watermark.

    ``decode``: "json" (a value that is not JSON is skipped and counted as malformed), "text"
    or "bytes". Values larger than ``max_value_bytes`` are skipped and counted as oversized.
    """

    name = "sqlite_kv"
    watermark_kind: type[Watermark] = BucketDigestWatermark

    def __init__(
        self,
        table: str,
        prefixes: Sequence[str],
        *,
        key_column: str = "key",
        value_column: str = "value",
        decode: str = "json",
        max_value_bytes: int = MAX_VALUE_BYTES,
    ) -> None:
        if decode not in DECODINGS:
            raise ValueError(f"decode must be one of {DECODINGS}")
        self.table = table
        self.prefixes = tuple(prefixes)
        self.decode = decode
        self.max_value_bytes = max_value_bytes
        quoted = '"' + table.replace('"', '""') + '"'
        self._key = '"' + key_column.replace('"', '""') + '"'
        self._value = '"' + value_column.replace('"', '""') + '"'
        self._select = f"SELECT {self._key}, {self._value} FROM {quoted}"

    def _rows(self, conn: sqlite3.Connection) -> Iterator[tuple[str, Any]]:
        for prefix in self.prefixes or ("",):
            low, high = _prefix_range(prefix)
            if high is None:
                cursor = conn.execute(f"{self._select} ORDER BY {self._key}")
            else:
                cursor = conn.execute(
                    f"{self._select} WHERE {self._key} >= ? AND {self._key} < ? "
                    f"ORDER BY {self._key}",
                    [low, high],
                )
            for key, value in cursor:
                if isinstance(key, str):
                    yield key, value

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        stat = path.stat()
        empty = BucketDigestWatermark((0,) * BUCKETS, stat.st_dev, stat.st_ino)
        conn = connect_readonly(path)
        conn.row_factory = None
        conn.text_factory = lenient_text
        try:
            if not has_table(conn, self.table):
                return ReadResult([], empty, at_end=True, size=stat.st_size)
            conn.execute("BEGIN")  # both passes see one snapshot
            previous = empty.digests
            reset_reason = None
            if isinstance(watermark, BucketDigestWatermark):
                if (watermark.dev, watermark.ino) == (stat.st_dev, stat.st_ino):
                    previous = watermark.digests
                else:
                    reset_reason = "replaced"
            current = [0] * BUCKETS
            sizes = [0] * BUCKETS
            for key, value in self._rows(conn):
                bucket = _bucket(key)
                current[bucket] = (current[bucket] + _entry_digest(key, value)) & _MASK
                sizes[bucket] += 1
            changed = [b for b in range(BUCKETS) if current[b] != previous[b]]
            chosen: list[int] = []
            count = 0
            for bucket in changed:
                if chosen and count + sizes[bucket] > limits.max_batch_records:
                    break
                chosen.append(bucket)
                count += sizes[bucket]
            wanted = set(chosen)
            records: list[Record] = []
            malformed = oversized = 0
            if wanted:
                for key, value in self._rows(conn):
                    if _bucket(key) not in wanted:
                        continue
                    decoded, problem = self._decoded(value)
                    if problem == "oversized":
                        oversized += 1
                    elif problem == "malformed":
                        malformed += 1
                    else:
                        records.append(Record({"key": key, "value": decoded}, len(records)))
            conn.execute("COMMIT")
        finally:
            conn.close()
        emitted = tuple(current[b] if b in wanted else previous[b] for b in range(BUCKETS))
        return ReadResult(
            records=records,
            watermark=BucketDigestWatermark(emitted, stat.st_dev, stat.st_ino),
            at_end=len(chosen) == len(changed),
            reset=reset_reason is not None,
            reset_reason=reset_reason,
            malformed=malformed,
            oversized=oversized,
            size=stat.st_size,
        )

    def _decoded(self, value: object) -> tuple[Any, str | None]:
        raw = value if isinstance(value, bytes) else None
        size = len(raw) if raw is not None else len(str(value)) if value is not None else 0
        if size > self.max_value_bytes:
            return None, "oversized"
        if self.decode == "bytes":
            return raw if raw is not None else str(value).encode("utf-8", "replace"), None
        text = raw.decode("utf-8", "replace") if raw is not None else value
        if self.decode == "text":
            return (None if text is None else str(text)), None
        try:
            return orjson.loads(text if isinstance(text, str) else str(text)), None
        except orjson.JSONDecodeError:
            return None, "malformed"
