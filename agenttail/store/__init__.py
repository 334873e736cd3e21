"""The local SQLite store: one connection, its transactions, its schema.

Stream state (watermarks, per-stream state: ``streams.py``) is kept apart from the metric
events (``events.py``); ``analytics.py`` answers every report query. SQL lives only in this
package.

One connection per thread. A batch's new events and the watermark that covers them commit in
one ``BEGIN IMMEDIATE`` transaction (design invariant 1), so a kill at any instant loses
nothing and re-reading the same bytes never adds a second event.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agenttail.errors import EX_CANTCREAT, EX_IOERR, EX_TEMPFAIL, StoreError
from agenttail.store.rows import Params, rows

if TYPE_CHECKING:
    from sqlite_utils import Database

    from agenttail.agents.base import DiscoveryProblem, StreamRef, StreamState
    from agenttail.events import MetricEvent
    from agenttail.paths import AppPaths
    from agenttail.readers.base import ReadResult
    from agenttail.store.bulk import BulkLoad
    from agenttail.store.streams import FileStat, SessionRow, StreamStates

# Read through the partial index events_unknown_tokens (migration m008): no scan of all events.
UNKNOWN_TOKEN_REQUESTS = (
    "SELECT agent, source_path, count(*) AS n FROM events WHERE tokens_known = 0"
    " AND kind = 'llm_request' AND counted = 1 GROUP BY agent, source_path"
)
# An agent's declaration, kept with its batches so reports read it without loading plugins.
_AGENT_TOKENS = (
    "INSERT INTO agent_tokens (agent, tokens_recorded) VALUES (?, ?) ON CONFLICT (agent)"
    " DO UPDATE SET tokens_recorded = excluded.tokens_recorded"
    " WHERE tokens_recorded != excluded.tokens_recorded"
)
BUSY_TIMEOUT_S = 10.0
WAL_CHECKPOINT_PAGES = 8192
# The running daemon checkpoints every ~4 MB of WAL and truncates the WAL back to that size:
# a small state volume should not hold a 32 MB WAL beside a 3 MB database.
STEADY_CHECKPOINT_PAGES = 1000
BULK_COMMIT_S = 1.0  # a bulk load commits about once a second
BULK_CACHE_KIB = 32 * 1024


# SQLite's codes for a write that found no space: the -shm file is grown by writing to it, and
# a full filesystem fails that as SQLITE_IOERR_SHMSIZE, not SQLITE_FULL.
_FULL = ("SQLITE_FULL", "SQLITE_IOERR_SHMSIZE")


def is_full(exc: sqlite3.Error) -> bool:
    """SQLite met a full disk (or quota)."""
    return getattr(exc, "sqlite_errorname", "") in _FULL


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """A corrupt or foreign file, as opposed to a busy or locked database."""
    return getattr(exc, "sqlite_errorname", "") in ("SQLITE_NOTADB", "SQLITE_CORRUPT")


def store_problem(exc: sqlite3.Error, path: Path) -> StoreError:
    """What a failed store operation means for the user, and what to do about it."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    where = f"the state database {path}"
    if str(exc).startswith("no such table"):  # a reader newer than the store's schema
        return StoreError(
            f"{where} has an older schema than this agenttail ({exc})",
            "run `agenttail scan` (or restart the daemon) to upgrade it; nothing is lost",
            path=path,
        )
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
    if is_full(exc) or name.startswith("SQLITE_IOERR"):
        return StoreError(
            f"{where} could not be written: {'the disk is full' if is_full(exc) else exc}",
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


def open_readonly(paths: AppPaths) -> Store | None:
    """A read-only store for reports, or None before the first scan."""
    paths.check_readable()
    try:
        size = paths.database.stat().st_size
    except FileNotFoundError:
        return None
    if size == 0:
        raise empty_store(paths.database)
    return Store(paths.database, readonly=True)


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


@contextmanager
def _schema_lock(path: Path) -> Iterator[None]:
    """One process at a time migrates: two ``scan``s started together on a new store would
    otherwise both add the same column (sqlite-utils checks, then alters, outside one lock)."""
    fd = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # drops the lock


class Store:
    """One connection to the store. Not shared between threads.

    ``bulk``: a connection that loads a new store during a ``BulkLoad``; it writes without
    waiting for the disk (``synchronous = OFF``), since a load that dies is read again, and
    groups its transactions (see ``transaction``).
    ``checkpoint_pages``: WAL pages between automatic checkpoints (the daemon passes
    STEADY_CHECKPOINT_PAGES); after a checkpoint the WAL is cut back to that size.
    """

    def __init__(
        self,
        path: Path,
        *,
        readonly: bool = False,
        bulk: bool = False,
        checkpoint_pages: int = WAL_CHECKPOINT_PAGES,
    ) -> None:
        self.path = path
        self.readonly = readonly
        self.conn = _connect(path, readonly)
        self._db: Database | None = None
        self.bulk = bulk and not readonly
        self._group_started = 0.0
        if self.bulk:  # the index pages a new store's inserts touch stay in memory
            self.conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
        if not readonly:
            self.conn.execute(f"PRAGMA synchronous = {'OFF' if bulk else 'NORMAL'}")
            # A batch inside the daemon's commit group is a savepoint; its journal stays in
            # memory instead of a temporary file written and deleted for every batch.
            self.conn.execute("PRAGMA temp_store = MEMORY")
            # By default checkpoint (and fsync) every ~32 MB of WAL rather than every 4 MB:
            # during a cold scan the default made commits the largest cost.
            self.conn.execute(f"PRAGMA wal_autocheckpoint = {checkpoint_pages}")
            self.conn.execute(f"PRAGMA journal_size_limit = {checkpoint_pages * 4096}")
            with _schema_lock(path):
                if self.conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                    self.conn.execute("PRAGMA journal_mode = wal")
                if not self.schema_current():
                    from agenttail.store.migrations import migrations

                    migrations.apply(self.db)
                from agenttail.store.bulk import repair_abandoned

                repair_abandoned(self.conn, path)

    def schema_current(self) -> bool:
        """Whether every migration is applied (read with plain SQL: no sqlite-utils)."""
        from agenttail.store.migrations import MIGRATION_NAMES

        try:
            rows = self.query(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = 'agenttail'"
            )
            applied = {row["name"] for row in rows}
        except sqlite3.OperationalError:  # no migrations table yet: a new store
            return False
        return applied >= set(MIGRATION_NAMES)

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
            from agenttail.store.bulk import unfinished

            try:
                with cls(path, readonly=True) as store:
                    current = store.schema_current() and not unfinished(store.conn)
            except sqlite3.Error:
                current = False
            if current:
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

    def query(self, sql: str, params: Params = ()) -> Iterator[dict[str, Any]]:
        """Rows as dicts, without importing sqlite-utils (keeps report start-up short)."""
        return rows(self.conn, sql, params)

    def data_version(self) -> int:
        """A number that changes whenever another connection commits to the store (SQLite's
        ``PRAGMA data_version``): a live view polls it without reading any table."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def table_names(self) -> list[str]:
        return [r["name"] for r in self.query("SELECT name FROM sqlite_master WHERE type='table'")]

    def close(self) -> None:
        try:
            if self.bulk:
                self.commit_group()
        finally:
            self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction that takes the write lock up front (no upgrade deadlocks).

        Inside an open transaction (the daemon's commit group) it is a savepoint instead: a
        failing batch rolls back alone and the group commits the others. A bulk connection
        opens such a group itself and commits it every ``BULK_COMMIT_S`` (and at close), so a
        cold scan does not commit (rewriting the same index pages) once per small file.
        """
        if self.bulk and not self.conn.in_transaction:
            self.begin_group()
            self._group_started = time.monotonic()
        if self.conn.in_transaction:
            self.conn.execute("SAVEPOINT batch")
            try:
                yield
            except BaseException:
                if self.conn.in_transaction:  # SQLite may have rolled the whole group back
                    self.conn.execute("ROLLBACK TO batch")
                    self.conn.execute("RELEASE batch")
                raise
            self.conn.execute("RELEASE batch")
            if self.bulk and time.monotonic() - self._group_started >= BULK_COMMIT_S:
                self.commit_group()
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def begin_bulk_load(self) -> BulkLoad | None:
        """Load a new store without trigger and index work (``store/bulk.py``); None when the
        store already holds events or another process is loading it."""
        from agenttail.store.bulk import BulkLoad

        return BulkLoad.begin(self.conn, self.path)

    def begin_group(self) -> None:
        """Open a commit group: the batches stored until ``commit_group`` commit together."""
        self.conn.execute("BEGIN IMMEDIATE")

    def commit_group(self) -> bool:
        """Commit the open group; False when SQLite already rolled it back (a full disk)."""
        if not self.conn.in_transaction:
            return False
        try:
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        return True

    def rollback_group(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    def checkpoint(self) -> bool:
        """Copy the WAL into the database and cut it to 0 bytes (the daemon, when idle), waiting
        at most 0.1 s for readers; False when a reader kept it (the next idle moment retries).

        Skipped when the disk has less than twice the WAL free: the copy could grow the
        database by that much, and on a nearly full disk it would take the last free space
        while both copies exist (SQLite's own autocheckpoint still runs while writing).
        """
        try:
            wal = self.path.with_name(f"{self.path.name}-wal").stat().st_size
            disk = os.statvfs(self.path.parent)
        except OSError:
            return False
        if disk.f_bavail * disk.f_frsize < 2 * wal:
            return False
        self.conn.execute("PRAGMA busy_timeout = 100")
        try:
            busy = self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return bool(busy == 0)

    # -- stream state (store/streams.py) and events (store/events.py) -----------------------

    @property
    def streams(self) -> StreamStates:
        from agenttail.store.streams import StreamStates

        return StreamStates(self.conn)

    def sessions(self) -> dict[tuple[str, str], SessionRow]:
        """Every tracked stream keyed like the task queue: (path, stream)."""
        return self.streams.all()

    def session(self, ref: StreamRef) -> SessionRow | None:
        return self.streams.get(ref)

    def commit_batch(
        self,
        ref: StreamRef,
        events: Sequence[MetricEvent],
        result: ReadResult,
        state: StreamState,
        stat: FileStat | None,
        now_ms: int,
        invalid: Sequence[str] = (),
        *,
        tokens_recorded: bool = True,
    ) -> None:
        """Store a batch's events and advance the stream's watermark, atomically.

        ``invalid`` holds one reason per event skipped as out of range (counted, the latest
        reason kept); ``result.notes`` become the stream's current ``notice``.
        ``tokens_recorded`` is the agent's declaration (reports say when it is False).
        """
        from agenttail.store.events import upsert_events

        with self.transaction():
            self.streams.ensure(ref, now_ms)
            self.conn.execute(_AGENT_TOKENS, (ref.agent, int(tokens_recorded)))
            upsert_events(self.conn, events, ref.path_text, now_ms)
            self.streams.advance(ref, result, state, stat, len(events), now_ms, invalid)

    def mark_unchanged(self, ref: StreamRef, stat: FileStat, now_ms: int) -> None:
        """Remember a stat that produced nothing new, so the sweep stops re-queueing it."""
        with self.transaction():
            self.streams.ensure(ref, now_ms)
            self.streams.mark_unchanged(ref, stat, now_ms)

    def record_failure(self, ref: StreamRef, error: str, now_ms: int, retry_at_ms: int) -> int:
        """Count a failed attempt; returns the consecutive failure count."""
        with self.transaction():
            self.streams.ensure(ref, now_ms)
            return self.streams.record_failure(ref, error, now_ms, retry_at_ms)

    def events_total(self) -> int:
        from agenttail.store.events import counted_events

        return counted_events(self.conn)

    def holds_events(self) -> bool:
        """Whether any event is stored (a store without one is loaded in bulk)."""
        return self.conn.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None

    # -- status -----------------------------------------------------------------------------

    def stream_rows(self) -> Iterator[dict[str, Any]]:
        """Every tracked stream with its counters, ordered by agent and path (for status)."""
        return self.query("SELECT * FROM sessions ORDER BY agent, path, stream")

    def counted_events_by_kind(self) -> dict[str, int]:
        rows = self.query("SELECT kind, count(*) AS n FROM events WHERE counted = 1 GROUP BY kind")
        return {row["kind"]: row["n"] for row in rows}

    def unknown_token_requests(self) -> dict[str, dict[str, int]]:
        """Per agent and source file: counted requests whose source recorded no tokens."""
        rows = self.query(UNKNOWN_TOKEN_REQUESTS)
        found: dict[str, dict[str, int]] = {}
        for row in rows:
            found.setdefault(row["agent"], {})[row["source_path"] or ""] = row["n"]
        return found

    def discovery_problems(self) -> list[DiscoveryProblem]:
        """The folders the last sweep could not read."""
        from agenttail.agents.base import DiscoveryProblem

        rows = self.query("SELECT agent, path, error FROM discovery_problems ORDER BY agent, path")
        return [DiscoveryProblem(r["agent"], r["path"], r["error"]) for r in rows]

    def replace_discovery_problems(self, problems: Sequence[DiscoveryProblem], now_ms: int) -> None:
        """Record what the last sweep could not read (earlier folders that recovered go)."""
        with self.transaction():
            self.conn.execute("DELETE FROM discovery_problems")
            self.conn.executemany(
                "INSERT OR REPLACE INTO discovery_problems (agent, path, error, seen_at)"
                " VALUES (:agent, :path, :error, :seen_at)",
                [
                    {"agent": p.agent, "path": p.path, "error": p.error, "seen_at": now_ms}
                    for p in problems
                ],
            )

    def agent_activity(self) -> dict[str, tuple[int, int | None]]:
        """Per agent: counted events and the time of the latest one (epoch ms)."""
        rows = self.query(
            "SELECT agent, count(*) AS n, max(ts_ms) AS last_ms FROM events WHERE counted = 1"
            " GROUP BY agent"
        )
        return {row["agent"]: (row["n"], row["last_ms"]) for row in rows}

    def agent_sessions(self) -> dict[str, set[str]]:
        """Per agent: the ids of the sessions it has events for (for doctor)."""
        sessions: dict[str, set[str]] = {}
        for row in self.query("SELECT DISTINCT agent, session_id FROM events"):
            sessions.setdefault(row["agent"], set()).add(row["session_id"])
        return sessions

    def known_projects(self) -> list[str]:
        """Every project folder a session was seen in (any agent), from the session rollup:
        agents that keep their files inside projects (Aider) look there."""
        from agenttail.store.sweep_manifest import KNOWN_PROJECTS_SQL

        return [row["project"] for row in self.query(KNOWN_PROJECTS_SQL)]

    def agent_request_quality(self) -> dict[str, dict[str, int]]:
        """Per agent: counted requests whose tokens were measured, estimated, or not recorded."""
        rows = self.query(
            "SELECT agent,"
            " sum(estimated = 0 AND tokens_known = 1) AS measured,"
            " sum(estimated = 1) AS estimated,"
            " sum(tokens_known = 0) AS unknown"
            " FROM events WHERE counted = 1 AND kind = 'llm_request' GROUP BY agent"
        )
        return {
            row["agent"]: {k: int(row[k] or 0) for k in ("measured", "estimated", "unknown")}
            for row in rows
        }


__all__ = ["FileStat", "SessionRow", "Store", "is_damage", "quarantine", "store_problem"]


def __getattr__(name: str) -> Any:
    """The stream-state types, loaded when first asked for: a read-only open (report, status
    line) never imports the writers' modules."""
    if name in ("FileStat", "SessionRow"):
        from agenttail.store import streams

        return getattr(streams, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
