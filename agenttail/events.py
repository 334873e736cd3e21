"""Normalized metric events: the one shape every agent's records are turned into.

Token meaning follows Anthropic's API and ccusage: ``input_tokens`` is input neither read from
nor written to the cache. ``cache_write_tokens`` = ``cache_write_5m_tokens`` +
``cache_write_1h_tokens`` when the split is known.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypedDict

# Money moved to agenttail.money (readers need it without the event model); kept importable
# from here for the agents.
from agenttail.money import NANOS_PER_USD as NANOS_PER_USD
from agenttail.money import nusd_from_usd as nusd_from_usd
from agenttail.money import usd as usd


class EventKind(StrEnum):
    LLM_REQUEST = "llm_request"
    TOOL_CALL = "tool_call"
    API_ERROR = "api_error"
    COMPACTION = "compaction"
    TURN = "turn"


def classify_api_error(status: int | None, code: str | None, text: str | None) -> str:
    """The error class reports group by, from an HTTP status, an error code and message text.

    Classes: rate_limit, usage_limit, overloaded, auth, context_too_long, server_error,
    client_error, unknown.
    """
    words = " ".join(part.lower() for part in (code, text) if part)
    if "usage limit" in words:
        return "usage_limit"
    if status == 429 or "rate_limit" in words or "rate limit" in words:
        return "rate_limit"
    if status == 529 or "overloaded" in words:
        return "overloaded"
    if status in (401, 403) or "authentication" in words or "permission" in words:
        return "auth"
    if "too long" in words or "context length" in words or "context_length" in words:
        return "context_too_long"
    if (status is not None and status >= 500) or "server_error" in words:
        return "server_error"
    if status is not None and 400 <= status < 500:
        return "client_error"
    return "unknown"


def stable_id(*parts: object) -> str:
    """A deterministic id from the agent's own ids: re-reads of the same bytes give the same id."""
    text = "\x1f".join(["" if part is None else str(part) for part in parts])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def iso_from_ms(ts_ms: int) -> str:
    return datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(timespec="milliseconds")


def parse_iso_ms(value: object) -> int | None:
    """Epoch milliseconds from an ISO-8601 timestamp, or None when absent or unparseable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # 3.11 reads "Z" and fractions itself
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class TokenFields(TypedDict):
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int


TOKEN_FIELDS = tuple(TokenFields.__annotations__)


@dataclass(frozen=True, slots=True)
class TokenCounts:
    """One request's tokens by class, in the house meaning (input excludes cache traffic)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def all_input(self) -> int:
        """Everything the model read: the context occupancy of the request."""
        return self.input_tokens + self.cache_read_tokens + self.cache_write_tokens

    def fields(self) -> TokenFields:
        """The MetricEvent token fields these counts fill (``MetricEvent(**tokens.fields())``)."""
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_5m_tokens": self.cache_write_5m_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "reasoning_tokens": self.reasoning_tokens,
        }

    @classmethod
    def from_inclusive_input(
        cls,
        input: int,
        cached: int,
        cache_write: int = 0,
        *,
        output: int = 0,
        reasoning: int = 0,
        reasoning_in_output: bool = True,
    ) -> TokenCounts:
        """Counts from a provider that counts cache reads (and writes) inside ``input``:
        OpenAI (``input_tokens`` ⊇ ``cached_tokens``), Gemini (``promptTokenCount`` ⊇
        ``cachedContentTokenCount``), OTel GenAI (``gen_ai.usage.input_tokens``).

        The house ``output_tokens`` always includes reasoning, and ``reasoning_tokens`` is that
        part of it kept separately. OpenAI's output already includes reasoning (the default);
        pass ``reasoning_in_output=False`` for a provider that reports thoughts beside output
        (Gemini's ``thoughtsTokenCount``). Negative or inconsistent inputs are floored at 0.
        """
        cached, cache_write, reasoning = max(0, cached), max(0, cache_write), max(0, reasoning)
        output = max(0, output)
        return cls(
            input_tokens=max(0, input - cached - cache_write),
            output_tokens=output if reasoning_in_output else output + reasoning,
            cache_read_tokens=cached,
            cache_write_5m_tokens=cache_write,
            reasoning_tokens=reasoning,
        )

    def minus(self, earlier: TokenCounts) -> TokenCounts:
        """Field-wise difference (a running total minus an earlier one)."""
        return TokenCounts(*(getattr(self, f) - getattr(earlier, f) for f in _COUNT_FIELDS))

    def is_zero(self) -> bool:
        return not any(getattr(self, f) for f in _COUNT_FIELDS)

    @classmethod
    def of(cls, event: MetricEvent) -> TokenCounts:
        return cls(
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            cache_read_tokens=event.cache_read_tokens,
            cache_write_5m_tokens=event.cache_write_5m_tokens,
            cache_write_1h_tokens=event.cache_write_1h_tokens,
            reasoning_tokens=event.reasoning_tokens,
        )


