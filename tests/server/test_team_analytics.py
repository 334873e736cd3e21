"""Team analytics beyond the shared contract (tests/test_analytics.py): users, machines, and
rollups that follow later revisions, on both engines.

Events reach the team store as a daemon sends them (tests/server/daemon_upload.py); every
expected number is the test's own arithmetic over the events it wrote.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from agenttail.analytics import Bucket, Dimension, Query, TokenNote, Usage
from agenttail.events import EventKind, MetricEvent, stable_id
from agenttail.store.team.analytics import open_team_analytics
from tests.server.daemon_upload import upload

DAY = 86_400_000
NOV_1 = 1_793_491_200_000  # 2026-11-01T00:00Z


def _request(n: int, session: str, *, output: int, **fields: object) -> MetricEvent:
    event = MetricEvent(
        event_id=stable_id("team-req", session, n),
        kind=EventKind.LLM_REQUEST,
        agent="claude_code",
        session_id=session,
        ts_ms=NOV_1 + (n % 3) * DAY + n * 1000,
        run_id=f"run-{session}",
        project="/p/team",
        model="claude-sonnet-4-20250514",
        input_tokens=10 * n + 1,
        output_tokens=output,
        cost_nusd=1_000 * n + 7,
    )
    return replace(event, **fields)  # type: ignore[arg-type]


def _usage(events: list[MetricEvent]) -> Usage:
    return Usage(
        input_tokens=sum(e.input_tokens for e in events),
        output_tokens=sum(e.output_tokens for e in events),
        requests=len(events),
        cost_nusd=sum(e.cost_nusd or 0 for e in events),
    )


def test_usage_per_user_and_machine(database_url: str, tmp_path: Path) -> None:
    alice_laptop = [_request(n, "s-alice-1", output=5 * n) for n in range(6)]
    alice_desktop = [_request(n, "s-alice-2", output=7) for n in range(3)]
    bob = [_request(n, "s-bob", output=100 + n) for n in range(4)]
    upload(database_url, tmp_path, alice_laptop, user="alice", machine="laptop")
    upload(database_url, tmp_path, alice_desktop, user="alice", machine="desktop")
    upload(database_url, tmp_path, bob, user="bob", machine="bob-box")
    with open_team_analytics(database_url) as team:
        by_user = {r.keys[Dimension.USER]: r.usage for r in team.usage(Query(), (Dimension.USER,))}
        assert by_user == {"alice": _usage(alice_laptop + alice_desktop), "bob": _usage(bob)}
        by_machine = {
            r.keys[Dimension.MACHINE]: r.usage for r in team.usage(Query(), (Dimension.MACHINE,))
        }
        assert by_machine == {
            "laptop": _usage(alice_laptop),
            "desktop": _usage(alice_desktop),
            "bob-box": _usage(bob),
        }
        (only_bob,) = team.usage(Query(users=("bob",)))
        assert only_bob.usage == _usage(bob)
        (laptop,) = team.usage(Query(users=("alice",), machines=("laptop",)))
        assert laptop.usage == _usage(alice_laptop)
        assert team.usage(Query(users=("bob",), machines=("laptop",))) == []
        daily = team.usage(Query(users=("alice",)), (Dimension.USER,), Bucket.DAY)
        expected_days: dict[int, list[MetricEvent]] = {}
        for event in alice_laptop + alice_desktop:
            expected_days.setdefault(event.ts_ms // DAY, []).append(event)
        assert [(row.period and int(row.period.timestamp() * 1000) // DAY) for row in daily] == (
            sorted(expected_days)
        )
        assert [row.usage for row in daily] == [
            _usage(expected_days[d]) for d in sorted(expected_days)
        ]
        sessions = {s.session_id: s.usage for s in team.sessions(Query(users=("alice",)))}
        assert sessions == {"s-alice-1": _usage(alice_laptop), "s-alice-2": _usage(alice_desktop)}


def test_rollups_follow_later_revisions_and_copies(database_url: str, tmp_path: Path) -> None:
    """A request that grew and a copy group whose counted copy changed reach the team store as
    higher revisions: the rollups swap the old values for the new ones, never add both."""
    first = [_request(n, "s-grow", output=10) for n in range(4)]
    replay = _request(9, "s-grow", output=50, dedup_key="msg-9", precedence=0, is_sidechain=True)
    upload(database_url, tmp_path, [*first, replay], user="alice", machine="m")
    grown = replace(first[0], output_tokens=500)
    main_copy = replace(
        replay, event_id=stable_id("main", 9), output_tokens=60, precedence=1, is_sidechain=False
    )
    upload(database_url, tmp_path, [grown, main_copy], user="alice", machine="m")
    final = [grown, *first[1:], main_copy]
    with open_team_analytics(database_url) as team:
        (total,) = team.usage(Query())
        assert total.usage == _usage(final)
        per_day = team.usage(Query(), (Dimension.MODEL,), Bucket.DAY)
        assert sum((row.usage for row in per_day), Usage()) == _usage(final)
        (session,) = team.sessions(Query())
        assert session.usage == _usage(final)
        timeline = team.session_timeline("s-grow")
        assert sorted(e.usage.output_tokens for e in timeline) == sorted(
            e.output_tokens for e in final
        )


def test_an_agent_whose_requests_never_carry_tokens_gets_a_note(
    database_url: str, tmp_path: Path
) -> None:
    measured = [_request(n, "s-measured", output=3) for n in range(2)]
    no_tokens = [
        replace(_request(n, "s-warp", output=0), agent="warp", tokens_known=False, input_tokens=0)
        for n in range(3)
    ]
    upload(database_url, tmp_path, [*measured, *no_tokens], user="alice", machine="m")
    with open_team_analytics(database_url) as team:
        assert team.token_notes(Query()) == [TokenNote("warp", False, 0)]
        assert team.token_notes(Query(agents=("claude_code",))) == []
