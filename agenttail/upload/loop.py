"""The daemon's upload loop: a first flush soon after start, then one every interval.

It runs on its own thread rather than as a scheduler job so that a stop is bounded: no new
request starts after ``stop()``, the request in flight gets ``STOP_GRACE_S``, and then the
thread is left behind (a daemon thread, gone with the process). A batch abandoned that way
stays in the outbox with its Idempotency-Key and is sent again after the next start.
A reload (SIGHUP) hands the loop new ``upload.*`` settings; they apply from the next flush.
Without settings it only stops the store indexing rows for upload (``outbox.stop_tracking``).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from agenttail.config import Config, ConfigError
from agenttail.daemon.pause import is_disk_full
from agenttail.store import Store
from agenttail.upload.outbox import stop_tracking
from agenttail.upload.settings import UploadSettings, upload_settings
from agenttail.upload.uploader import Uploader

if TYPE_CHECKING:
    from agenttail.paths import AppPaths

log = structlog.stdlib.get_logger(__name__)

FIRST_FLUSH_DELAY_S = 2.0  # lets the start-up sweep store what changed while we were down
STOP_GRACE_S = 3.0


class UploadLoop:
    """Periodic flushes of the outbox for the daemon; idle (no thread) without a URL."""

    name = "upload"

    def __init__(
        self,
        database: Path,
        settings: UploadSettings | None,
        *,
        first_delay_s: float = FIRST_FLUSH_DELAY_S,
        grace_s: float = STOP_GRACE_S,
    ) -> None:
        self.database = database
        self.first_delay_s = first_delay_s
        self.grace_s = grace_s
        self._settings = settings
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._uploader: Uploader | None = None
        self._thread: threading.Thread | None = None
        self.flushes = 0

    @property
    def settings(self) -> UploadSettings | None:
        with self._lock:
            return self._settings

    def start(self) -> None:
        with self._lock:
            if self._settings is None:
                log.info("upload_disabled", reason="no upload.url: events stay local")
                self._stop_tracking()
                return
            self._start_thread()

    def _stop_tracking(self) -> None:
        """No upload: the store stops indexing rows for it (an index left from an earlier
        configuration); they are indexed again when upload is configured."""
        if not self.database.exists():
            return
        try:
            with Store(self.database) as store:
                stop_tracking(store)
        except sqlite3.Error as exc:  # the next start tries again
            log.warning("outbox_index_kept", error=str(exc))

    def _start_thread(self) -> None:
        if self._thread is not None or self._stopping.is_set():
            return
        self._thread = threading.Thread(target=self._run, name="agenttail-upload", daemon=True)
        self._thread.start()

    def apply_config(self, config: Config) -> None:
        """Take the reloaded ``upload.*`` settings; an invalid one keeps the previous ones."""
        try:
            fresh = upload_settings(config)
        except ConfigError as exc:
            log.error("upload_reload_failed", error=str(exc), kept="previous upload settings")
            return
        with self._lock:
            if fresh == self._settings:
                return
            self._settings = fresh
            if fresh is not None:
                self._start_thread()
        log.info(
            "upload_settings_applied",
            url=None if fresh is None else fresh.url,
            interval_seconds=None if fresh is None else fresh.interval_seconds,
        )
        self._wake.set()  # flush with the new settings now, not after the old interval

    def _current(self) -> tuple[Uploader | None, UploadSettings | None]:
        """The uploader for the current settings (rebuilt after a reload); loop thread only."""
        settings = self.settings
        uploader = self._uploader
        if uploader is not None and uploader.settings != settings:
            uploader.close()
            uploader = None
        if uploader is None and settings is not None:
            uploader = Uploader(self.database, settings)
        with self._lock:
            self._uploader = uploader
            if self._stopping.is_set() and uploader is not None:
                uploader.stopping.set()
        return uploader, settings

    def _run(self) -> None:
        wait: float | None = self.first_delay_s
        try:
            while True:
                self._wake.wait(wait)
                self._wake.clear()
                if self._stopping.is_set():
                    return
                uploader, settings = self._current()
                if uploader is None or settings is None:
                    self._stop_tracking()
                    wait = None  # upload turned off by a reload: sleep until the next one
                    continue
                try:
                    uploader.flush(min(settings.flush_deadline_seconds, settings.interval_seconds))
                except (OSError, sqlite3.Error) as exc:
                    if not is_disk_full(exc):
                        log.exception("upload_failed")
                    else:  # claiming a batch writes to the store: wait for space, quietly
                        log.error("upload_waits_for_disk_space", error=str(exc))
                except Exception:  # the loop must survive any failure
                    log.exception("upload_failed")
                self.flushes += 1
                wait = settings.interval_seconds
        finally:
            if self._uploader is not None:
                self._uploader.close()

    def stop(self) -> None:
        """No new request; the one in flight gets ``grace_s``, then it is abandoned."""
        with self._lock:
            self._stopping.set()
            if self._uploader is not None:
                self._uploader.stopping.set()
            thread = self._thread
        self._wake.set()
        if thread is None:
            return
        thread.join(self.grace_s)
        if thread.is_alive():
            log.warning(
                "upload_abandoned_in_flight",
                grace_s=self.grace_s,
                note="the batch stays in the outbox with its key and is sent after restart",
            )


def upload_loop(paths: AppPaths, config: Config) -> UploadLoop:
    """The daemon's upload loop (idle without ``upload.url``)."""
    settings = upload_settings(config)  # a ConfigError stops `run` with exit 78
    return UploadLoop(paths.database, settings)
