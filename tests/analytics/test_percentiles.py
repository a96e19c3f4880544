"""The percentiles from counted values (analytics.percentiles) against a direct computation."""

from __future__ import annotations

import random
from collections import Counter

from analytics.percentiles import from_counts, percentile


def test_counted_values_give_percentile_cont_exactly():
    rng = random.Random(20)
    for _ in range(500):
        values = [rng.randrange(rng.choice([1, 3, 60, 5000])) for _ in range(rng.randrange(1, 80))]
        for fraction in (0.0, 0.5, 0.9, 1.0):
            assert from_counts(Counter(values), fraction) == percentile(sorted(values), fraction)
    assert from_counts({}, 0.5) is None
