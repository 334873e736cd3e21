"""The JSONL reader's promises: nothing unfinished consumed, nothing lost, memory bounded."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from agenttail.readers.base import ReadLimits, ReadResult
from agenttail.readers.jsonl import JsonlReader
from agenttail.watermarks import ByteOffsetWatermark, Watermark, parse_watermark

reader = JsonlReader()
fragments: list[tuple[bytes, bytes]] = []


def line(n: int, **extra: object) -> bytes:
    return (json.dumps({"n": n, **extra}) + "\n").encode()


def read_all(
    path: Path, watermark: Watermark | None = None, limits: ReadLimits | None = None
) -> tuple[list[int], ReadResult]:
    """Read batches until the end, as the worker does; returns the record numbers seen.

    The ends of overlong lines are collected in the module-level ``fragments`` list.
    """
    seen: list[int] = []
    while True:
        result = reader.read(path, watermark, limits or ReadLimits())
        seen.extend(r.data["n"] for r in result.records if r.fragments is None)
        fragments.extend(r.fragments for r in result.records if r.fragments is not None)
        watermark = result.watermark
        if result.at_end:
            return seen, result


def test_reads_complete_lines_and_resumes_after_them(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + line(2))
    seen, result = read_all(path)
    assert seen == [1, 2]
    with open(path, "ab") as handle:
        handle.write(line(3))
    seen, _ = read_all(path, result.watermark)
    assert seen == [3]


def test_partial_last_line_is_completed_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    full = line(2)
    path.write_bytes(line(1) + full[:7])
    seen, result = read_all(path)
    assert seen == [1]
    assert (
        result.watermark.to_string()
        == parse_watermark("byte_offset", result.watermark.to_string()).to_string()
    )  # type: ignore[union-attr]
    # the "restart": only the persisted string survives
    stored = parse_watermark("byte_offset", result.watermark.to_string())
    with open(path, "ab") as handle:
        handle.write(full[7:])
    seen, _ = read_all(path, stored)
    assert seen == [2]


def test_malformed_and_non_utf8_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(
        line(1) + b'{"n": 2, "broken\n' + b'{"n": 3, "s": "\xff\xfe"}\n' + b"[1, 2]\n" + line(4)
    )
    seen, result = read_all(path)
    assert seen == [1, 4]
    assert result.malformed == 2
    assert result.invalid_utf8 == 1
    assert result.watermark.offset == path.stat().st_size  # type: ignore[attr-defined]


def test_writer_killed_mid_line_then_more_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + b'{"n": 2, "cut')
    seen, result = read_all(path)
    assert seen == [1]
    with open(path, "ab") as handle:  # the fragment is never completed; a new writer appends
        handle.write(b"\n" + line(3))
    seen, result = read_all(path, result.watermark)
    assert seen == [3]
    assert result.malformed == 1


def test_blank_and_crlf_lines(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"\n" + line(1).replace(b"\n", b"\r\n") + b"   \n" + line(2))
    seen, result = read_all(path)
    assert seen == [1, 2]
    assert result.malformed == 0


def test_overlong_line_is_skipped_without_stopping_the_file(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    big = json.dumps({"n": 99, "blob": "x" * 50_000}).encode() + b"\n"
    path.write_bytes(line(1) + big + line(2))
    limits = ReadLimits(max_line_bytes=10_000, chunk_bytes=4096)
    fragments.clear()
    seen, result = read_all(path, limits=limits)
    assert seen == [1, 2]
    assert result.oversized == 1
    ((head, tail),) = fragments  # its ends are kept, bounded, for salvage
    assert head.startswith(b'{"n": 99, "blob": "xxx')
    assert tail.endswith(b'xxx"}')


def test_unfinished_overlong_line_is_not_consumed(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + b'{"n": 5, "blob": "' + b"y" * 30_000)
    limits = ReadLimits(max_line_bytes=10_000, chunk_bytes=4096)
    seen, result = read_all(path, limits=limits)
    assert seen == [1]
    assert result.watermark.offset == len(line(1))  # type: ignore[attr-defined]
    with open(path, "ab") as handle:
        handle.write(b'"}\n' + line(6))
    seen, result = read_all(path, result.watermark, limits)
    assert seen == [6]
    assert result.oversized == 1


def test_a_100_mb_line_never_loads_100_mb(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with open(path, "wb") as handle:
        handle.write(line(1))
        handle.write(b'{"type": "file-history-snapshot", "blob": "')
        chunk = b"z" * (1024 * 1024)
        for _ in range(100):
            handle.write(chunk)
        handle.write(b'"}\n')
        handle.write(line(2))
    fragments.clear()
    tracemalloc.start()
    try:
        seen, result = read_all(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == [1, 2]
    assert result.oversized == 1
    assert peak < 40 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"
    ((head, tail),) = fragments
    assert head.startswith(b'{"type": "file-history-snapshot"')
    assert tail.endswith(b'zzz"}')
    assert len(head) + len(tail) <= 128 * 1024


def test_batches_are_bounded_and_resume_without_loss(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(b"".join(line(n) for n in range(1, 101)))
    limits = ReadLimits(max_batch_records=7)
    watermark: Watermark | None = None
    seen: list[int] = []
    batches = 0
    while True:
        result = reader.read(path, watermark, limits)
        assert len(result.records) <= 7
        seen.extend(r.data["n"] for r in result.records)
        watermark = result.watermark
        batches += 1
        if result.at_end:
            break
    assert seen == list(range(1, 101))
    assert batches >= 15


def test_truncated_file_is_read_from_its_start(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + line(2) + line(3))
    _, result = read_all(path)
    path.write_bytes(line(7))  # truncate + rewrite: smaller than the offset
    seen, result = read_all(path, result.watermark)
    assert seen == [7]
    assert result.reset and result.reset_reason == "truncated"


def test_copytruncate_that_grew_past_the_offset_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + line(2))
    _, result = read_all(path)
    # same inode, truncated and refilled with different content longer than before
    with open(path, "r+b") as handle:
        handle.truncate(0)
        handle.write(line(10, pad="p" * 40) + line(11) + line(12))
    seen, result = read_all(path, result.watermark)
    assert seen == [10, 11, 12]
    assert result.reset_reason == "rewritten"


def test_replaced_file_with_new_inode_is_reread(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1))
    _, result = read_all(path)
    replacement = tmp_path / "new.jsonl"
    replacement.write_bytes(line(1) + line(2))
    replacement.replace(path)
    seen, result = read_all(path, result.watermark)
    assert seen == [1, 2]
    assert result.reset_reason == "replaced"


def test_rewrite_in_place_before_the_offset_is_detected(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_bytes(line(1) + line(2))
    _, result = read_all(path)
    data = bytearray(path.read_bytes())
    data[-3:-2] = b"9"  # same size, same inode, the bytes before the offset changed
    path.write_bytes(bytes(data))
    seen, result = read_all(path, result.watermark)
    assert result.reset
    assert len(seen) == 2


@pytest.mark.parametrize(
    "text",
    ["", "garbage", "v1:1:2:3", "v1:-5:1:1:0:a:b", "v1:10:1:1:20:a:b", "v2:1:1:1:0:a:b"],
)
def test_unreadable_watermark_strings_mean_start_over(text: str) -> None:
    assert parse_watermark("byte_offset", text) is None


def test_watermark_round_trips_as_string() -> None:
    mark = ByteOffsetWatermark(1234, 64769, 99, 1024, "ab12", "cd34")
    assert ByteOffsetWatermark.parse(mark.to_string()) == mark
