"""Versioned schema migrations, applied in order and recorded in ``_sqlite_migrations``."""

from __future__ import annotations

from sqlite_utils import Database, Migrations

migrations = Migrations("agenttail")


@migrations()
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
