"""The receiver's OpenAPI description, built around the published batch schema."""

from __future__ import annotations

from typing import Any

from agenttail import __version__
from agenttail.server.validation import schema_document


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def openapi_document() -> dict[str, Any]:
    batch = schema_document()
    defs = batch.pop("$defs", {})
    batch.pop("$schema", None)
    batch.pop("$id", None)
    components: dict[str, Any] = {name.capitalize(): _retarget(v) for name, v in defs.items()}
    components["Batch"] = _retarget(batch)
    components["Error"] = {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "field": {"type": "string"},
                },
            }
        },
    }
    components["Stored"] = {
        "type": "object",
        "required": ["batch_id", "received", "stored", "duplicate"],
        "properties": {
            "batch_id": {"type": "string"},
            "received": {"type": "integer"},
            "stored": {"type": "integer"},
            "duplicate": {"type": "boolean"},
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "agenttail team receiver", "version": __version__},
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "paths": {
            "/v1/batches": {
                "post": {
                    "summary": "Store one batch of metric events (exactly once per event_id)",
                    "security": [{"bearer": []}],
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Batch"}}
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "stored, or a duplicate of a stored batch",
                            "content": {
                                "application/json": {
                                    "schema": {"$ref": "#/components/schemas/Stored"}
                                }
                            },
                        },
                        "400": _error("not an agenttail.batch/v1 body; names the field"),
                        "401": _error("no valid bearer token"),
                        "403": _error("the token may not write for that user"),
                        "413": _error("too large, before or after decompression"),
                        "415": _error("unsupported Content-Encoding"),
                        "429": _error("busy: retry after Retry-After seconds"),
                    },
                }
            },
            "/healthz": {
                "get": {"summary": "liveness", "responses": {"200": {"description": "ok"}}}
            },
        },
    }


def _retarget(node: Any) -> Any:
    """``#/$defs/x`` references become ``#/components/schemas/X``."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                out[key] = "#/components/schemas/" + value[len("#/$defs/") :].capitalize()
            else:
                out[key] = _retarget(value)
        return out
    if isinstance(node, list):
        return [_retarget(item) for item in node]
    return node
