"""The receiver's logic on top of any DB-API connection: claim the key, upsert the events.

Engines provide a transaction that yields a cursor; everything else is shared.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Protocol

from agenttail.store.team import (
    IngestBatch,
    IngestResult,
    TokenInfo,
    event_row,
    new_token,
    rollups,
    token_hash,
)
from agenttail.store.team import sql as q

# Event ids per statement when a batch's rows are looked up or rolled up by id.
CHUNK = 1000


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    def execute(self, sql: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, sql: Any, params: Any, /) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def fetchone(self) -> Any: ...


class SqlTeamStore:
    """Shared by the SQLite and PostgreSQL team stores."""

    dialect: q.Dialect

    def transaction(self) -> AbstractContextManager[Cursor]:
        raise NotImplementedError

    def _create_schema(self) -> None:
        """Tables and rollups, idempotent; rollups added to a store that has events already
        are built from them once."""
        with self.transaction() as cur:
            cur.execute(self.dialect.table_exists(), {"name": "usage_rollup"})
            had_rollups = cur.fetchone() is not None
            for statement in (*q.schema(self.dialect), *rollups.schema(self.dialect)):
                cur.execute(statement)
            if not had_rollups:
                for statement in rollups.merges(self.dialect, "1 = 1", ""):
                    cur.execute(statement)

    def _roll(self, cur: Cursor, event_ids: list[str], sign: str) -> None:
        """Add (``sign`` "") or subtract ("-") these stored events to every rollup."""
        for start in range(0, len(event_ids), CHUNK):
            chunk = event_ids[start : start + CHUNK]
            selection = rollups.selection_of(self.dialect, chunk)
            params = {f"e{i}": event_id for i, event_id in enumerate(chunk)}
            for statement in rollups.merges(self.dialect, selection, sign):
                cur.execute(statement, params)

    def _changes(self, cur: Cursor, rows: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
        """The batch's event ids whose stored row it will insert or replace (a higher
        revision), and those of them already stored."""
        incoming: dict[str, int] = {}
        for row in rows:
            incoming[row["event_id"]] = max(row["revision"], incoming.get(row["event_id"], -1))
        ids = list(incoming)
        stored: dict[str, int] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            marks = ", ".join(self.dialect.param(f"e{i}") for i in range(len(chunk)))
            cur.execute(
                f"SELECT event_id, revision FROM team_events WHERE event_id IN ({marks})",
                {f"e{i}": event_id for i, event_id in enumerate(chunk)},
            )
            stored.update((str(event_id), int(revision)) for event_id, revision in cur.fetchall())
        changed = [e for e in ids if e not in stored or incoming[e] > stored[e]]
        return changed, [e for e in changed if e in stored]

    def ingest(self, batch: IngestBatch, now_ms: int) -> IngestResult:
        """One transaction per batch: a replayed key, a lost ack or a crash never double counts.

        The rollups move in the same transaction: the stored rows the batch replaces are
        subtracted before the upsert, the rows it stored are added after it.
        """
        rows = [event_row(event, batch, now_ms) for event in batch.events]
        with self.transaction() as cur:
            cur.execute(
                q.insert_batch(self.dialect),
                {
                    "batch_id": batch.batch_id,
                    "user_name": batch.user,
                    "machine_id": batch.machine_id,
                    "event_count": len(rows),
                    "received_at": now_ms,
                },
            )
            if cur.rowcount == 0:
                return IngestResult(batch.batch_id, len(rows), 0, duplicate=True)
            changed, replaced = self._changes(cur, rows)
            self._roll(cur, replaced, "-")
            cur.executemany(q.upsert_event(self.dialect), rows)
            stored = max(0, cur.rowcount)  # both drivers sum the rows of every execution
            self._roll(cur, changed, "")
        return IngestResult(batch.batch_id, len(rows), stored, duplicate=False)

    def create_token(self, user: str, now_ms: int) -> str:
        token = new_token()
        with self.transaction() as cur:
            cur.execute(
                q.insert_token(self.dialect),
                {"token_hash": token_hash(token), "user_name": user, "created_at": now_ms},
            )
        return token

    def revoke_token(self, user: str, now_ms: int) -> bool:
        with self.transaction() as cur:
            cur.execute(q.revoke_tokens(self.dialect), {"user": user, "now": now_ms})
            return cur.rowcount > 0

    def tokens(self) -> list[TokenInfo]:
        with self.transaction() as cur:
            cur.execute(q.LIST_TOKENS)
            rows = cur.fetchall()
        return [TokenInfo(row[0], int(row[1]), revoked=int(row[2]) == 0) for row in rows]

    def user_for_token(self, token: str) -> str | None:
        with self.transaction() as cur:
            cur.execute(q.user_for_token(self.dialect), {"hash": token_hash(token)})
            row = cur.fetchone()
        return None if row is None else str(row[0])

    def has_tokens(self) -> bool:
        with self.transaction() as cur:
            cur.execute(q.HAS_TOKENS)
            return cur.fetchone() is not None

    def rows(self, sql: str, params: Any = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts: for reports and tests."""
        with self.transaction() as cur:
            cur.execute(sql, params)
            names = [column[0] for column in getattr(cur, "description", None) or ()]
            found = cur.fetchall()
        for row in found:
            yield dict(zip(names, row, strict=True))
