"""Timing the private way beside the public one, in the same run (bench/private_code.py)."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from typing import Any


def compare(
    label: str, ways: dict[str, Callable[[], Any]], rounds: int, base: str | None = None
) -> dict[str, list[float]]:
    """Run every way once per round, order rotating; print median [min] and the ratio to
    `base` (the first way by default)."""
    names = list(ways)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        order = names[r % len(names) :] + names[: r % len(names)]
        for name in order:
            t = time.perf_counter()
            ways[name]()
            times[name].append(time.perf_counter() - t)
    base = base or names[0]
    b_med, b_min = statistics.median(times[base]), min(times[base])
    print(f"  {label}")
    for name in names:
        med, low = statistics.median(times[name]), min(times[name])
        ratio = "" if name == base else f"   x{med / b_med:.2f} [x{low / b_min:.2f}]"
        print(f"    {name:<44} {med * 1000:8.2f} ms [{low * 1000:8.2f}]{ratio}")
    return times


def django_setup(**env: str) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
