"""The sweep coordinator: the truth about what changed (watchdog events are only hints).

Asks every agent for its streams, compares each file's stat with what the store recorded and
queues the stale ones. Shared streams (a SQLite database for many sessions) are always queued:
their WAL writes do not change the main file's stat, and their keyset cursor makes a no-op
read cheap. Streams backing off after failures wait for their ``next_retry_at``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from agenttail.agents.base import Agent, DiscoveryProblem, discover
from agenttail.clock import SYSTEM_CLOCK, Clock, now_ms
from agenttail.daemon.tasks import TaskQueue
from agenttail.daemon.worker import stat_or_none
from agenttail.discovery_trace import doubt
from agenttail.lazy_log import LazyLogger
from agenttail.store import SessionRow

log = LazyLogger(__name__)


@dataclass
class SweepReport:
    discovered: int = 0
    enqueued: int = 0
    backing_off: int = 0
    per_agent: dict[str, int] = field(default_factory=dict)
    problems: list[DiscoveryProblem] = field(default_factory=list)


class SweepCoordinator:
    def __init__(
        self, agents: Sequence[Agent], queue: TaskQueue, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self.agents = agents
        self.queue = queue
        self.clock = clock

    def sweep(
        self, known: dict[tuple[str, str], SessionRow], *, retry_failed: bool = False
    ) -> SweepReport:
        """Queue every stream whose file differs from ``known`` (the store's sessions).

        ``retry_failed`` ignores the back-off of failing streams (a one-off ``scan`` asked for
        by the user tries them now).
        """
        report = SweepReport()
        now = now_ms(self.clock)
        for agent in self.agents:
            count = 0
            try:
                refs = list(discover(agent, report.problems))
            except OSError as exc:
                log.warning("discovery_failed", agent=agent.name, error=repr(exc))
                doubt(f"discovery of {agent.name} failed")
                continue
            for ref in refs:
                count += 1
                row = known.get(ref.key)
                retry_at = None if row is None or retry_failed else row.next_retry_at
                if retry_at is not None and retry_at > now:
                    report.backing_off += 1
                    continue
                stale = ref.spec.shared or row is None or row.error_count > 0
                if not stale and row is not None:
                    stale = row.file_stat != stat_or_none(ref.path)
                if stale and self.queue.put(ref):
                    report.enqueued += 1
            report.per_agent[agent.name] = count
            report.discovered += count
        return report
