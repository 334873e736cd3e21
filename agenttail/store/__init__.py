"""The local SQLite store: stream watermarks (``sessions``) and metric events (``events``).

One connection per thread. A batch's new events and the watermark that covers them commit in
one ``BEGIN IMMEDIATE`` transaction (design invariant 1), so a kill at any instant loses
nothing and re-reading the same bytes never adds a second event.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from agenttail.agents.base import StreamRef, StreamState
from agenttail.errors import EX_CANTCREAT, EX_IOERR, EX_TEMPFAIL, StoreError
from agenttail.events import TOKEN_FIELDS, MetricEvent
from agenttail.readers.base import ReadResult

if TYPE_CHECKING:
    from sqlite_utils import Database

# Names of every schema migration (store/migrations.py), in order; a test keeps them equal.
MIGRATION_NAMES = (
    "m001_sessions_and_events",
    "m002_usage_rollup",
    "m003_upload_outbox",
    "m003_dedup_precedence_index",
    "m004_drop_unused_indexes",
    "m005_event_schema_v2",
)

BUSY_TIMEOUT_S = 10.0
WAL_CHECKPOINT_PAGES = 8192

_EVENT_COLUMNS = (
    "event_id",
    "kind",
    "agent",
    "session_id",
    "run_id",
    "project",
    "model",
    "ts_ms",
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
    "precedence",
    "seq",
    "source_path",
    "attrs",
    "updated_at",
)
_REPLACED = [c for c in _EVENT_COLUMNS if c != "event_id"]


def _rank(row: str) -> str:
    return (
        f"({row}.precedence, {row}.seq, {row}.total_tokens, {row}.output_tokens,"
        f" COALESCE({row}.cost_nusd, 0))"
    )


# A copy replaces the stored one when it ranks higher: a higher precedence (a main-chain copy
# beats a sidechain replay), then a later copy (seq: "last copy wins" sources), then a larger
# (total, output, cost): streaming snapshots only grow. MetricEvent.rank is the same order.
_UPSERT_EVENT = f"""
INSERT INTO events ({", ".join(_EVENT_COLUMNS)})
VALUES ({", ".join(f":{c}" for c in _EVENT_COLUMNS)})
ON CONFLICT (event_id) DO UPDATE SET
    {", ".join(f"{c} = excluded.{c}" for c in _REPLACED)},
    revision = events.revision + 1
