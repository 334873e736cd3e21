"""``agenttail statusline``: one line for Claude Code's ``statusLine`` hook.

The hook runs on every prompt refresh, so this only reads the store (never scans) and never
fails: any problem prints a short fallback line instead, and the hook still gets exit 0.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, tzinfo
from typing import Any, NamedTuple

from agenttail.analytics import Analytics, ModelPrice, Usage, price_usage
from agenttail.display import dollars

FALLBACK = "agenttail: no usage data"

# Context window by model family (first matching prefix wins), in tokens. Claude's standard
# window is 200k (the 1M beta is opt-in per request and not recorded); the hook's own
# ``context_window.context_window_size`` wins when it sends one.
CONTEXT_WINDOWS: tuple[tuple[str, int], ...] = (
    ("claude-", 200_000),
    ("gpt-5", 400_000),
    ("gpt-4.1", 1_047_576),
    ("gpt-4o", 128_000),
    ("gemini-", 1_048_576),
)


class HookInput(NamedTuple):
    session_id: str | None
    model: str | None
    window_tokens: int | None


def parse_hook_input(text: str) -> HookInput:
    """The fields we use from the hook's JSON; anything missing is None."""
    data = json.loads(text) if text.strip() else {}
    if not isinstance(data, dict):
        data = {}
    model = data.get("model")
    model_id = model.get("id") if isinstance(model, dict) else None
    context = data.get("context_window")
    size = context.get("context_window_size") if isinstance(context, dict) else None
    session = data.get("session_id")
    return HookInput(
        session_id=session if isinstance(session, str) and session else None,
        model=model_id if isinstance(model_id, str) else None,
        window_tokens=size if isinstance(size, int) and size > 0 else None,
    )


def context_window(model: str | None) -> int | None:
    if not model:
        return None
    for prefix, tokens in CONTEXT_WINDOWS:
        if model.startswith(prefix):
            return tokens
    return None


def _duration(ms: int) -> str:
    minutes = max(ms, 0) // 60_000
    return f"{minutes // 60}h{minutes % 60:02d}m"


def status_line(
    analytics: Analytics,
    hook: HookInput,
    now_ms: int,
    tz: tzinfo,
    prices: dict[str, ModelPrice],
) -> str:
    """``session $x · today $y · block $z/h 1h23m left · ctx 42%`` (parts it cannot know are
    left out)."""
    from agenttail.report import active_block, today_options

    parts: list[str] = []
    if hook.session_id:
        events = analytics.session_timeline(hook.session_id)
        per_model: dict[str | None, Usage] = {}
        for event in events:
            per_model[event.model] = per_model.get(event.model, Usage()) + event.usage
        session = sum(
            (price_usage(model, usage, prices) for model, usage in per_model.items()), Usage()
        )
        parts.append(f"session {dollars(session)}")
        contexts = [e.context_tokens for e in events if e.context_tokens]
        window = hook.window_tokens or context_window(hook.model)
        if contexts and window:
            parts.append(f"ctx {round(100 * contexts[-1] / window)}%")
    today_query = today_options(tz, now_ms, prices).query
    today = sum((row.usage for row in analytics.usage(today_query)), Usage())
    parts.insert(1 if hook.session_id else 0, f"today {dollars(today)}")
    active = active_block(analytics, tz, now_ms, prices)
    if active is not None:
        end_ms = int(datetime.fromisoformat(active["end"]).timestamp() * 1000)
        left = _duration(end_ms - now_ms)
        burn = active["burn_rate"]
        rate = burn["cost_per_hour"] if burn else None
        shown = f"${rate:.2f}/h" if rate is not None else "-/h"
        parts.insert(2 if hook.session_id else 1, f"block {shown} {left} left")
    return " · ".join(parts) if parts else FALLBACK


def line_from_stdin() -> str:
    """The line for the hook's JSON on stdin; a closed or undecodable stdin still gets one."""
    try:
        text = sys.stdin.read()
    except (OSError, UnicodeDecodeError):
        text = ""
    return run(text)


def run(stdin_text: str) -> str:
    """The line to print; never raises."""
    try:
        return _line(stdin_text)
    except Exception as exc:  # noqa: BLE001 - the hook must never fail: say what, briefly
        return f"agenttail: {type(exc).__name__}"


def _line(stdin_text: str) -> str:
    from agenttail.clock import now_ms
    from agenttail.config import custom_prices, load_config
    from agenttail.paths import AppPaths
    from agenttail.report import resolve_timezone
    from agenttail.store import open_readonly
    from agenttail.store.analytics import SqliteAnalytics

    hook = parse_hook_input(stdin_text)
    paths = AppPaths.resolve()
    store = open_readonly(paths)
    if store is None:
        return FALLBACK
    try:
        prices = custom_prices(load_config(paths, strict=False))
        analytics: Any = SqliteAnalytics(store)
        return status_line(analytics, hook, now_ms(), resolve_timezone(None), prices)
    finally:
        store.close()
