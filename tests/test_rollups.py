"""The rollup triggers keep every rollup equal to a rebuild from the events it summarizes,
through inserts, replaced copies (updates) and deletes: the same rows, none left at zero, and
first/last times and peaks of the copies stored now (not of copies since replaced)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from agenttail.store import Store
from agenttail.store.events import upsert_events
from agenttail.store.rollups import fill_rollups, rollup_tables
from tests.test_analytics import FIXTURE, MYSTERY


def _rows(store: Store, table: str) -> set[tuple[Any, ...]]:
    return {tuple(row.values()) for row in store.query(f"SELECT * FROM {table}")}


def test_triggers_match_a_rebuild_after_updates_and_deletes(tmp_path: Path) -> None:
    with Store(tmp_path / "rollups.db") as store:
        with store.transaction():
            upsert_events(store.conn, FIXTURE, "fixture", 0)
        # Replaced copies: more tokens, another model and project, a tool now failed.
        changed = []
        for event in FIXTURE[:40]:
            changed.append(
                replace(
                    event,
                    seq=event.seq + 1,
                    output_tokens=event.output_tokens + 7,
                    model=MYSTERY if event.model else None,
                    project="/p/moved",
                    ok=False if event.ok else event.ok,
                    ts_ms=event.ts_ms + 3_600_000,  # a later copy: the first time moves
                    context_tokens=None,  # and the peak it held goes
                    run_id=None if event.run_id else event.run_id,
                )
            )
        with store.transaction():
            upsert_events(store.conn, changed, "fixture", 1)
            store.conn.execute(
                "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events "
                "ORDER BY event_id LIMIT 15)"
            )
        kept = {table: _rows(store, table) for table in rollup_tables()}
        with store.transaction():
            for table in rollup_tables():
                store.conn.execute(f"DELETE FROM {table}")
            fill_rollups(store.conn)
        for table in rollup_tables():
            assert _rows(store, table) == kept[table], table
