"""Batches are checked against the published schema (schemas/agenttail.batch.v1.json).

The schema is the one contract between exporter and receiver: it admits metric fields only
(``additionalProperties: false`` everywhere), so a body carrying content is rejected, not stored.
"""

from __future__ import annotations

from functools import lru_cache
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


@lru_cache(maxsize=1)
def _validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema_document())


def _path(parts: Any) -> str:
    text = "$"
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def validate_batch(body: bytes) -> dict[str, Any]:
    """The parsed batch, or InvalidBatch naming the field (JSON path) and what is wrong."""
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidBatch("$", f"not JSON: {exc}") from None
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(document))
    if error is not None:
        raise InvalidBatch(_path(error.absolute_path), error.message[:300])
    assert isinstance(document, dict)
    return document
