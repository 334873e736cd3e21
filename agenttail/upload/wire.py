"""The ``agenttail.batch/v1`` wire format (schemas/agenttail.batch.v1.json).

A wire event is built from the store's metric columns only (see privacy.py). A batch's id is
derived from its events' ``(event_id, revision)`` pairs, so re-sending the same batch after a
lost ack carries the same ``Idempotency-Key``, while a later revision of an event travels in a
different batch the receiver will not mistake for a duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from agenttail import __version__
from agenttail.events import TOKEN_FIELDS, iso_from_ms, usd
from agenttail.upload.privacy import ProjectPolicy, safe_attrs, safe_label

SCHEMA = "agenttail.batch/v1"

# The columns a wire event is made of; nothing else is read from the events table.
COLUMNS = (
    "event_id",
    "revision",
    "sent_revision",
    "kind",
    "agent",
    "session_id",
    "run_id",
    "ts_ms",
    "project",
    "model",
    *TOKEN_FIELDS,
    "total_tokens",
    "cost_nusd",
    "recorded_cost_nusd",
    "tokens_known",
    "estimated",
    "tool_name",
    "ok",
    "duration_ms",
    "ttft_ms",
    "context_tokens",
    "history_len",
    "error_class",
    "dedup_key",
    "is_sidechain",
    "counted",
    "attrs",
    "updated_at",
)
WireEvent = dict[str, Any]


def _ident(value: object) -> str | None:
    """Ids and names pass when identifier-shaped; anything else is replaced by its hash."""
    if value is None:
        return None
    label = safe_label(value)
    if label is not None:
        return label
    return "h:" + hashlib.sha256(str(value).encode("utf-8")).hexdigest()[:16]


def wire_event(row: dict[str, Any], policy: ProjectPolicy, send_git_branch: bool) -> WireEvent:
    attrs = orjson.loads(row["attrs"]) if row["attrs"] else {}
    event: WireEvent = {
        "event_id": row["event_id"],
        "revision": row["revision"],
        "kind": row["kind"],
        "agent": row["agent"],
        "session_id": _ident(row["session_id"]),
        "run_id": _ident(row["run_id"]),
        "ts_ms": row["ts_ms"],
        "project": policy.shown(row["project"]),
        "model": _ident(row["model"]),
    }
    for name in (*TOKEN_FIELDS, "total_tokens"):
        event[name] = row[name]
    event.update(
        cost_usd=usd(row["cost_nusd"]),
        cost_nusd=row["cost_nusd"],
        recorded_cost_nusd=row["recorded_cost_nusd"],
        tokens_known=bool(row["tokens_known"]),
        estimated=bool(row["estimated"]),
        tool_name=_ident(row["tool_name"]),
        ok=None if row["ok"] is None else bool(row["ok"]),
        duration_ms=row["duration_ms"],
        ttft_ms=row["ttft_ms"],
        context_tokens=row["context_tokens"],
        history_len=row["history_len"],
        error_class=safe_label(row["error_class"]),
        dedup_key=_ident(row["dedup_key"]),
        is_sidechain=bool(row["is_sidechain"]),
        counted=bool(row["counted"]),
        attrs=safe_attrs(attrs if isinstance(attrs, dict) else {}, send_git_branch),
    )
    return event


def encoded_size(event: WireEvent) -> int:
    return len(orjson.dumps(event)) + 1


def batch_id(events: Sequence[WireEvent]) -> str:
    """Stable for the same ``(event_id, revision)`` set, whatever the order."""
    pairs = sorted(f"{e['event_id']}:{e['revision']}" for e in events)
    return hashlib.sha256("\n".join(pairs).encode("utf-8")).hexdigest()[:32]


def source_info(host_id: str, exporter: str, user: str | None = None) -> dict[str, Any]:
    """Who sends: this install's random machine id and the configured user name."""
    source = {"name": "agenttail", "version": __version__, "host_id": host_id, "exporter": exporter}
    if user:
        source["user"] = user
    return source


def envelope(
    batch: str, events: Sequence[WireEvent], source: dict[str, Any], sent_ms: int
) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "batch_id": batch,
        "sent_at": iso_from_ms(sent_ms),
        "source": source,
        "events": list(events),
    }
