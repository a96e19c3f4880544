"""Median and 90th percentile by group, exact, from counts of each value.

The durations are whole office minutes, and a year of a city's decisions takes a few thousand
distinct values where it has hundreds of thousands of documents. So the database counts each
value per group (one scan of a covering index, hashed per grouping set: `GROUPING SETS`), and
the percentiles are found here from those counts. It is `percentile_cont`'s answer exactly
(linear interpolation between the two nearest values), without sorting every row once per group
and per figure, which is what made a year of figures take seconds (issue 20's benchmark).

On PostgreSQL the counting is one statement for every grouping; elsewhere (SQLite in tests) the
same counts are made in Python from the rows, so the figures do not depend on the database.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

# One grouping: the key columns, and the column whose values are counted (None: rows only).
Grouping = tuple[tuple[str, ...], str | None]
# Per grouping (in the order asked), per key: value → how many rows have it.
Counts = list[dict[tuple[Any, ...], dict[Any, int]]]

FRACTIONS = (0.5, 0.9)


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


def summary(counts: dict[Any, int] | None, name: str) -> dict[str, Any]:
    """`<name>_p50` and `<name>_p90` of one group's counted values."""
    counts = counts or {}
    return {f"{name}_p{round(f * 100)}": from_counts(counts, f) for f in FRACTIONS}


@contextmanager
def roomy() -> Iterator[None]:
    """A transaction whose statements may hash a year's values in memory (the default 4 MB of
    work_mem makes PostgreSQL spill them to disk) and skip JIT compilation, which costs more
    than it saves on statements of a few hundred milliseconds."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL work_mem = '64MB'")
                cursor.execute("SET LOCAL jit = off")
        yield


def counted(rows: QuerySet[Any], groupings: Sequence[Grouping]) -> Counts:
    """For each grouping, for each key: how many rows have each value of its counted column.

    `rows` is a queryset whose `.values()` may name fields and annotations; the columns named in
    `groupings` are read from it."""
    columns: list[str] = []
    for keys, value in groupings:
        for column in (*keys, *([value] if value else [])):
            if column not in columns:
                columns.append(column)
    out: Counts = [defaultdict(lambda: defaultdict(int)) for _ in groupings]
    if connection.vendor == "postgresql":
        _count_in_database(rows, columns, groupings, out)
        return out
    for row in rows.values_list(*columns):
        named = dict(zip(columns, row, strict=True))
        for index, (keys, value) in enumerate(groupings):
            key = tuple(named[k] for k in keys)
            out[index][key][named[value] if value else None] += 1
    return out


def _count_in_database(
    rows: QuerySet[Any], columns: list[str], groupings: Sequence[Grouping], out: Counts
) -> None:
    inner, params = rows.values(*columns).order_by().query.sql_with_params()
    quoted = [connection.ops.quote_name(c) for c in columns]
    sets = []
    masks: dict[int, int] = {}
    for index, (keys, value) in enumerate(groupings):
        used = [*keys, *([value] if value else [])]
        sets.append("(" + ", ".join(connection.ops.quote_name(c) for c in used) + ")")
        # GROUPING() sets a bit for each column the set leaves out: it names the set of a row
        # (a NULL key cannot, since keys may be NULL themselves).
        mask = sum(1 << (len(columns) - 1 - i) for i, c in enumerate(columns) if c not in used)
        masks[mask] = index
    # The column names are the queryset's own fields, quoted; the values stay parameters.
    sql = (
        f"SELECT GROUPING({', '.join(quoted)}), {', '.join(quoted)}, COUNT(*) "  # noqa: S608
        f"FROM ({inner}) AS rows GROUP BY GROUPING SETS ({', '.join(sets)})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for mask, *values, n in cursor.fetchall():
            index = masks[mask]
            keys, value = groupings[index]
            named = dict(zip(columns, values, strict=True))
            key = tuple(named[k] for k in keys)
            out[index][key][named[value] if value else None] += n