WHERE {_rank("excluded")} > {_rank("events")}
"""

# Within a dedup group (copies of one thing from different places: a sidechain replay of a
# main-chain message, a session's tokens from a transcript and from a trace database) only the
# rows of the highest precedence count.
_GROUP_MAX = "(SELECT max(g.precedence) FROM events AS g WHERE g.dedup_key = events.dedup_key)"
_RECOUNT_DEDUP_KEY = f"""
UPDATE events
SET counted = (precedence >= {_GROUP_MAX}), revision = revision + 1
WHERE dedup_key = ? AND counted != (precedence >= {_GROUP_MAX})
"""


@dataclass(frozen=True, slots=True)
class FileStat:
    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: Path) -> FileStat:
        st = path.stat()
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@dataclass(frozen=True, slots=True)
class SessionRow:
    """What the store knows about one stream."""

    session_id: str
    stream: str
    path: str
    agent: str
    watermark_kind: str
    watermark: str | None
    state: dict[str, Any]
    file_stat: FileStat | None
    error_count: int
    next_retry_at: int | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SessionRow:
        stat = None
        if row["file_ino"] is not None:
            stat = FileStat(
                row["file_dev"], row["file_ino"], row["file_size"], row["file_mtime_ns"]
            )
        return cls(
            session_id=row["session_id"],
            stream=row["stream"],
            path=row["path"],
            agent=row["agent"],
            watermark_kind=row["watermark_kind"],
            watermark=row["watermark"],
            state=orjson.loads(row["state"]) if row["state"] else {},
            file_stat=stat,
            error_count=row["error_count"],
            next_retry_at=row["next_retry_at"],
        )


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """A corrupt or foreign file, as opposed to a busy or locked database."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def store_problem(exc: sqlite3.Error, path: Path) -> StoreError:
    """What a failed store operation means for the user, and what to do about it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = f"the state database {path}"
    if isinstance(exc, sqlite3.DatabaseError) and is_damage(exc):
        return StoreError(
            f"{where} is damaged ({exc})",
            "the next `agenttail scan` or daemon start moves it aside and reads every session "
            "again",
            path=path,
        )
    if name.startswith("SQLITE_READONLY") or name.startswith("SQLITE_CANTOPEN"):
        return StoreError(
            f"{where} cannot be written ({exc})",
            f"make it and its folder writable (chmod u+w {path} {path.parent}), or point "
            "AGENTTAIL_HOME at a writable folder",
            path=path,
            exit_code=EX_CANTCREAT,
        )
    if name == "SQLITE_FULL" or name.startswith("SQLITE_IOERR"):
        return StoreError(
            f"{where} could not be written: {'the disk is full' if name == 'SQLITE_FULL' else exc}",
            "free some space and run the command again; nothing read so far is lost",
            path=path,
            exit_code=EX_IOERR,
        )
    if name.startswith("SQLITE_BUSY") or name.startswith("SQLITE_LOCKED"):
        return StoreError(
            f"{where} is locked by another process",
            "try again in a moment (`agenttail doctor` names a running daemon)",
            path=path,
            exit_code=EX_TEMPFAIL,
        )
    return StoreError(f"{where} failed: {exc}", path=path)


def empty_store(path: Path) -> StoreError:
    """A 0-byte database file: something truncated it, so it is treated as damaged."""
    return StoreError(
        f"the state database {path} is empty (0 bytes): it is damaged",
        "the next `agenttail scan` or daemon start rebuilds it from the agents' session files",
        path=path,
    )


def quarantine(path: Path) -> Path:
    """Move a damaged database (and its WAL files) aside, keeping it for inspection."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(f"{path}{suffix}")
        if part.exists():
            part.rename(Path(f"{target}{suffix}"))
    return target


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if readonly:
        conn = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S
        )
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
    conn.isolation_level = None  # transactions are explicit: see Store.transaction
    return conn


