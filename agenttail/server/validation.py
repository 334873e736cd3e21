"""The published batch schema (schemas/agenttail.batch.v1.json) and the error a bad body raises.

The schema is the one contract between exporter and receiver: it admits metric fields only
(unknown fields are refused everywhere; attrs are numbers, booleans or identifier-shaped labels),
so a body carrying content is rejected, not stored. ``batch.py`` enforces it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

SCHEMA_FILE = "agenttail.batch.v1.json"
_PACKAGED = Path(__file__).resolve().parents[1] / "schemas"
_SOURCE_TREE = Path(__file__).resolve().parents[2] / "schemas"


class InvalidBatch(ValueError):
    """A body that is not an agenttail.batch/v1 document; names the first offending field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def schema_document() -> dict[str, Any]:
    for folder in (_PACKAGED, _SOURCE_TREE):
        candidate = folder / SCHEMA_FILE
        if candidate.is_file():
            loaded = orjson.loads(candidate.read_bytes())
            assert isinstance(loaded, dict)
            return loaded
    raise FileNotFoundError(f"{SCHEMA_FILE} is missing from the installation")
