"""A deterministic multi-session Claude Code corpus with every duplication pattern."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.helpers import ClaudeSession


def write_corpus(config_dir: Path, sessions: int = 12, turns: int = 40, seed: int = 7) -> int:
    """Writes the corpus; returns the number of distinct requests it contains."""
    rng = random.Random(seed)
    start = datetime(2026, 10, 20, 8, 0, tzinfo=UTC)
    distinct = 0
    previous: list[dict[str, object]] = []
    for index in range(sessions):
        s = ClaudeSession(config_dir, cwd=f"/home/dev/project-{index % 3}")
        if previous and index % 4 == 3:  # a resumed session starts with copied history
            s.write(*previous[-10:])
        clock = start + timedelta(hours=7 * index)
        lines: list[dict[str, object]] = []
        for turn in range(turns):
            clock += timedelta(minutes=rng.randint(1, 30))
            ts = clock.isoformat().replace("+00:00", "Z")
            lines.append(s.prompt(f"turn {turn}", ts))
            message = f"msg_{index}_{turn}"
            final = rng.randint(50, 900)
            for output in (rng.randint(1, 8), final):  # streaming snapshot, then final
                lines.append(
                    s.assistant(
                        ts,
                        message,
                        request_id=f"req_{index}_{turn}",
                        input_tokens=rng.randint(1, 50),
                        output_tokens=output,
                        cache_read=rng.randint(0, 90_000),
                        cache_write_5m=rng.randint(0, 5000),
                        cache_write_1h=rng.randint(0, 2000),
                        content=[
                            {
                                "type": "tool_use",
                                "id": f"toolu_{index}_{turn}",
                                "name": "Bash",
                                "input": {"command": "make"},
                            }
                        ],
                    )
                )
            # the input/cache fields of both copies must match: copy them from the first one
            lines[-1]["message"]["usage"].update(  # type: ignore[index]
                {
                    k: v
                    for k, v in lines[-2]["message"]["usage"].items()  # type: ignore[index]
                    if k != "output_tokens"
                }
            )
            lines.append(s.tool_result(ts, f"toolu_{index}_{turn}", "ok " * rng.randint(1, 400)))
            distinct += 1
        s.write(*lines)
        previous = lines
    return distinct
