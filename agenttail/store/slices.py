"""The rollups' time slices and duration bins.

Shared by the rollup definitions (``rollups.py``, the writers' triggers) and the questions read
from them (``analytics.py``), so that a reader never loads the trigger definitions.
"""

from __future__ import annotations

QUARTER_HOUR_MS = 15 * 60 * 1000
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS
SPAN_MS = 28 * DAY_MS  # the coarsest slice: four weeks
BINS_PER_DOUBLING = 16


def bin_value_ms(bin_index: int) -> float:
    """The duration a bin stands for: its geometric centre."""
    return float(2.0 ** (bin_index / BINS_PER_DOUBLING))
