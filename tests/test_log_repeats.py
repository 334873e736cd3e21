"""Identical warnings and errors are logged once per window with a count, for every logger."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import structlog

from agenttail.logs import REPEATS_FIELD, RepeatLimiter, configure_logging


def test_identical_errors_are_counted_not_repeated(tmp_path: Path) -> None:
    log_file = tmp_path / "agenttail.log"
    configure_logging("info", log_file, console=False)
    try:
        log = structlog.stdlib.get_logger("agenttail.test")
        for _ in range(1000):
            log.error("store_write_failed", error="database or disk is full")
            logging.getLogger("watchdog.observers").error("inotify read failed")
        log.error("store_write_failed", error="another error")  # not identical: logged
        for _ in range(3):
            log.info("batch_stored", events=1)  # info is never limited
        limiter = next(
            f
            for h in logging.getLogger().handlers
            if getattr(h, "_agenttail", False)
            for f in h.filters
            if isinstance(f, RepeatLimiter)
        )
        limiter.window_s = 0.0  # the window has passed: the next one carries the count
        log.error("store_write_failed", error="database or disk is full")
        for handler in logging.getLogger().handlers:
            handler.flush()
        lines = log_file.read_text().splitlines()
    finally:
        configure_logging("info", None, console=False)
    records = [json.loads(line) if line.startswith("{") else {"text": line} for line in lines]
    full = [r for r in records if r.get("error") == "database or disk is full"]
    assert [r.get(REPEATS_FIELD) for r in full] == [None, 999]
    assert sum("inotify read failed" in json.dumps(r) for r in records) == 1
    assert sum(r.get("error") == "another error" for r in records) == 1
    assert sum(r.get("event") == "batch_stored" for r in records) == 3
