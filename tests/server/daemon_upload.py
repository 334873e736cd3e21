"""Events into a team store the way a daemon sends them, without the network.

A local store takes the events (so copies rank and ``counted`` is what the daemon computes),
the outbox's wire encoding turns its rows into ``agenttail.batch/v1`` bodies, the receiver's
decoder reads them back and ``TeamStore.ingest`` stores them, one batch per transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import orjson

from agenttail.events import MetricEvent
from agenttail.server.batch import decode_batch, event_dicts
from agenttail.store import Store
from agenttail.store.events import upsert_events
from agenttail.store.team import IngestBatch, open_team_store
from agenttail.upload.privacy import ProjectPolicy
from agenttail.upload.wire import COLUMNS, batch_id, envelope, source_info, wire_event

SENT_MS = 1_800_000_000_000


def upload(
    url: str,
    folder: Path,
    events: Sequence[MetricEvent],
    *,
    user: str = "dev",
    machine: str = "machine-1",
    batch_size: int = 7,
) -> None:
    """Sends ``events`` as ``user`` from ``machine`` (projects in full: ``upload.project``)."""
    folder.mkdir(parents=True, exist_ok=True)
    with Store(folder / f"{user}-{machine}.db") as local:
        with local.transaction():
            upsert_events(local.conn, events, "fixture", 0)
        rows = list(local.query(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY event_id"))
    wire = [wire_event(row, ProjectPolicy(mode="full"), send_git_branch=False) for row in rows]
    store = open_team_store(url)
    try:
        for start in range(0, len(wire), batch_size):
            chunk = wire[start : start + batch_size]
            body = orjson.dumps(
                envelope(batch_id(chunk), chunk, source_info(machine, "http", user), SENT_MS)
            )
            document = decode_batch(body)
            store.ingest(
                IngestBatch(
                    document.batch_id, user, document.source.host_id, event_dicts(document)
                ),
                SENT_MS,
            )
    finally:
        store.close()
