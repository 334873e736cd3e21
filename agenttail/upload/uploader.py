"""One flush: send waiting batches until the outbox is empty or the deadline passes.

Batches go one at a time, oldest first: when the server is down every batch would fail the
same way, so the head batch's backoff paces everything. Waits run on the monotonic clock; the
wall-clock ``next_attempt_at`` persisted with each failure lets a restarted process resume
the same schedule (clamped to the backoff cap, so a clock jump cannot park a batch forever).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import structlog

from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.store import Store
from agenttail.upload.exporters import Exporter, make_exporter
from agenttail.upload.exporters.base import Batch, Outcome, Verdict, send
from agenttail.upload.outbox import Limits, Outbox, track_waiting
from agenttail.upload.privacy import ProjectPolicy
from agenttail.upload.retry import Backoff
from agenttail.upload.settings import UploadSettings
from agenttail.upload.wire import source_info

log = structlog.stdlib.get_logger(__name__)

# A refusal that says the configuration is wrong, not the batch: stop and let a human look.
STOP_STATUSES = frozenset({401, 403, 404, 405, 407})


@dataclass
class FlushReport:
    sent_batches: int = 0
    sent_events: int = 0
    retries: int = 0
    set_aside: int = 0
    dropped: int = 0
    drained: bool = False
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)


class Uploader:
    """Long-lived in the daemon (keeps the in-process retry schedule); one per CLI run."""

    def __init__(
        self,
        database: Path,
        settings: UploadSettings,
        *,
        client: httpx.Client | None = None,
        exporter: Exporter | None = None,
        clock: Clock = SYSTEM_CLOCK,
        sleep: Callable[[float], object] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.client = client or httpx.Client(follow_redirects=False)
        self.exporter = exporter or make_exporter(settings.exporter, settings.url)
        self.clock = clock
        # Set by the daemon on shutdown: no new request starts and a backoff wait ends now.
        self.stopping = threading.Event()
        self.sleep = sleep or self.stopping.wait
        self.backoff = backoff or Backoff(maximum=settings.max_backoff_seconds)
        self.policy = ProjectPolicy(
            settings.project_mode, settings.projects_allow, settings.projects_deny
        )
        self.limits = Limits(
            settings.batch_max_events,
            settings.batch_max_bytes,
            settings.retention_days,
            settings.max_pending_events,
        )
        self._due: dict[str, float] = {}

    def close(self) -> None:
        self.client.close()

    def _due_at(self, batch: Batch) -> float:
        """Monotonic time the batch may go; a persisted wall time is clamped to the cap."""
        mono = self.clock.monotonic()
        if batch.batch_id not in self._due:
            remaining = 0.0
            if batch.next_attempt_at is not None:
                remaining = (batch.next_attempt_at - now_ms(self.clock)) / 1000
                remaining = min(max(0.0, remaining), self.backoff.maximum)
            self._due[batch.batch_id] = mono + remaining
        return self._due[batch.batch_id]

    def flush(self, deadline_s: float, *, retry_set_aside: bool = False) -> FlushReport:
        report = FlushReport()
        end = self.clock.monotonic() + deadline_s
        with Store(self.database) as store:
            track_waiting(store)
            outbox = Outbox(store, self.policy, self.settings.send_git_branch, self.limits)
            if retry_set_aside:
                outbox.retry_set_aside()
            report.dropped = outbox.apply_retention(now_ms(self.clock))
            if report.dropped:
                log.warning("upload_dropped", events=report.dropped)
            source = source_info(outbox.host_id(), self.exporter.name, self.settings.user)
            while self.clock.monotonic() < end and not self.stopping.is_set():
                batch = outbox.next_batch(now_ms(self.clock))
                if batch is None:
                    report.drained = True
                    break
                wait = self._due_at(batch) - self.clock.monotonic()
                if wait > 0:
                    if self.clock.monotonic() + wait >= end:
                        break
                    self.sleep(wait)
                    if self.stopping.is_set():
                        break
                if not self._attempt(outbox, batch, source, report):
                    break
        return report

    def _attempt(
        self, outbox: Outbox, batch: Batch, source: dict[str, str], report: FlushReport
    ) -> bool:
        """Send every part of one batch not yet acknowledged; False stops the flush."""
        outcome = Outcome(Verdict.OK)
        for request in self.exporter.requests(batch, source, now_ms(self.clock)):
            if request.part in batch.parts_done:
                continue
            if self.stopping.is_set():
                return False  # the batch keeps its key and the parts already acknowledged
            outcome = send(
                self.client,
                self.exporter,
                request,
                self.settings.token,
                self.settings.timeout_seconds,
                self.clock.now(),
            )
            if outcome.verdict is not Verdict.OK:
                break
            batch = outbox.mark_part_done(batch, request.part)
        now = now_ms(self.clock)
        if outcome.verdict is Verdict.OK:
            outbox.mark_sent(batch, now)
            self._due.pop(batch.batch_id, None)
            report.sent_batches += 1
            report.sent_events += len(batch.events)
            log.info("upload_sent", batch_id=batch.batch_id, events=len(batch.events))
            return True
        report.errors.append(outcome.message)
        if outcome.verdict is Verdict.TOO_LARGE and len(batch.events) > 1:
            outbox.split(batch, now)
            log.warning("upload_split", batch_id=batch.batch_id, events=len(batch.events))
            return True
        if outcome.verdict is Verdict.RETRY:
            delay = self.backoff.wait(batch.attempts + 1, outcome.retry_after)
            self._due[batch.batch_id] = self.clock.monotonic() + delay
            outbox.record_retry(
                batch, outcome.failure, outcome.message, now + int(delay * 1000), now
            )
            report.retries += 1
            log.warning(
                "upload_retry",
                batch_id=batch.batch_id,
                error=outcome.message,
                attempt=batch.attempts + 1,
                wait_s=round(delay, 2),
            )
            return True
        outbox.set_aside(batch, outcome.failure, outcome.message, now)
        self._due.pop(batch.batch_id, None)
        report.set_aside += 1
        log.error("upload_set_aside", batch_id=batch.batch_id, reason=outcome.message)
        if outcome.status in STOP_STATUSES:
            report.stopped = outcome.message
            return False
        return True