class Store:
    """One connection to the store. Not shared between threads."""

    def __init__(self, path: Path, *, readonly: bool = False) -> None:
        self.path = path
        self.readonly = readonly
        self.conn = _connect(path, readonly)
        self._db: Database | None = None
        if not readonly:
            from agenttail.store.migrations import migrations

            self.db.execute("PRAGMA synchronous = NORMAL")
            # Checkpoint (and fsync) every ~32 MB of WAL rather than every 4 MB: during a
            # cold scan the default made commits the largest cost.
            self.db.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
            self.db.execute(f"PRAGMA journal_size_limit = {64 * 1024 * 1024}")
            if self.db.journal_mode != "wal":
                self.db.enable_wal()
            migrations.apply(self.db)

    @classmethod
    def ensure_schema(cls, path: Path) -> None:
        """Apply pending migrations, opening a writer only when something is pending.

        A writer's close checkpoints and removes the WAL, which costs tens of milliseconds
        that a no-op scan should not pay. A store its user cannot write is refused here, before
        any stream is read, rather than failing every stream.
        """
        if path.exists() and not os.access(path, os.W_OK):
            raise StoreError(
                f"the state database {path} is read-only",
                f"make it writable (chmod u+w {path}), or point AGENTTAIL_HOME at another folder",
                path=path,
                exit_code=EX_CANTCREAT,
            )
        if path.exists():
            try:
                with cls(path, readonly=True) as store:
                    rows = store.query(
                        "SELECT name FROM _sqlite_migrations WHERE migration_set = 'agenttail'"
                    )
                    applied = {row["name"] for row in rows}
            except sqlite3.Error:
                applied = set()
            if applied >= set(MIGRATION_NAMES):
                return
        try:
            cls(path).close()
        except sqlite3.DatabaseError as exc:
            if not is_damage(exc):
                raise
            import structlog  # only here: report and status never import it

            moved = quarantine(path)
            structlog.stdlib.get_logger(__name__).error(
                "store_damaged_rebuilding",
                database=str(path),
                moved_to=str(moved),
                error=str(exc),
                hint="every stream is read again from the agents' files",
            )
            cls(path).close()

    @property
    def db(self) -> Database:
        """sqlite-utils over the same connection, for writers (readers use ``query``)."""
        if self._db is None:
            from sqlite_utils import Database

            self._db = Database(self.conn, execute_plugins=False)
        return self._db

    def query(self, sql: str, params: Sequence[Any] = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts, without importing sqlite-utils (keeps report start-up short)."""
        cursor = self.conn.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        for row in cursor:
            yield dict(zip(names, row, strict=True))

    def table_names(self) -> list[str]:
        return [r["name"] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- sessions ---------------------------------------------------------------------------

    def sessions(self) -> dict[tuple[str, str], SessionRow]:
        """Every tracked stream keyed like the task queue: (path, stream).

        For the sweep: stats and retry state only; watermark and state are left out (read per
        stream by ``session``), so a sweep over thousands of streams parses no JSON.
        """
        rows = self.query(
            "SELECT session_id, stream, path, agent, watermark_kind, NULL AS watermark,"
            " NULL AS state, file_dev, file_ino, file_size, file_mtime_ns, error_count,"
            " next_retry_at FROM sessions"
        )
        return {(r["path"], r["stream"]): SessionRow.from_row(r) for r in rows}

    def session(self, ref: StreamRef) -> SessionRow | None:
        rows = list(
            self.query(
                "SELECT * FROM sessions WHERE session_id = ? AND stream = ? AND path = ?",
                [ref.session_id, ref.kind, ref.path_text],
            )
        )
        return SessionRow.from_row(rows[0]) if rows else None

    def _ensure_session(self, ref: StreamRef, now_ms: int) -> None:
        self.conn.execute(
            """INSERT INTO sessions (session_id, stream, path, agent, shared, watermark_kind,
                                     first_seen_at)
               VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING""",
            [
                ref.session_id,
                ref.kind,
                ref.path_text,
                ref.agent,
                int(ref.spec.shared),
                ref.spec.watermark_kind,
                now_ms,
            ],
        )

    def commit_batch(
        self,
        ref: StreamRef,
        events: Sequence[MetricEvent],
        result: ReadResult,
        state: StreamState,
        stat: FileStat | None,
        now_ms: int,
    ) -> None:
        """Store a batch's events and advance the stream's watermark, atomically."""
        with self.transaction():
            self._ensure_session(ref, now_ms)
            self._upsert_events(events, ref, now_ms)
            self.conn.execute(
                """UPDATE sessions SET
                       watermark = ?, position = ?, state = ?,
                       file_dev = ?, file_ino = ?, file_size = ?, file_mtime_ns = ?,
                       records_total = records_total + ?, events_total = events_total + ?,
                       malformed_total = malformed_total + ?,
                       invalid_utf8_total = invalid_utf8_total + ?,
                       oversized_total = oversized_total + ?,
                       resets_total = resets_total + ?,
                       error_count = 0, next_retry_at = NULL, last_processed_at = ?
                   WHERE session_id = ? AND stream = ? AND path = ?""",
                [
                    result.watermark.to_string(),
                    getattr(result.watermark, "offset", 0),
                    orjson.dumps(state.data).decode(),
                    None if stat is None else stat.dev,
                    None if stat is None else stat.ino,
                    None if stat is None else stat.size,
                    None if stat is None else stat.mtime_ns,
                    len(result.records),
                    len(events),
                    result.malformed,
                    result.invalid_utf8,
                    result.oversized,
                    int(result.reset),
                    now_ms,
                    ref.session_id,
                    ref.kind,
                    ref.path_text,
                ],
            )

    def mark_unchanged(self, ref: StreamRef, stat: FileStat, now_ms: int) -> None:
        """Remember a stat that produced nothing new, so the sweep stops re-queueing it."""
        with self.transaction():
            self._ensure_session(ref, now_ms)
            self.conn.execute(
                """UPDATE sessions SET file_dev = ?, file_ino = ?, file_size = ?,
                       file_mtime_ns = ?, last_processed_at = ?
                   WHERE session_id = ? AND stream = ? AND path = ?""",
                [
                    stat.dev,
                    stat.ino,
                    stat.size,
                    stat.mtime_ns,
                    now_ms,
                    ref.session_id,
                    ref.kind,
                    ref.path_text,
                ],
            )

    def record_failure(self, ref: StreamRef, error: str, now_ms: int, retry_at_ms: int) -> int:
        """Count a failed attempt; returns the consecutive failure count."""
        with self.transaction():
            self._ensure_session(ref, now_ms)
            self.conn.execute(
                """UPDATE sessions SET error_count = error_count + 1,
                       errors_total = errors_total + 1, last_error = ?, last_error_at = ?,
                       next_retry_at = ?
                   WHERE session_id = ? AND stream = ? AND path = ?""",
                [error[:2000], now_ms, retry_at_ms, ref.session_id, ref.kind, ref.path_text],
            )
            row = self.conn.execute(
                "SELECT error_count FROM sessions WHERE session_id = ? AND stream = ? AND path = ?",
                [ref.session_id, ref.kind, ref.path_text],
            ).fetchone()
        return int(row[0])

    # -- events -----------------------------------------------------------------------------

    def _upsert_events(self, events: Sequence[MetricEvent], ref: StreamRef, now_ms: int) -> None:
        if not events:
            return
        merged: dict[str, MetricEvent] = {}
        for event in events:
            known = merged.get(event.event_id)
            if known is None or event.outranks(known):
                merged[event.event_id] = event
        source = ref.path_text
        self.conn.executemany(
            _UPSERT_EVENT, [_event_row(e, source, now_ms) for e in merged.values()]
        )
        keys = {(e.dedup_key,) for e in merged.values() if e.dedup_key is not None}
        if keys:
            self.conn.executemany(_RECOUNT_DEDUP_KEY, sorted(keys))

    def events_total(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM events WHERE counted = 1").fetchone()
        return int(row[0])

    # -- status -----------------------------------------------------------------------------

    def stream_rows(self) -> Iterator[dict[str, Any]]:
        """Every tracked stream with its counters, ordered by agent and path (for status)."""
        return self.query("SELECT * FROM sessions ORDER BY agent, path, stream")

    def counted_events_by_kind(self) -> dict[str, int]:
        rows = self.query("SELECT kind, count(*) AS n FROM events WHERE counted = 1 GROUP BY kind")
        return {row["kind"]: row["n"] for row in rows}

    def agent_activity(self) -> dict[str, tuple[int, int | None]]:
        """Per agent: counted events and the time of the latest one (epoch ms)."""
        rows = self.query(
            "SELECT agent, count(*) AS n, max(ts_ms) AS last_ms FROM events WHERE counted = 1"
            " GROUP BY agent"
        )
        return {row["agent"]: (row["n"], row["last_ms"]) for row in rows}


def _event_row(event: MetricEvent, source: str, now_ms: int) -> dict[str, Any]:
    """The event's row, by column name."""
    row: dict[str, Any] = {
        "event_id": event.event_id,
        "kind": str(event.kind),
        "agent": event.agent,
        "session_id": event.session_id,
        "run_id": event.run_id,
        "project": event.project,
        "model": event.model,
        "ts_ms": event.ts_ms,
        "total_tokens": event.total_tokens,
        "cost_nusd": event.cost_nusd,
        "recorded_cost_nusd": event.recorded_cost_nusd,
        "tokens_known": int(event.tokens_known),
        "estimated": int(event.estimated),
        "tool_name": event.tool_name,
        "ok": None if event.ok is None else int(event.ok),
        "duration_ms": event.duration_ms,
        "ttft_ms": event.ttft_ms,
        "context_tokens": event.context_tokens,
        "history_len": event.history_len,
        "error_class": event.error_class,
        "dedup_key": event.dedup_key,
        "is_sidechain": int(event.is_sidechain),
        "precedence": event.precedence,
        "seq": event.seq,
        "source_path": source,
        "attrs": orjson.dumps(event.attrs).decode() if event.attrs else None,
        "updated_at": now_ms,
    }
    for name in TOKEN_FIELDS:
        row[name] = getattr(event, name)
    return row
