"""The supervision loop in-process: reload keeps running, stop is prompt with a backlog."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
import structlog

from agenttail.agents.claude_code import ClaudeCodeAgent
from agenttail.config import Config, ConfigError, load_config
from agenttail.daemon.background import Daemon
from agenttail.daemon.lifecycle import read_runtime_state
from agenttail.daemon.runner import Pipeline, scan_once
from agenttail.daemon.supervise import supervise
from agenttail.paths import AppPaths
from agenttail.store import Store
from tests.helpers import ClaudeSession


def make_daemon(claude_dir: Path, env: dict[str, str] | None = None) -> Daemon:
    paths = AppPaths.resolve()
    config = load_config(paths, env=env or {})
    return Daemon(Pipeline(paths, config, [ClaudeCodeAgent([claude_dir / "projects"])]))


def test_reload_applies_new_interval_and_survives_a_bad_config(claude_dir: Path) -> None:
    (claude_dir / "projects").mkdir(parents=True)
    daemon = make_daemon(claude_dir)
    stop, reload = threading.Event(), threading.Event()
    answers: list[Config | ConfigError] = [
        ConfigError("invalid value for workers (from config.toml): 0 is below 1"),
        load_config(env={"AGENTTAIL_SWEEP_INTERVAL_SECONDS": "900"}),
    ]

    def reload_config() -> Config:
        answer = answers.pop(0)
        if isinstance(answer, ConfigError):
            raise answer
        return answer

    state = AppPaths.resolve().state_dir / "daemon.json"
    thread = threading.Thread(
        target=supervise,
        args=(daemon, stop, reload),
        kwargs={"reload_config": reload_config, "state_file": state, "tick": 0.05},
    )
    with structlog.testing.capture_logs() as logs:
        thread.start()
        try:
            assert _wait(lambda: daemon.scheduler.running and state.exists())
            runtime = read_runtime_state(state)
            assert runtime is not None and runtime["watched"] == [str(claude_dir / "projects")]
            reload.set()
            assert _wait(lambda: any(e["event"] == "config_reload_failed" for e in logs))
            assert daemon.pipeline.config.get_int("sweep_interval_seconds") == 180
            reload.set()
            assert _wait(lambda: any(e["event"] == "config_reloaded" for e in logs))
            trigger = daemon.scheduler.get_job("sweep").trigger
            assert trigger.interval == timedelta(seconds=900)
        finally:
            stop.set()
            thread.join(20)
    assert not thread.is_alive()
    failed = next(e for e in logs if e["event"] == "config_reload_failed")
    assert "workers" in failed["error"]
    assert not state.exists()


@pytest.mark.parametrize("first_load", [True, False], ids=["first-load", "steady"])
def test_stop_with_a_big_backlog_is_prompt_and_consistent(
    claude_dir: Path, first_load: bool
) -> None:
    """A new store's backlog is the daemon's bulk first load; a store holding one session
    already is read by the steady workers. Either way a stop is prompt and what was stored
    matches the watermarks (and the first load's rollups are built as it stops)."""
    if not first_load:
        seed = ClaudeSession(claude_dir)
        seed.write(seed.assistant("2026-11-19T10:00:00.000Z", "seed", request_id="r"))
        scan_once(
            Pipeline(
                AppPaths.resolve(), load_config(), [ClaudeCodeAgent([claude_dir / "projects"])]
            )
        )
    for index in range(60):
        session = ClaudeSession(claude_dir)
        session.write(
            *[
                session.assistant("2026-11-20T10:00:00.000Z", f"m{index}-{n}", request_id=f"r{n}")
                for n in range(400)
            ]
        )
    daemon = make_daemon(claude_dir, {"AGENTTAIL_MAX_BATCH_RECORDS": "50"})
    stop, reload = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=supervise,
        args=(daemon, stop, reload),
        kwargs={"reload_config": load_config, "tick": 0.05},
    )
    thread.start()
    assert _wait(lambda: daemon.pipeline.totals.events > 0)
    started = time.monotonic()
    stop.set()
    thread.join(20)
    assert not thread.is_alive()
    assert time.monotonic() - started < 20
    assert not any(t.is_alive() for t in daemon.pipeline.workers.threads)
    # whatever was committed is resumable: events match the recorded watermarks
    with Store(AppPaths.resolve().database) as store:
        events = store.db.execute("SELECT count(*) FROM events").fetchone()[0]
        records = store.db.execute("SELECT sum(records_total) FROM sessions").fetchone()[0]
        rollup = store.db.execute("SELECT sum(requests) FROM usage_rollup").fetchone()[0]
    assert events == records == rollup
    assert events < 60 * 400, "the backlog was not simply drained before stopping"


def _wait(predicate: object, timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False
