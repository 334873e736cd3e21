"""Versioned schema migrations, applied in order and recorded in ``_sqlite_migrations``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sqlite_utils import Database, Migrations

Migration = Callable[["Database"], None]

# Every migration, in order: filled by ``@migration`` below, so a name is written once (the
# function's), and ``Store`` knows what "up to date" means without importing sqlite-utils.
MIGRATIONS: list[Migration] = []
MIGRATION_NAMES: list[str] = []


def migration(func: Migration) -> Migration:
    """Register ``func`` as the next migration, under its own name."""
    MIGRATIONS.append(func)
    MIGRATION_NAMES.append(func.__name__)
    return func


class _Migrations:
    """sqlite-utils' migration set, built only when something is applied: a no-op ``scan``
    on an up-to-date store never imports sqlite-utils (~45 ms of start-up)."""

    def apply(self, db: Database, *, stop_before: str | None = None) -> None:
        self._built().apply(db, stop_before=stop_before)

    def applied(self, db: Database) -> list[Migrations._AppliedMigration]:
        return self._built().applied(db)

    @staticmethod
    def _built() -> Migrations:
        from sqlite_utils import Migrations

        built = Migrations("agenttail")
        for func in MIGRATIONS:
            built()(func)
        return built


migrations = _Migrations()


@migration
def m001_sessions_and_events(db: Database) -> None:
    db.execute(
        """
        CREATE TABLE sessions (
            session_id TEXT NOT NULL,
            stream TEXT NOT NULL,
            path TEXT NOT NULL,
            agent TEXT NOT NULL,
            shared INTEGER NOT NULL DEFAULT 0,
            watermark_kind TEXT NOT NULL,
            watermark TEXT,
            position INTEGER NOT NULL DEFAULT 0,
            state TEXT,
            file_dev INTEGER,
            file_ino INTEGER,
            file_size INTEGER,
            file_mtime_ns INTEGER,
            records_total INTEGER NOT NULL DEFAULT 0,
            events_total INTEGER NOT NULL DEFAULT 0,
            malformed_total INTEGER NOT NULL DEFAULT 0,
            invalid_utf8_total INTEGER NOT NULL DEFAULT 0,
            oversized_total INTEGER NOT NULL DEFAULT 0,
            resets_total INTEGER NOT NULL DEFAULT 0,
            error_count INTEGER NOT NULL DEFAULT 0,
            errors_total INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            last_error_at INTEGER,
            next_retry_at INTEGER,
            first_seen_at INTEGER NOT NULL,
            last_processed_at INTEGER,
            PRIMARY KEY (session_id, stream, path)
        )
        """
    )
    db.execute("CREATE INDEX sessions_path ON sessions (path, stream)")
    db.execute(
        """
        CREATE TABLE events (
            event_id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            agent TEXT NOT NULL,
            session_id TEXT NOT NULL,
            run_id TEXT,
            project TEXT,
            model TEXT,
            ts_ms INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_5m_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_1h_tokens INTEGER NOT NULL DEFAULT 0,
            reasoning_tokens INTEGER NOT NULL DEFAULT 0,
            total_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL,
            tool_name TEXT,
            ok INTEGER,
            duration_ms REAL,
            dedup_key TEXT,
            is_sidechain INTEGER NOT NULL DEFAULT 0,
            precedence INTEGER NOT NULL DEFAULT 1,
            counted INTEGER NOT NULL DEFAULT 1,
            revision INTEGER NOT NULL DEFAULT 1,
            source_path TEXT,
            attrs TEXT,
            updated_at INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX events_time ON events (ts_ms)")
    db.execute("CREATE INDEX events_dedup ON events (dedup_key) WHERE dedup_key IS NOT NULL")
    db.execute("CREATE INDEX events_session ON events (session_id)")


_ROLLUP_SUMS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cost_usd",
)


def _rollup_add(row: str, sign: str) -> str:
    """An upsert adding (or subtracting) one counted request of ``row`` (NEW or OLD)."""
    values = ", ".join(f"{sign}COALESCE({row}.{c}, 0)" for c in _ROLLUP_SUMS)
    sets = ", ".join(f"{c} = {c} + excluded.{c}" for c in _ROLLUP_SUMS)
    return f"""
        INSERT INTO usage_rollup (bucket, agent, model, {", ".join(_ROLLUP_SUMS)}, requests)
        SELECT {row}.ts_ms / 900000, {row}.agent, COALESCE({row}.model, ''), {values}, {sign}1
        WHERE {row}.kind = 'llm_request' AND {row}.counted = 1
        ON CONFLICT (bucket, agent, model) DO UPDATE SET {sets},
            requests = requests + excluded.requests;
    """


