"""The rollup triggers keep every rollup equal to a rebuild from the events it summarizes,
through inserts, replaced copies (updates) and deletes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from agenttail.store import Store
from agenttail.store.events import upsert_events
from agenttail.store.rollups import SESSIONS, analytics_rollups
from tests.test_analytics import FIXTURE, MYSTERY


def _rows(store: Store, table: str, columns: list[str]) -> set[tuple[Any, ...]]:
    """Rows with any non-zero sum (a subtraction may leave an all-zero row behind)."""
    found = store.query(f"SELECT {', '.join(columns)} FROM {table}")
    return {tuple(row.values()) for row in found if any(row[c] for c in columns[-1:])}


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
                )
            )
        with store.transaction():
            upsert_events(store.conn, changed, "fixture", 1)
            store.conn.execute(
                "DELETE FROM events WHERE event_id IN (SELECT event_id FROM events "
                "ORDER BY event_id LIMIT 15)"
            )
        for rollup in [*analytics_rollups(), SESSIONS]:
            columns = [*rollup.keys, *rollup.sums]
            kept = _rows(store, rollup.table, columns)
            with store.transaction():
                store.conn.execute(f"DELETE FROM {rollup.table}")
            rollup.fill(store.db)
            rebuilt = _rows(store, rollup.table, columns)
            assert kept == rebuilt, rollup.table
