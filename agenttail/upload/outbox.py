"""The store's ``events`` table is the outbox; ``upload_batches`` holds frozen batches.

A row waits while ``sent_revision < revision`` and it is in no batch. Claiming a batch freezes
the wire events (and so the Idempotency-Key) and tags the rows with ``upload_batch``; only a
2xx sets ``sent_revision`` to the revision that was sent, so a revision bumped meanwhile stays
pending. Every change here is one ``BEGIN IMMEDIATE`` transaction: a kill at any point leaves
either the claim or nothing, and an unacked batch is simply sent again.

The partial index of waiting rows exists only while upload is configured (``track_waiting``,
``stop_tracking``): without upload nothing reads it, and every commit would write to it.
Every stored row still carries its revisions, so when upload is configured later the index
is built again and what is within ``retention_days`` is sent, as if it had waited all along.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from agenttail.store import Store
from agenttail.upload.exporters.base import Batch
from agenttail.upload.privacy import ProjectPolicy
from agenttail.upload.retry import FailureClass
from agenttail.upload.wire import COLUMNS, batch_id, encoded_size, wire_event

DAY_MS = 86_400_000
WAITING = "sent_revision < revision AND upload_batch IS NULL"
WAITING_INDEX = "events_outbox"
PRESSURE_LEVELS = ((0.5, "ok"), (0.8, "elevated"), (1.0, "high"))


@dataclass(frozen=True)
class Limits:
    max_events: int = 500
    max_bytes: int = 1_000_000
    retention_days: int = 30
    max_pending: int = 1_000_000


def _indexed(store: Store) -> bool:
    found = store.conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [WAITING_INDEX])
    return found.fetchone() is not None


def track_waiting(store: Store) -> None:
    """Index the waiting rows (one pass over the events, the first time upload runs)."""
    from agenttail.store.bulk import unfinished

    if _indexed(store):
        return
    with store.transaction():
        # A bulk load restores the indexes it found at its start: creating one now would make
        # its restore fail; its next flush creates the index after the load.
        if not unfinished(store.conn):
            store.conn.execute(
                f"CREATE INDEX IF NOT EXISTS {WAITING_INDEX} ON events (updated_at, event_id)"
                f" WHERE {WAITING}"
            )


def stop_tracking(store: Store) -> None:
    """Upload is not configured (any more): stop indexing rows nothing will send."""
    if _indexed(store):
        with store.transaction():
            store.conn.execute(f"DROP INDEX IF EXISTS {WAITING_INDEX}")


def pressure(pending: int, cap: int) -> str:
    ratio = pending / cap if cap else 0.0
    for bound, name in PRESSURE_LEVELS:
        if ratio < bound:
            return name
    return "saturated"


def _batch(row: dict[str, Any]) -> Batch:
    payload = orjson.loads(row["payload"])
    return Batch(
        batch_id=row["batch_id"],
        events=payload["events"],
        first_export=frozenset(payload["first_export"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        parts_done=frozenset(orjson.loads(row["parts_done"]) if row["parts_done"] else ()),
    )


class Outbox:
    """Outbox operations over one store connection."""

    def __init__(self, store: Store, policy: ProjectPolicy, send_git_branch: bool, limits: Limits):
        self.store = store
        self.conn = store.conn
        self.policy = policy
        self.send_git_branch = send_git_branch
        self.limits = limits

    def host_id(self) -> str:
        return str(self.conn.execute("SELECT host_id FROM upload_state").fetchone()[0])

    def _bump(self, **counters: int) -> None:
        sets = ", ".join(f"{name} = {name} + ?" for name in counters)
        self.conn.execute(f"UPDATE upload_state SET {sets}", list(counters.values()))

    # -- claiming ---------------------------------------------------------------------------

    def next_batch(self, now_ms: int) -> Batch | None:
        """The oldest unacked batch, else a new one claimed from the waiting rows."""
        row = self._pending_batch()
        if row is not None:
            return _batch(row)
        while True:
            with self.store.transaction():
                batch, settled = self._claim(now_ms)
            if batch is not None or not settled:
                return batch

    def _pending_batch(self) -> dict[str, Any] | None:
        rows = list(
            self.store.query(
                "SELECT * FROM upload_batches WHERE state = 'pending' ORDER BY created_at LIMIT 1"
            )
        )
        return rows[0] if rows else None

    def _claim(self, now_ms: int) -> tuple[Batch | None, int]:
        scan = self.limits.max_events * 2
        cursor = self.conn.execute(
            f"SELECT {', '.join(COLUMNS)} FROM events WHERE {WAITING} "
            "ORDER BY updated_at, event_id LIMIT ?",
            [scan],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
        filtered: list[str] = []
        superseded: list[str] = []
        events: list[dict[str, Any]] = []
        first: list[str] = []
        size = 0
        for row in rows:
            if not self.policy.allows(row["project"]):
                filtered.append(row["event_id"])
                continue
            if not row["counted"] and row["sent_revision"] == 0:
                superseded.append(row["event_id"])  # a copy the receiver never saw: skip it
                continue
            event = wire_event(row, self.policy, self.send_git_branch)
            grown = size + encoded_size(event)
            if events and (len(events) >= self.limits.max_events or grown > self.limits.max_bytes):
                break
            events.append(event)
            size = grown
            if row["sent_revision"] == 0:
                first.append(row["event_id"])
        settled = filtered + superseded
        if settled:
            self.conn.executemany(
                "UPDATE events SET sent_revision = revision WHERE event_id = ?",
                [(e,) for e in settled],
            )
            self._bump(filtered_events=len(filtered), skipped_superseded=len(superseded))
        if not events:
            return None, len(settled)
        return self._insert(events, first, now_ms), len(settled)

    def _insert(self, events: list[dict[str, Any]], first: list[str], now_ms: int) -> Batch:
        key = batch_id(events)
        payload = orjson.dumps({"events": events, "first_export": first})
        self.conn.execute(
            """INSERT OR IGNORE INTO upload_batches
               (batch_id, payload, event_count, payload_bytes, created_at)
               VALUES (?, ?, ?, ?, ?)""",
            [key, payload.decode(), len(events), len(payload), now_ms],
        )
        self.conn.executemany(
            "UPDATE events SET upload_batch = ? WHERE event_id = ?",
            [(key, e["event_id"]) for e in events],
        )
        return Batch(key, events, frozenset(first))

    # -- outcomes ---------------------------------------------------------------------------

    def _release(self, batch: Batch, settle: bool) -> None:
        """Take the batch's rows back; ``settle`` records the batch's revisions as done."""
        if settle:
            self.conn.executemany(
                """UPDATE events SET sent_revision = max(sent_revision, ?),
                       upload_batch = CASE WHEN upload_batch = ? THEN NULL ELSE upload_batch END
                   WHERE event_id = ?""",
                [(e["revision"], batch.batch_id, e["event_id"]) for e in batch.events],
            )
        else:
            self.conn.execute(
                "UPDATE events SET upload_batch = NULL WHERE upload_batch = ?", [batch.batch_id]
            )
        self.conn.execute("DELETE FROM upload_batches WHERE batch_id = ?", [batch.batch_id])

    def mark_sent(self, batch: Batch, now_ms: int) -> None:
        """Only after a 2xx: the sent revisions are done, later ones keep waiting."""
        with self.store.transaction():
            self._release(batch, settle=True)
            self.conn.execute(
                """UPDATE upload_state SET sent_events = sent_events + ?,
                       sent_batches = sent_batches + 1, last_success_at = ?""",
                [len(batch.events), now_ms],
            )

    def mark_part_done(self, batch: Batch, part: str) -> Batch:
        done = batch.parts_done | {part}
        with self.store.transaction():
            self.conn.execute(
                "UPDATE upload_batches SET parts_done = ? WHERE batch_id = ?",
                [orjson.dumps(sorted(done)).decode(), batch.batch_id],
            )
        return Batch(
            batch.batch_id,
            batch.events,
            batch.first_export,
            batch.attempts,
            batch.next_attempt_at,
            frozenset(done),
        )

    def _failure(self, failure: FailureClass | None, message: str, now_ms: int) -> None:
        if failure is not None:
            self._bump(**{f"failures_{failure.value}": 1})
        self.conn.execute(
            "UPDATE upload_state SET last_error = ?, last_error_class = ?, last_error_at = ?",
            [message[:500], None if failure is None else failure.value, now_ms],
        )

    def record_retry(
        self,
        batch: Batch,
        failure: FailureClass | None,
        message: str,
        retry_at_ms: int,
        now_ms: int,
    ) -> None:
        with self.store.transaction():
            self.conn.execute(
                """UPDATE upload_batches SET attempts = attempts + 1, next_attempt_at = ?,
                       last_error = ?, last_error_class = ? WHERE batch_id = ?""",
                [
                    retry_at_ms,
                    message[:500],
                    None if failure is None else failure.value,
                    batch.batch_id,
                ],
            )
            self._failure(failure, message, now_ms)

    def set_aside(
        self, batch: Batch, failure: FailureClass | None, reason: str, now_ms: int
    ) -> None:
        """A permanent refusal: keep the batch, out of the way, until --retry-set-aside."""
        with self.store.transaction():
            self.conn.execute(
                """UPDATE upload_batches SET state = 'set_aside', set_aside_reason = ?,
                       set_aside_at = ?, attempts = attempts + 1, last_error = ?,
                       last_error_class = ? WHERE batch_id = ?""",
                [
                    reason[:500],
                    now_ms,
                    reason[:500],
                    None if failure is None else failure.value,
                    batch.batch_id,
                ],
            )
            self._bump(set_aside_events_total=len(batch.events))
            self._failure(failure, reason, now_ms)

    def split(self, batch: Batch, now_ms: int) -> None:
        """413: replace the batch by its two halves (each with its own key)."""
        half = len(batch.events) // 2
        with self.store.transaction():
            self._release(batch, settle=False)
            for part in (batch.events[:half], batch.events[half:]):
                first = [e["event_id"] for e in part if e["event_id"] in batch.first_export]
                self._insert(part, first, now_ms)

    def retry_set_aside(self) -> int:
        """Put every set-aside batch back in line; returns how many."""
        with self.store.transaction():
            cursor = self.conn.execute(
                """UPDATE upload_batches SET state = 'pending', attempts = 0,
                       next_attempt_at = NULL, set_aside_reason = NULL, set_aside_at = NULL
                   WHERE state = 'set_aside'"""
            )
        return cursor.rowcount

    # -- bounds -----------------------------------------------------------------------------

    def apply_retention(self, now_ms: int) -> int:
        """Drop (never send) what waited longer than retention or overflows the cap."""
        cutoff = now_ms - self.limits.retention_days * DAY_MS
        dropped = 0
        with self.store.transaction():
            for row in list(
                self.store.query("SELECT * FROM upload_batches WHERE created_at < ?", [cutoff])
            ):
                batch = _batch(row)
                self._release(batch, settle=True)
                dropped += len(batch.events)
            dropped += self.conn.execute(
                f"""UPDATE events SET sent_revision = revision WHERE event_id IN (
                    SELECT event_id FROM events WHERE {WAITING} AND updated_at < ?)""",
                [cutoff],
            ).rowcount
            over = self._pending_count() - self.limits.max_pending
            if over > 0:
                dropped += self.conn.execute(
                    f"""UPDATE events SET sent_revision = revision WHERE event_id IN (
                        SELECT event_id FROM events WHERE {WAITING}
                        ORDER BY updated_at, event_id LIMIT ?)""",
                    [over],
                ).rowcount
            if dropped:
                self._bump(dropped_events=dropped)
                self.conn.execute("UPDATE upload_state SET last_drop_at = ?", [now_ms])
        return dropped

    def _pending_count(self) -> int:
        waiting = self.conn.execute(f"SELECT count(*) FROM events WHERE {WAITING}").fetchone()[0]
        batched = self.conn.execute(
            "SELECT coalesce(sum(event_count), 0) FROM upload_batches WHERE state = 'pending'"
        ).fetchone()[0]
        return int(waiting) + int(batched)

    def is_empty(self) -> bool:
        """Nothing waiting and nothing unacked (set-aside batches wait for a human)."""
        row = self.conn.execute(f"SELECT 1 FROM events WHERE {WAITING} LIMIT 1").fetchone()
        return row is None and self._pending_batch() is None


def upload_status(
    store: Store | None, now_ms: int, max_pending: int, *, configured: bool = True
) -> dict[str, Any]:
    """The ``upload`` section of ``status --json``. Without upload configured no row waits
    (nothing would send it; nor is there an index to count them by)."""
    if store is None or "upload_state" not in store.table_names():
        return {"pending_events": 0, "queue_pressure": "ok", "initialized": False}
    conn = store.conn
    state = next(iter(store.query("SELECT * FROM upload_state")))
    waiting, oldest = 0, None
    if configured:
        waiting, oldest = conn.execute(
            f"SELECT count(*), min(updated_at) FROM events WHERE {WAITING}"
        ).fetchone()
    batches: dict[str, dict[str, Any]] = {
        r["state"]: r
        for r in store.query(
            """SELECT state, count(*) AS batches, sum(event_count) AS events,
                      min(created_at) AS oldest, min(next_attempt_at) AS next_attempt_at
               FROM upload_batches GROUP BY state"""
        )
    }
    inflight = batches.get("pending", {})
    aside = batches.get("set_aside", {})
    pending = int(waiting) + int(inflight.get("events") or 0)
    oldest_ms = min([t for t in (oldest, inflight.get("oldest")) if t is not None], default=None)
    reasons = [
        {
            "batch_id": r["batch_id"],
            "events": r["event_count"],
            "reason": r["set_aside_reason"],
            "at": r["set_aside_at"],
        }
        for r in store.query(
            """SELECT batch_id, event_count, set_aside_reason, set_aside_at FROM upload_batches
               WHERE state = 'set_aside' ORDER BY set_aside_at DESC LIMIT 10"""
        )
    ]
    return {
        "initialized": True,
        "pending_events": pending,
        "inflight_batches": int(inflight.get("batches") or 0),
        "sent_events": state["sent_events"],
        "sent_batches": state["sent_batches"],
        "set_aside_batches": int(aside.get("batches") or 0),
        "set_aside_events": int(aside.get("events") or 0),
        "set_aside": reasons,
        "oldest_pending_age_seconds": None if oldest_ms is None else (now_ms - oldest_ms) / 1000,
        "queue_pressure": pressure(pending, max_pending),
        "max_pending_events": max_pending,
        "next_attempt_at": inflight.get("next_attempt_at"),
        "last_success_at": state["last_success_at"],
        "last_error": state["last_error"],
        "last_error_class": state["last_error_class"],
        "last_error_at": state["last_error_at"],
        "failures": {c.value: state[f"failures_{c.value}"] for c in FailureClass},
        "dropped_events": state["dropped_events"],
        "last_drop_at": state["last_drop_at"],
        "filtered_events": state["filtered_events"],
        "skipped_superseded": state["skipped_superseded"],
    }
