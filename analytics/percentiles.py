"""Median and 90th percentile by group: in the database on PostgreSQL, in Python elsewhere.

Both give `percentile_cont`'s answer (linear interpolation between the two nearest values), so
the figures do not depend on the database the tests ran on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Aggregate, Count, FloatField, QuerySet


class PercentileCont(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        # A literal from our own constants, never from a request.
        super().__init__(expression, fraction=repr(float(fraction)), **extra)


def percentile(ordered: Sequence[float], fraction: float) -> float | None:
    """percentile_cont over values already sorted."""
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def grouped(
    rows: QuerySet[Any],
    keys: Sequence[str],
    values: dict[str, str],
    fractions: Sequence[float] = (0.5, 0.9),
) -> dict[tuple[Any, ...], dict[str, Any]]:
    """For each group of `keys`: n, and `<name>_p50`, `<name>_p90` of each field in `values`
    (name → field)."""
    if connection.vendor == "postgresql":
        aggregates: dict[str, Any] = {"n": Count("pk")}
        for name, field in values.items():
            for fraction in fractions:
                aggregates[f"{name}_p{round(fraction * 100)}"] = PercentileCont(field, fraction)
        if not keys:
            return {(): rows.order_by().aggregate(**aggregates)}
        result = {}
        for row in rows.values(*keys).annotate(**aggregates).order_by():
            result[tuple(row[k] for k in keys)] = row
        return result
    collected: dict[tuple[Any, ...], dict[str, list[float]]] = defaultdict(
        lambda: defaultdict(list)
    )
    fields = list(values.values())
    for row in rows.values_list(*keys, *fields):
        key = tuple(row[: len(keys)])
        for name, value in zip(values, row[len(keys) :], strict=True):
            if value is not None:
                collected[key][name].append(value)
        collected[key]["__n"].append(1)
    out: dict[tuple[Any, ...], dict[str, Any]] = {}
    for key, series in collected.items():
        row = {k: v for k, v in zip(keys, key, strict=True)}
        row["n"] = len(series["__n"])
        for name in values:
            ordered = sorted(series.get(name, []))
            for fraction in fractions:
                row[f"{name}_p{round(fraction * 100)}"] = percentile(ordered, fraction)
        out[key] = row
    return out
