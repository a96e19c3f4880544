"""Median and 90th percentile, exactly as PostgreSQL's percentile_cont gives them.

The figures (analytics.leadtimes, analytics.stages) merge the sorted durations of the roll-up
cells and of the facts (analytics.rollups) and take `percentile` of the merged list: linear
interpolation between the two nearest values, as percentile_cont. `from_counts` gives the same
over values counted (value → how many).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """percentile_cont over values already sorted."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def from_counts(counts: dict[Any, int], fraction: float) -> float | None:
    """percentile_cont over the values counted (value → how many), exactly as over the rows."""
    total = sum(counts.values())
    if not total:
        return None
    position = fraction * (total - 1)
    low = int(position)
    high = min(low + 1, total - 1)
    ordered = sorted(counts)
    # The values at ranks `low` and `high` (0-based), walking the counts upwards; `high` is at
    # most the last rank, so both are found.
    at_low: Any = None
    at_high: Any = ordered[-1]
    seen = 0
    for value in ordered:
        seen += counts[value]
        if at_low is None and seen > low:
            at_low = value
        if seen > high:
            at_high = value
            break
    return at_low + (at_high - at_low) * (position - low)
