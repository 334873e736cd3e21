"""The receiver's typed decoder never accepts what the published JSON Schema rejects."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import orjson
from hypothesis import HealthCheck, given, settings

from agenttail.server.batch import decode_batch
from agenttail.server.validation import InvalidBatch
from tests.server.test_receiver import batch, event
from tests.server.test_receiver_fuzz import bodies

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "schemas" / "agenttail.batch.v1.json").read_text()
)
ORACLE = jsonschema.Draft202012Validator(SCHEMA)


def _schema_accepts(body: bytes) -> bool:
    try:
        document = json.loads(body)
    except ValueError:
        return False
    return ORACLE.is_valid(document)


def _decoder_accepts(body: bytes) -> bool:
    try:
        decode_batch(body)
    except InvalidBatch:
        return False
    return True


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=bodies())
def test_whatever_the_decoder_accepts_the_schema_accepts(body: bytes) -> None:
    if _decoder_accepts(body):
        assert _schema_accepts(body), body


def test_both_accept_what_the_exporter_sends_and_agents_add() -> None:
    body = batch(
        [
            event(1, attrs={"history_len": 3, "stop_reason": "end_turn"}),
            event(2, attrs={"credits": 0.25, "provider": "anthropic", "cumulative_delta": 12}),
            event(3, kind="tool_call", tool_name="Bash", ok=False, duration_ms=12.5),
        ],
        user="alice",
    )
    assert _schema_accepts(body) and _decoder_accepts(body)


def test_both_refuse_text_in_attrs_and_wrongly_typed_known_attrs() -> None:
    for attrs in (
        {"provider": "two words"},
        {"history_len": "3"},
        {"history_len": -1},
        {"Bad Key": 1},
        {"note": None},
    ):
        body = batch([event(1, attrs=attrs)])
        assert not _schema_accepts(body), attrs
        assert not _decoder_accepts(body), attrs


def test_the_error_names_the_field() -> None:
    body = batch([event(1), event(2, output_tokens=-3)])
    try:
        decode_batch(body)
    except InvalidBatch as exc:
        assert exc.field == "$.events[1].output_tokens"
    else:
        raise AssertionError("accepted a negative count")
    assert orjson.loads(body)["events"][1]["output_tokens"] == -3
