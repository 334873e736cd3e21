"""VS Code's object mutation log (``chatSessions/<id>.jsonl``) and its bounded replay.

Each line is ``{kind, k?, v?, i?}``: 0 Initial (whole state in ``v``, first line), 1 Set (value
``v`` at path ``k``), 2 Push (append ``v[]`` to the array at ``k``, first truncating it to
length ``i`` when given), 3 Delete (remove path ``k``). After 1024 entries VS Code rewrites the
file as a single kind-0 line; the byte-offset reader sees the shrink or the changed bytes and
starts over, and a kind-0 line anywhere replaces the state, so compaction is replayed correctly.

Memory stays bounded: the replay keeps only a *projection* of the document, the paths a
``Shape`` names (for a chat session: ids, times, model, token counts of each request), never the
prompts and responses. The projection is small enough to live in the stream's persisted state,
so a tail of new lines is applied without reading the file again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from agenttail.readers.base import ReadLimits, ReadResult
from agenttail.readers.jsonl import JsonlReader
from agenttail.watermarks import ByteOffsetWatermark, Watermark

INITIAL, SET, PUSH, DELETE = 0, 1, 2, 3

# True keeps a whole subtree; a dict keeps the named keys; a one-item list is an array whose
# items have that shape.
Shape = Union[bool, dict[str, "Shape"], list["Shape"]]  # noqa: UP007 - recursive alias


class MutationLogReader:
    """JSONL lines after a byte offset; lines that are not mutation entries count as malformed."""

    name = "mutation_log"
    watermark_kind: type[Watermark] = ByteOffsetWatermark

    def __init__(self) -> None:
        self._lines = JsonlReader()

    def read(self, path: Path, watermark: Watermark | None, limits: ReadLimits) -> ReadResult:
        result = self._lines.read(path, watermark, limits)
        kept = [r for r in result.records if _is_entry(r.data)]
        result.malformed += len(result.records) - len(kept)
        result.records = kept
        return result


def _is_entry(data: dict[str, Any]) -> bool:
    kind = data.get("kind")
    if kind == INITIAL:
        return "v" in data
    return kind in (SET, PUSH, DELETE) and isinstance(data.get("k"), list)


def prune(value: Any, shape: Shape) -> Any:
    """The part of ``value`` that ``shape`` names (None where the types disagree)."""
    if shape is True:
        return value
    if isinstance(shape, dict):
        if not isinstance(value, dict):
            return None
        return {key: prune(value[key], sub) for key, sub in shape.items() if key in value}
    if isinstance(shape, list):
        if not isinstance(value, list):
            return None
        return [prune(item, shape[0]) for item in value]
    return None


def _sub_shape(shape: Shape, step: Any) -> Shape | None:
    """The shape below one path step, None when the step leaves the projection."""
    if shape is True:
        return True
    if isinstance(shape, dict) and isinstance(step, str):
        return shape.get(step)
    if isinstance(shape, list) and isinstance(step, int):
        return shape[0]
    return None


class Projection:
    """Replays mutation entries onto the pruned document; reports which top-level items changed.

    ``touched`` collects ``(path[0], path[1])`` pairs, e.g. ``("requests", 3)``, or
    ``(path[0], None)`` when a whole array or the whole document changed.
    """

    def __init__(self, shape: Shape, document: Any = None) -> None:
        self.shape = shape
        self.document: Any = document
        self.touched: set[tuple[str, int | None]] = set()
        self.replaced = False
        self._pushed: range = range(0)

    def apply(self, entry: dict[str, Any]) -> bool:
        """Apply one entry; False when it does not fit the current document (skipped)."""
        kind = entry.get("kind")
        if kind == INITIAL:
            self.document = prune(entry.get("v"), self.shape)
            self.replaced = True
            return True
        path = entry.get("k")
        if not isinstance(path, list) or not path or self.document is None:
            return False
        shape: Shape | None = self.shape
        for step in path:
            shape = _sub_shape(shape, step) if shape is not None else None
            if shape is None:
                return True  # outside the projection: nothing we keep changes
        parent = self._walk(path[:-1])
        last = path[-1]
        if parent is None or shape is None:
            return False
        ok = self._mutate(kind, parent, last, entry, shape)
        if ok:
            self._touch(path, kind)
        return ok

    def _walk(self, path: list[Any]) -> Any:
        node = self.document
        for step in path:
            if isinstance(node, dict) and isinstance(step, str):
                node = node.get(step)
            elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
                node = node[step]
            else:
                return None
        return node

    def _mutate(
        self, kind: Any, parent: Any, last: Any, entry: dict[str, Any], shape: Shape
    ) -> bool:
        if kind == SET:
            value = prune(entry.get("v"), shape)
            if isinstance(parent, dict) and isinstance(last, str):
                parent[last] = value
                return True
            if isinstance(parent, list) and isinstance(last, int) and 0 <= last <= len(parent):
                if last == len(parent):
                    parent.append(value)
                else:
                    parent[last] = value
                return True
            return False
        if kind == DELETE:
            if isinstance(parent, dict) and isinstance(last, str):
                parent.pop(last, None)
                return True
            if isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
                del parent[last]
                return True
            return False
        if kind == PUSH:
            target: Any = None
            if isinstance(parent, dict) and isinstance(last, str):
                target = parent.setdefault(last, [])
            elif isinstance(parent, list) and isinstance(last, int) and 0 <= last < len(parent):
                target = parent[last]
            if not isinstance(target, list):
                return False
            items = entry.get("v")
            start = entry.get("i")
            if isinstance(start, int) and 0 <= start < len(target):
                del target[start:]
            first = len(target)
            item_shape = shape[0] if isinstance(shape, list) else True
            for item in items if isinstance(items, list) else []:
                target.append(prune(item, item_shape))
            self._pushed = range(first, len(target))
            return True
        return False

    def _touch(self, path: list[Any], kind: Any) -> None:
        head = path[0]
        if not isinstance(head, str):
            return
        if len(path) >= 2 and isinstance(path[1], int):
            self.touched.add((head, path[1]))
        elif kind == PUSH and len(path) == 1:
            self.touched.update((head, index) for index in self._pushed)
        else:
            self.touched.add((head, None))