@migration
def m002_usage_rollup(db: Database) -> None:
    """Counted requests summed per 15-minute UTC bucket, agent and model, kept by triggers.

    Daily and model reports read this table, so their cost does not grow with history.
    """
    db.execute(
        """
        CREATE TABLE usage_rollup (
            bucket INTEGER NOT NULL,
            agent TEXT NOT NULL,
            model TEXT NOT NULL,
            input_tokens INTEGER NOT NULL DEFAULT 0,
            output_tokens INTEGER NOT NULL DEFAULT 0,
            cache_read_tokens INTEGER NOT NULL DEFAULT 0,
            cache_write_tokens INTEGER NOT NULL DEFAULT 0,
            cost_usd REAL NOT NULL DEFAULT 0,
            requests INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (bucket, agent, model)
        ) WITHOUT ROWID
        """
    )
    add_new, sub_old = _rollup_add("NEW", ""), _rollup_add("OLD", "-")
    db.execute(f"CREATE TRIGGER events_rollup_insert AFTER INSERT ON events BEGIN {add_new} END")
    db.execute(
        "CREATE TRIGGER events_rollup_update AFTER UPDATE OF "
        f"kind, agent, model, ts_ms, counted, {', '.join(_ROLLUP_SUMS)} "
        f"ON events BEGIN {sub_old} {add_new} END"
    )
    db.execute(f"CREATE TRIGGER events_rollup_delete AFTER DELETE ON events BEGIN {sub_old} END")
    sums = ", ".join(f"sum(COALESCE({c}, 0))" for c in _ROLLUP_SUMS)
    db.execute(
        f"""INSERT INTO usage_rollup (bucket, agent, model, {", ".join(_ROLLUP_SUMS)}, requests)
            SELECT ts_ms / 900000, agent, COALESCE(model, ''), {sums}, count(*) FROM events
            WHERE kind = 'llm_request' AND counted = 1 GROUP BY 1, 2, 3"""
    )


@migration
def m003_upload_outbox(db: Database) -> None:
    """The events table doubles as the upload outbox.

    A row is waiting when ``sent_revision < revision`` and it is in no batch
    (``upload_batch IS NULL``); the partial index holds only those rows, so sent and
    set-aside history never slows the pending query down.
    """
    db.execute("ALTER TABLE events ADD COLUMN sent_revision INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE events ADD COLUMN upload_batch TEXT")
    db.execute(
        """CREATE INDEX events_outbox ON events (updated_at, event_id)
           WHERE sent_revision < revision AND upload_batch IS NULL"""
    )
    db.execute(
        "CREATE INDEX events_upload_batch ON events (upload_batch) WHERE upload_batch IS NOT NULL"
    )
    db.execute(
        """
        CREATE TABLE upload_batches (
            batch_id TEXT PRIMARY KEY,
            state TEXT NOT NULL DEFAULT 'pending',
            payload TEXT NOT NULL,
            event_count INTEGER NOT NULL,
            payload_bytes INTEGER NOT NULL,
            parts_done TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at INTEGER,
            last_error TEXT,
            last_error_class TEXT,
            set_aside_reason TEXT,
            set_aside_at INTEGER,
            created_at INTEGER NOT NULL
        )
        """
    )
    db.execute("CREATE INDEX upload_batches_state ON upload_batches (state, created_at)")
    db.execute(
        """
        CREATE TABLE upload_state (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            host_id TEXT NOT NULL,
            sent_events INTEGER NOT NULL DEFAULT 0,
            sent_batches INTEGER NOT NULL DEFAULT 0,
            dropped_events INTEGER NOT NULL DEFAULT 0,
            filtered_events INTEGER NOT NULL DEFAULT 0,
            skipped_superseded INTEGER NOT NULL DEFAULT 0,
            set_aside_events_total INTEGER NOT NULL DEFAULT 0,
            failures_connection INTEGER NOT NULL DEFAULT 0,
            failures_timeout INTEGER NOT NULL DEFAULT 0,
            failures_http_4xx INTEGER NOT NULL DEFAULT 0,
            failures_http_5xx INTEGER NOT NULL DEFAULT 0,
            failures_rate_limited INTEGER NOT NULL DEFAULT 0,
            last_success_at INTEGER,
            last_error TEXT,
            last_error_class TEXT,
            last_error_at INTEGER,
            last_drop_at INTEGER
        )
        """
    )
    db.execute("INSERT INTO upload_state (id, host_id) VALUES (1, lower(hex(randomblob(16))))")


@migration
def m003_dedup_precedence_index(db: Database) -> None:
    # The recount of a copy group asks max(precedence) per row; a Copilot session's tokens group
    # holds every request of the session, so without this index a batch costs O(group size^2).
    db.execute(
        "CREATE INDEX events_dedup_precedence ON events (dedup_key, precedence) "
        "WHERE dedup_key IS NOT NULL"
    )


