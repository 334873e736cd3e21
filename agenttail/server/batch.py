"""Typed decoding of an ``agenttail.batch/v1`` body (msgspec): parse and validate in one pass.

The published JSON Schema (schemas/agenttail.batch.v1.json) is the contract; these Structs
enforce it ~50x faster than a generic validator, which made validation 92 % of the receiver's
CPU. A differential test feeds both the same bodies: whatever this accepts, the schema accepts.
Known ``attrs`` keys take their types from the schema document itself.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Annotated, Any, Literal

import msgspec

from agenttail.server.validation import InvalidBatch, schema_document

LIMIT = 2**53
Count = Annotated[int, msgspec.Meta(ge=0, le=LIMIT)]
Int53 = Annotated[int, msgspec.Meta(ge=-LIMIT, le=LIMIT)]
Id160 = Annotated[str, msgspec.Meta(max_length=160)]
Number = Annotated[float, msgspec.Meta(ge=-LIMIT, le=LIMIT)]
Label = Annotated[str, msgspec.Meta(pattern=r"^[\w.:@/+-]{1,128}$")]
AttrKey = Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_.]{0,63}$")]


class Source(msgspec.Struct, forbid_unknown_fields=True):
    name: Literal["agenttail"]
    version: str
    host_id: str
    exporter: Literal["http"]
    user: Annotated[str, msgspec.Meta(min_length=1, max_length=128)] | None = None


class WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    event_id: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
    revision: Annotated[int, msgspec.Meta(ge=1, le=LIMIT)]
    kind: Literal["llm_request", "tool_call", "api_error", "compaction", "turn"]
    agent: str
    session_id: Id160
    ts_ms: Int53
    input_tokens: Count
    output_tokens: Count
    cache_read_tokens: Count
    cache_write_tokens: Count
    cache_write_5m_tokens: Count
    cache_write_1h_tokens: Count
    reasoning_tokens: Count
    total_tokens: Count
    is_sidechain: bool
    counted: bool
    attrs: dict[AttrKey, Int53 | Number | bool | Label]
    run_id: Id160 | None = None
    project: str | None = None
    model: Id160 | None = None
    cost_usd: float | None = None
    cost_nusd: Count | None = None
    recorded_cost_nusd: Count | None = None
    tokens_known: bool = True
    estimated: bool = False
    tool_name: Id160 | None = None
    ok: bool | None = None
    duration_ms: float | None = None
    ttft_ms: Annotated[float, msgspec.Meta(ge=0)] | None = None
    context_tokens: Count | None = None
    history_len: Count | None = None
    error_class: Annotated[str, msgspec.Meta(max_length=64)] | None = None
    dedup_key: Id160 | None = None


class Batch(msgspec.Struct, forbid_unknown_fields=True):
    schema: Literal["agenttail.batch/v1"]
    batch_id: Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{32}$")]
    sent_at: str
    source: Source
    events: Annotated[list[WireEvent], msgspec.Meta(min_length=1)]


_DECODER = msgspec.json.Decoder(Batch)
_PATH = re.compile(r" - at `(?P<path>[^`]*)`$")


@lru_cache(maxsize=1)
def _known_attrs() -> dict[str, tuple[str, dict[str, Any]]]:
    """Known attrs keys -> (JSON type, their schema), read from the published schema."""
    properties = schema_document()["$defs"]["event"]["properties"]["attrs"]["properties"]
    return {key: (spec["type"], spec) for key, spec in properties.items()}


def _check_attrs(index: int, attrs: dict[str, Any]) -> None:
    known = _known_attrs()
    for key, value in attrs.items():
        if key not in known:
            continue
        kind, spec = known[key]
        where = f"$.events[{index}].attrs.{key}"
        if kind == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidBatch(where, f"expected an integer, got {type(value).__name__}")
        if kind == "number" and (not isinstance(value, int | float) or isinstance(value, bool)):
            raise InvalidBatch(where, f"expected a number, got {type(value).__name__}")
        if kind == "string" and not isinstance(value, str):
            raise InvalidBatch(where, f"expected a string, got {type(value).__name__}")
        minimum = spec.get("minimum")
        if minimum is not None and isinstance(value, int | float) and value < minimum:
            raise InvalidBatch(where, f"below {minimum}")


def decode_batch(body: bytes) -> Batch:
    """The typed batch, or InvalidBatch naming the first offending field (a JSON path)."""
    try:
        batch = _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        text = str(exc)
        match = _PATH.search(text)
        field = match.group("path") if match else "$"
        message = text[: match.start()] if match else text
        raise InvalidBatch(field.replace("[...]", ""), message[:300]) from None
    except msgspec.DecodeError as exc:
        raise InvalidBatch("$", f"not JSON: {exc}") from None
    for index, event in enumerate(batch.events):
        if event.attrs:
            _check_attrs(index, event.attrs)
    return batch


def event_dicts(batch: Batch) -> list[dict[str, Any]]:
    return [msgspec.structs.asdict(event) for event in batch.events]
