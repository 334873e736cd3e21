"""Cost in USD from genai-prices' bundled snapshot (offline), cache tokens priced as such.

genai-prices costs ~150 us a call; prices are linear below the long-context tier, so per-model
rates are derived once and the full calculation is used only near a tier threshold.
"""

from __future__ import annotations

import threading
import warnings
from decimal import ROUND_HALF_EVEN, Decimal
from functools import lru_cache
from typing import TYPE_CHECKING

from agenttail.events import TokenCounts
from agenttail.money import NANOS_PER_USD

if TYPE_CHECKING:
    from genai_prices import Usage
    from genai_prices.types import PriceCalculation

    from agenttail.price_cache import PriceCache


__all__ = ["TokenCounts", "cost_nusd", "cost_or_recorded"]

# Inputs this large may hit a tiered (long-context) price: always use the full calculation.
LINEAR_INPUT_LIMIT = 190_000
_PROBE = 10_000
_lock = threading.Lock()


def _usage(tokens: TokenCounts) -> Usage:
    from genai_prices import Usage  # imported on first use: it costs ~0.1 s at start-up

    # genai-prices counts cache reads and writes inside input_tokens.
    return Usage(
        input_tokens=tokens.all_input,
        output_tokens=tokens.output_tokens,
        cache_read_tokens=tokens.cache_read_tokens,
        cache_write_tokens=tokens.cache_write_tokens,
        cache_write_5m_tokens=tokens.cache_write_5m_tokens,
        cache_write_1h_tokens=tokens.cache_write_1h_tokens,
    )


def _calculation(model: str, tokens: TokenCounts, provider: str | None) -> PriceCalculation:
    from genai_prices import calc_price

    with _lock, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(_usage(tokens), model, provider_id=provider)


def _exact(model: str, tokens: TokenCounts, provider: str | None) -> Decimal | None:
    try:
        return _calculation(model, tokens, provider).total_price
    except (LookupError, ValueError):
        return None


# Bump the version when the rates' derivation changes: rates kept on disk are then derived again.
_RATES_SETTINGS = f"rates-v1:{LINEAR_INPUT_LIMIT}:{_PROBE}"


@lru_cache(maxsize=1)
def _kept_rates() -> PriceCache:
    from agenttail.price_cache import open_cache

    return open_cache(_RATES_SETTINGS)


@lru_cache(maxsize=512)
def _rates(model: str, provider: str | None) -> tuple[Decimal, ...] | None:
    """Cost per token of each kind (and the base), from disk when kept there (price_cache)."""
    kept = _kept_rates()
    known, rates = kept.get(model, provider)
    if known:
        return rates
    try:
        base = _calculation(model, TokenCounts(), provider)
    except LookupError:  # genai-prices does not know the model, whatever the date
        kept.put(model, provider, None)
        return None
    except ValueError:
        return None
    rates = _derived_rates(model, provider, base.total_price)
    if _unconditional(base):
        kept.put(model, provider, rates)
    return rates


def _unconditional(calculation: PriceCalculation) -> bool:
    """Whether the model's price is one price (not by start date or time of day)."""
    from genai_prices.types import ModelPrice

    return isinstance(calculation.model.prices, ModelPrice)


def _derived_rates(model: str, provider: str | None, base: Decimal) -> tuple[Decimal, ...] | None:
    probes = (
        TokenCounts(input_tokens=_PROBE),
        TokenCounts(output_tokens=_PROBE),
        TokenCounts(cache_read_tokens=_PROBE),
        TokenCounts(cache_write_5m_tokens=_PROBE),
        TokenCounts(cache_write_1h_tokens=_PROBE),
    )
    rates = [base]
    for probe in probes:
        price = _exact(model, probe, provider)
        if price is None:
            return None
        rates.append((price - base) / _PROBE)
    return tuple(rates)


def _nanos(price: Decimal) -> int:
    return int((price * NANOS_PER_USD).to_integral_value(ROUND_HALF_EVEN))


def cost_nusd(model: str | None, tokens: TokenCounts, provider: str | None = None) -> int | None:
    """Cost of one request in integer nanodollars, or None for a model without a price."""
    if not model or model == "<synthetic>":
        return None
    if tokens.all_input >= LINEAR_INPUT_LIMIT:
        price = _exact(model, tokens, provider)
        return None if price is None else _nanos(price)
    rates = _rates(model, provider)
    if rates is None:
        return None
    base, per_in, per_out, per_read, per_5m, per_1h = rates
    total = (
        base
        + per_in * tokens.input_tokens
        + per_out * tokens.output_tokens
        + per_read * tokens.cache_read_tokens
        + per_5m * tokens.cache_write_5m_tokens
        + per_1h * tokens.cache_write_1h_tokens
    )
    return _nanos(total)


def cost_or_recorded(
    model: str | None, tokens: TokenCounts, recorded_nusd: int | None, provider: str | None = None
) -> int | None:
    """Priced cost, else what the agent recorded (a model genai-prices does not know)."""
    priced = cost_nusd(model, tokens, provider)
    return recorded_nusd if priced is None else priced


@lru_cache(maxsize=512)
def context_window(model: str | None) -> int | None:
    """The model's context window in tokens, as genai-prices knows it (None if unknown)."""
    if not model:
        return None
    from genai_prices import calc_price

    try:
        with _lock, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = calc_price(_usage(TokenCounts()), model).model.context_window
    except (LookupError, ValueError):
        return None
    return found if isinstance(found, int) else None