@migration
def m004_drop_unused_indexes(db: Database) -> None:
    # No query looks events up by session; (dedup_key, precedence) already covers dedup_key.
    # Every index is paid on each insert of a cold scan.
    db.execute("DROP INDEX IF EXISTS events_session")
    db.execute("DROP INDEX IF EXISTS events_dedup")


# The rollup of m005: value expressions over one events row ({r} = NEW or OLD), summed per
# (15-minute UTC bucket, agent, model). Estimates are kept out: they never mix into measured
# totals. Cost is integer nanodollars, so sums are exact whatever the order of ingestion.
_ROLLUP_V2 = {
    "input_tokens": "{r}.input_tokens",
    "output_tokens": "{r}.output_tokens",
    "cache_read_tokens": "{r}.cache_read_tokens",
    "cache_write_tokens": "{r}.cache_write_tokens",
    "reasoning_tokens": "{r}.reasoning_tokens",
    "cost_nusd": "COALESCE({r}.cost_nusd, 0)",
    "recorded_cost_nusd": "COALESCE({r}.recorded_cost_nusd, 0)",
    "requests": "1",
    "unpriced_requests": "({r}.cost_nusd IS NULL)",
    "recorded_requests": "({r}.recorded_cost_nusd IS NOT NULL)",
    "unknown_token_requests": "({r}.tokens_known = 0)",
}
_ROLLUP_V2_WHERE = "{r}.kind = 'llm_request' AND {r}.counted = 1 AND {r}.estimated = 0"


def _rollup_v2_add(row: str, sign: str) -> str:
    """An upsert adding (``sign`` "") or subtracting ("-") one events ``row`` (NEW or OLD)."""
    names = ", ".join(_ROLLUP_V2)
    values = ", ".join(f"{sign}({expr.format(r=row)})" for expr in _ROLLUP_V2.values())
    sets = ", ".join(f"{c} = {c} + excluded.{c}" for c in _ROLLUP_V2)
    return f"""
        INSERT INTO usage_rollup (bucket, agent, model, {names})
        SELECT {row}.ts_ms / 900000, {row}.agent, COALESCE({row}.model, ''), {values}
        WHERE {_ROLLUP_V2_WHERE.format(r=row)}
        ON CONFLICT (bucket, agent, model) DO UPDATE SET {sets};
    """


@migration
def m005_event_schema_v2(db: Database) -> None:
    """Exact cost (integer nanodollars, calculated and recorded), token quality, latency and
    context columns, ``seq`` for last-copy-wins sources; the rollup rebuilt on them.

    Metric fields that lived in ``attrs`` (context_tokens, history_len, ttft_ms, the recorded
    cost) become columns so analytics can index and upload them.
    """
    for trigger in ("events_rollup_insert", "events_rollup_update", "events_rollup_delete"):
        db.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    db.execute("DROP TABLE IF EXISTS usage_rollup")
    for column, kind in (
        ("cost_nusd", "INTEGER"),
        ("recorded_cost_nusd", "INTEGER"),
        ("tokens_known", "INTEGER NOT NULL DEFAULT 1"),
        ("estimated", "INTEGER NOT NULL DEFAULT 0"),
        ("ttft_ms", "REAL"),
        ("context_tokens", "INTEGER"),
        ("history_len", "INTEGER"),
        ("error_class", "TEXT"),
        ("seq", "INTEGER NOT NULL DEFAULT 0"),
    ):
        db.execute(f"ALTER TABLE events ADD COLUMN {column} {kind}")
    db.execute(
        """UPDATE events SET
               cost_nusd = CAST(round(cost_usd * 1000000000) AS INTEGER),
               recorded_cost_nusd = CAST(round(
                   json_extract(attrs, '$.reported_cost_usd') * 1000000000) AS INTEGER),
               context_tokens = json_extract(attrs, '$.context_tokens'),
               history_len = json_extract(attrs, '$.history_len'),
               ttft_ms = json_extract(attrs, '$.ttft_ms')
           WHERE cost_usd IS NOT NULL OR attrs IS NOT NULL"""
    )
    db.execute("ALTER TABLE events DROP COLUMN cost_usd")
    columns = ",\n".join(f"{name} INTEGER NOT NULL DEFAULT 0" for name in _ROLLUP_V2)
    db.execute(
        f"""
        CREATE TABLE usage_rollup (
            bucket INTEGER NOT NULL,
            agent TEXT NOT NULL,
            model TEXT NOT NULL,
            {columns},
            PRIMARY KEY (bucket, agent, model)
        ) WITHOUT ROWID
        """
    )
    add_new, sub_old = _rollup_v2_add("NEW", ""), _rollup_v2_add("OLD", "-")
    watched = "kind, agent, model, ts_ms, counted, estimated, tokens_known, " + ", ".join(
        c for c in _ROLLUP_V2 if c not in ("requests",) and not c.endswith("_requests")
    )
    db.execute(f"CREATE TRIGGER events_rollup_insert AFTER INSERT ON events BEGIN {add_new} END")
    db.execute(
        f"CREATE TRIGGER events_rollup_update AFTER UPDATE OF {watched} "
        f"ON events BEGIN {sub_old} {add_new} END"
    )
    db.execute(f"CREATE TRIGGER events_rollup_delete AFTER DELETE ON events BEGIN {sub_old} END")
    sums = ", ".join(f"sum({expr.format(r='events')})" for expr in _ROLLUP_V2.values())
    db.execute(
        f"""INSERT INTO usage_rollup (bucket, agent, model, {", ".join(_ROLLUP_V2)})
            SELECT ts_ms / 900000, agent, COALESCE(model, ''), {sums} FROM events
            WHERE {_ROLLUP_V2_WHERE.format(r="events")} GROUP BY 1, 2, 3"""
    )