_COUNT_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
)


def delta_from_total(
    state: dict[str, Any], total: TokenCounts, key: str = "running_total"
) -> TokenCounts | None:
    """The usage since the previous running total, for sources that report cumulative counts
    (Codex ``total_token_usage``, Droid ``tokenUsage``, Goose ``accumulated_*``).

    The previous total lives in the stream state under ``key`` (committed with the watermark,
    so a re-read never counts twice). None when nothing grew (a re-emitted total). A total
    that shrank in any field means the counter restarted: the new total is all new usage.
    """
    previous = state.get(key)
    state[key] = [getattr(total, f) for f in _COUNT_FIELDS]
    if isinstance(previous, list) and len(previous) == len(_COUNT_FIELDS):
        delta = total.minus(TokenCounts(*previous))
        if all(getattr(delta, f) >= 0 for f in _COUNT_FIELDS):
            return None if delta.is_zero() else delta
    return None if total.is_zero() else total


@dataclass(slots=True)
class MetricEvent:
    """One normalized event.

    ``dedup_key`` groups copies of one thing seen in several places (a Claude message and its
    sidechain replay; a Copilot session's tokens from its transcript and from its traces):
    only the rows of the group's highest ``precedence`` are counted.

    Cost is kept in integer nanodollars (``cost_nusd``: priced from genai-prices or custom
    prices; ``recorded_cost_nusd``: what the source itself recorded), so sums are exact and do
    not depend on the order of ingestion. ``None`` means unpriced, never $0.

    ``tokens_known`` is False for a request whose token counts the source did not record (it
    still counts as a request); ``estimated`` marks counts that are estimates, which are never
    added to measured totals. ``seq`` orders re-appended copies of one record ("last copy
    wins"): a copy with a higher ``seq`` replaces the stored one at the same precedence.
    """

    event_id: str
    kind: EventKind
    agent: str
    session_id: str
    ts_ms: int
    run_id: str | None = None
    project: str | None = None
    model: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    cost_nusd: int | None = None
    recorded_cost_nusd: int | None = None
    tokens_known: bool = True
    estimated: bool = False
    tool_name: str | None = None
    ok: bool | None = None
    duration_ms: float | None = None
    ttft_ms: float | None = None
    context_tokens: int | None = None
    history_len: int | None = None
    error_class: str | None = None
    dedup_key: str | None = None
    is_sidechain: bool = False
    precedence: int = 1
    seq: int = 0
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_read_tokens
            + self.cache_write_tokens
        )

    def outranks(self, other: MetricEvent) -> bool:
        """Whether this copy should replace ``other`` (a copy with the same event_id).

        Higher precedence wins (a main-chain copy beats a sidechain replay); then the later copy
        (``seq``), then the larger total (streaming snapshots grow), then larger output, then
        cost. The store's upsert applies the same order in SQL.
        """
        return self.rank() > other.rank()

    def rank(self) -> tuple[int, int, int, int, int]:
        return (
            self.precedence,
            self.seq,
            self.total_tokens,
            self.output_tokens,
            self.cost_nusd or 0,
        )


def last_copy_wins(event: MetricEvent, position: int) -> MetricEvent:
    """Marks ``event`` as the copy at ``position`` (the record's byte offset or item index) of
    a message its source re-appends whenever it updates it (Gemini): among copies of one
    ``event_id`` at the same precedence the store keeps the highest ``seq``, the last copy."""
    event.seq = max(0, position)
    return event
