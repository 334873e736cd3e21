"""The cause of the daemon's memory growth, kept fixed: reading an append allocates about the
append, not a whole read chunk (a 1 MiB buffer per batch, shrunk to the few KiB appended,
fragmented the heap so RSS grew with every event; ``scripts/soak.py`` measures the daemon)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from agenttail.readers.base import ReadLimits
from agenttail.readers.jsonl import JsonlReader

LINE = b'{"type": "user", "message": {"role": "user", "content": "hi"}}\n'


def test_reading_an_append_allocates_about_the_append(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl"
    path.write_bytes(LINE * 50_000)  # 3.2 MB already read
    reader = JsonlReader()
    limits = ReadLimits()
    result = reader.read(path, None, limits)
    while not result.at_end:
        result = reader.read(path, result.watermark, limits)
    with open(path, "ab") as handle:
        handle.write(LINE * 40)  # a 2.6 KB append, what one agent turn adds

    tracemalloc.start()
    try:
        appended = reader.read(path, result.watermark, limits)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(appended.records) == 40 and appended.at_end
    assert peak < 256 * 1024, f"reading a 2.6 KB append peaked at {peak / 1024:.0f} KiB"