@migration
def m006_invalid_records_and_gaps(db: Database) -> None:
    """What was skipped, and why, so nothing is lost silently.

    ``invalid_total`` counts a stream's events outside the storable range (agenttail/validation.py)
    with the latest reason in ``last_invalid``; ``notice`` is the stream's current condition
    (a trace database without its ``spans`` table); ``discovery_problems`` holds the folders the
    last sweep could not read.
    """
    db.execute("ALTER TABLE sessions ADD COLUMN invalid_total INTEGER NOT NULL DEFAULT 0")
    db.execute("ALTER TABLE sessions ADD COLUMN last_invalid TEXT")
    db.execute("ALTER TABLE sessions ADD COLUMN notice TEXT")
    db.execute(
        """
        CREATE TABLE discovery_problems (
            agent TEXT NOT NULL,
            path TEXT NOT NULL,
            error TEXT NOT NULL,
            seen_at INTEGER NOT NULL,
            PRIMARY KEY (agent, path)
        )
        """
    )


@migration
def m007_analytics_rollups(db: Database) -> None:
    """Rollups for analytics (store/rollups.py): usage per (15-minute bucket, agent, project,
    model) with latency sums, tool calls, errors by class, duration histograms, per-session
    totals and runs, with hourly, daily and four-week twins; an index for one session's
    timeline."""
    from agenttail.store.rollups import create_analytics_rollups

    create_analytics_rollups(db)


@migration
def m008_unknown_tokens_index(db: Database) -> None:
    """``status`` counts requests without recorded tokens per agent and file: a partial index
    holds only those rows, so the count does not scan every event (0.2 s per million)."""
    db.execute(
        "CREATE INDEX events_unknown_tokens ON events (agent, source_path) WHERE tokens_known = 0"
    )


@migration
def m009_agent_tokens(db: Database) -> None:
    """Reports say which agents keep no tokens on disk without loading every agent plugin:
    ``agent_tokens`` holds each ingested agent's declaration (written with its batches), and a
    partial index finds the few estimated requests in a window without scanning it."""
    db.execute(
        "CREATE TABLE agent_tokens (agent TEXT PRIMARY KEY, tokens_recorded INTEGER NOT NULL)"
    )
    db.execute("CREATE INDEX events_estimated ON events (ts_ms) WHERE estimated = 1")


@migration
def m010_exact_rollup_triggers(db: Database) -> None:
    """Rollups equal a rebuild from the events (``store/rollups.py``): a rollup row no event
    counts in any more is deleted and an extreme (a session's first and last time, peak
    context, project) held by a replaced copy is read again. Rebuilt from the events once."""
    from agenttail.store.rollups import rebuild_rollups

    rebuild_rollups(db)


@migration
def m011_sweep_manifest(db: Database) -> None:
    """What the last full sweep looked at (``store/sweep_manifest.py``): a ``scan`` that finds
    all of it unchanged answers without loading the agent plugins. One row, JSON."""
    db.execute(
        "CREATE TABLE sweep_manifest (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " manifest TEXT NOT NULL)"
    )


@migration
def m012_outbox_index_only_with_upload(db: Database) -> None:
    """The outbox's index of waiting rows (m003's ``events_outbox``) is kept only while upload
    is configured: without it every commit wrote about two index pages for rows that nothing
    would ever send. The uploader builds it again before its first flush
    (``upload/outbox.py``), so rows stored meanwhile still wait as before."""
    db.execute("DROP INDEX IF EXISTS events_outbox")
