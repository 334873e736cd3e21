"""The team store: what ``agenttail server`` keeps of every developer's uploaded batches.

One schema on two engines: SQLite (the embedded default, a file in the server's state folder)
and PostgreSQL (a larger team or a managed cluster). Exactly-once effect: an event is stored
once per ``event_id`` at its highest revision, a batch's ``Idempotency-Key`` is remembered, and
each batch is one transaction, so retries, lost acks, a killed server or two machines racing
never double count.

The events table uses the local store's column names (plus ``user_name`` and ``machine_id``),
so the analytics written for the local store read it too.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from agenttail.errors import EX_UNAVAILABLE, AgenttailError
from agenttail.upload.wire import COLUMNS as WIRE_COLUMNS

# What the receiver stores of each event: the wire's metric fields (the local store's column
# names; "attrs" as JSON text) and who sent it.
EVENT_COLUMNS = (
    *(name for name in WIRE_COLUMNS if name not in ("sent_revision", "updated_at")),
    "user_name",
    "machine_id",
    "batch_id",
    "received_at",
)
_BOOLEANS = ("tokens_known", "estimated", "ok", "is_sidechain", "counted")
_DEFAULTS: dict[str, Any] = {"tokens_known": True, "estimated": False}
TOKEN_PREFIX = "att_"


class TeamStoreError(AgenttailError):
    """The team database cannot be opened or used (a bad URL, an unreachable server)."""

    exit_code = EX_UNAVAILABLE
    kind = "team_store"


@dataclass(frozen=True)
class IngestBatch:
    batch_id: str
    user: str
    machine_id: str
    events: Sequence[dict[str, Any]]


@dataclass(frozen=True)
class IngestResult:
    batch_id: str
    received: int
    stored: int  # inserted, or replaced by a higher revision
    duplicate: bool  # this Idempotency-Key was stored before: nothing was done again


@dataclass(frozen=True)
class TokenInfo:
    name: str
    created_at: int
    revoked: bool


class TeamStore(Protocol):
    """What the receiver needs of a database; both engines pass the same tests."""

    def ingest(self, batch: IngestBatch, now_ms: int) -> IngestResult: ...

    def create_token(self, user: str, now_ms: int) -> str: ...

    def revoke_token(self, user: str, now_ms: int) -> bool: ...

    def tokens(self) -> list[TokenInfo]: ...

    def user_for_token(self, token: str) -> str | None: ...

    def has_tokens(self) -> bool: ...

    def close(self) -> None: ...


def token_hash(token: str) -> str:
    """Tokens are stored hashed: a leaked database gives no usable token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def event_row(event: dict[str, Any], batch: IngestBatch, now_ms: int) -> dict[str, Any]:
    """A validated wire event as a team-store row, by column name."""
    row: dict[str, Any] = {}
    for name in EVENT_COLUMNS:
        value = event.get(name, _DEFAULTS.get(name))
        if name in _BOOLEANS and value is not None:
            value = int(bool(value))
        row[name] = value
    import orjson

    row["attrs"] = orjson.dumps(event.get("attrs") or {}).decode()
    row.update(
        user_name=batch.user,
        machine_id=batch.machine_id,
        batch_id=batch.batch_id,
        received_at=now_ms,
    )
    return row


def open_team_store(url: str) -> TeamStore:
    """``sqlite:///PATH`` or ``postgresql://…`` (``postgres://`` too)."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        from agenttail.store.team.sqlite import SqliteTeamStore

        path = "/" + url[len("sqlite:///") :].lstrip("/")  # sqlite:///abs and sqlite:////abs
        return SqliteTeamStore(Path(path))
    if url.startswith(("postgresql://", "postgres://")):
        from agenttail.store.team.postgres import PostgresTeamStore

        return PostgresTeamStore(url)
    raise TeamStoreError(
        f"unsupported database URL {url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )
