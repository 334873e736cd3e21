from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.config import load_config
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.paths import AppPaths
from agenttail.store import Store
from agenttail.upload.retry import Backoff
from agenttail.upload.settings import UploadSettings
from agenttail.upload.uploader import Uploader

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "schemas" / "agenttail.batch.v1.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
BASE = datetime(2026, 5, 2, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """Wall and monotonic time that only move when the uploader sleeps."""

    offset: float = 0.0
    sleeps: list[float] = field(default_factory=list)

    def now(self) -> datetime:
        return BASE + timedelta(seconds=self.offset)

    def monotonic(self) -> float:
        return self.offset

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.offset += seconds


def scan() -> None:
    paths = AppPaths.resolve()
    scan_once(Pipeline(paths, load_config(paths), [ClaudeCodeAgent()]))


def database() -> Path:
    return AppPaths.resolve().database


def stored_events() -> dict[str, int]:
    with Store(database(), readonly=True) as store:
        return {r["event_id"]: r["revision"] for r in store.db.query("SELECT * FROM events")}


def settings(url: str, **overrides: Any) -> UploadSettings:
    values: dict[str, Any] = {"url": url, "token": "tok-secret-123", "timeout_seconds": 0.5}
    values.update(overrides)
    return UploadSettings(**values)


def uploader(config: UploadSettings, clock: FakeClock, seed: int = 1) -> Uploader:
    import random

    return Uploader(
        database(),
        config,
        clock=clock,
        sleep=clock.sleep,
        backoff=Backoff(maximum=config.max_backoff_seconds, rng=random.Random(seed)),
    )
