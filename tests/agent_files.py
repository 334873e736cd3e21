"""Reading a real file with a real reader and converting it, batch by batch, as the daemon does."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from agenttail.agents.base import AgentContext, StreamRef, StreamSpec, StreamState
from agenttail.events import MetricEvent
from agenttail.readers.base import Reader, ReadLimits, Record
from agenttail.watermarks import Watermark

Converter = Callable[[Sequence[Record], AgentContext], list[MetricEvent]]


def write_jsonl(path: Path, *records: dict[str, Any], mode: str = "a") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, mode, encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


class Tail:
    """One stream followed across reads: watermark and state persist, as in the store."""

    def __init__(self, agent: str, path: Path, reader: Reader, convert: Converter) -> None:
        spec = StreamSpec("test", reader, (path.name,), lambda p: p.stem, convert)
        self.context = AgentContext(StreamRef(agent, spec, path, path.stem), StreamState())
        self.reader, self.convert = reader, convert
        self.watermark: Watermark | None = None

    def read(self, batch: int = 5000) -> list[MetricEvent]:
        """Every event from the bytes (or rows) after the watermark."""
        out: list[MetricEvent] = []
        limits = ReadLimits(max_batch_records=batch)
        while True:
            result = self.reader.read(self.context.stream.path, self.watermark, limits)
            if result.reset:
                self.context.state.data.clear()
            out += self.convert(result.records, self.context)
            self.watermark = result.watermark
            if result.at_end:
                return out


def latest(events: Sequence[MetricEvent]) -> dict[str, MetricEvent]:
    """What the store keeps of each event id: the copy that outranks the others."""
    kept: dict[str, MetricEvent] = {}
    for event in events:
        old = kept.get(event.event_id)
        if old is None or event.outranks(old):
            kept[event.event_id] = event
    return kept


def counted(events: Sequence[MetricEvent]) -> list[MetricEvent]:
    """The kept copies the store counts: per dedup group, only the highest precedence."""
    kept = list(latest(events).values())
    best: dict[str, int] = {}
    for event in kept:
        if event.dedup_key is not None:
            best[event.dedup_key] = max(best.get(event.dedup_key, -1), event.precedence)
    return [e for e in kept if e.dedup_key is None or e.precedence >= best[e.dedup_key]]
