"""Closed months rolled up: each cell's durations as one sorted list, so a year reads fast.

A year of a city's figures is ~200,000 lead times and ~570,000 task times; reading them from the
facts on every request took seconds (issue 20's benchmark). A decided document's facts do not
change once their month is over, so each closed month is kept as cells: lead times per month ×
department × type × route (`LeadTimeMonth`), waiting and handling per month × department × type
× stage (`StageTimeMonth`) and each approver's tasks (`ApproverMonth`), the durations as sorted
lists. A request reads the cells of the whole rolled-up months inside its period (a few thousand
rows), and the facts of the rest of the period (the months at its ends, the current month, any
month not rolled up) turned into cells the same way here; the figures then merge the cells'
lists and take percentile_cont's median and 90th percentile exactly (analytics.percentiles), as
they would over the facts.

Keeping it true: `RolledMonth` says a month's cells are whole. `roll_up` writes a month's cells
and its mark in one transaction; `facts.refresh` calls `changed` in the transaction that writes
facts, which drops the cells and the mark of every rolled-up month whose facts it changes (a late
action, a calendar change, a rebuild), so requests read that month's facts until the month is
rolled up again (`manage.py roll_up_analytics`, daily on beat). On PostgreSQL a month's writers
take an advisory lock on it, so a roll-up never commits cells read before a change it missed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from analytics.filters import Filters
from analytics.models import (
    ApproverMonth,
    DocumentFact,
    LeadTimeMonth,
    RolledMonth,
    StageFact,
    StageTimeMonth,
)
from workflow.models import BLOCKING_KINDS, SlotKind, SlotStatus

# Calendar days are counted in hundredths of a day (analytics.leadtimes explains why).
DAY_STEPS = 100
# A cell keeps its slowest documents, as many as a period's list shows.
SLOWEST = 20
# The advisory lock's first key: analytics' monthly roll-ups (any constant of our own).
_LOCK_SPACE = 20_2020

Cell = dict[str, Any]

# The facts' columns the cells are made of: a change to any of them changes a rolled-up month.
LEAD_COLUMNS = (
    "document_id",
    "decided_month",
    "department_id",
    "doc_type_id",
    "route_code",
    "route_name",
    "lead_minutes",
    "lead_days",
    "send_backs",
    "resubmissions",
    "questions",
)
STAGE_COLUMNS = (
    "slot_id",
    "acted_on",
    "department_id",
    "doc_type_id",
    "route_code",
    "route_name",
    "stage_name",
    "stage_index",
    "kind",
    "outcome",
    "actor_id",
    "on_behalf_of_id",
    "actor_department",
    "wait_minutes",
    "handle_minutes",
    "questions",
)
_LEAD_KEY = ("month", "department_id", "doc_type_id", "route_code", "route_name")
_STAGE_KEY = ("month", "department_id", "doc_type_id", "route_code", "stage_name")
_APPROVER_KEY = ("month", "department_id", "doc_type_id", "actor_id")
_LEAD_COUNTERS = ("documents", "sent_back_documents", "send_backs", "resubmissions", "questions")
_STAGE_COUNTERS = ("tasks", "send_backs", "rejections", "questions")
APPROVER_COUNTERS = (
    "approvals",
    "consultations",
    "deputy_decisions",
    "post_reviews",
    "circulations",
    "send_backs",
)


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month + timedelta(days=32)).replace(day=1)


def day_steps(lead_days: float) -> int:
    """As PostgreSQL's floor(lead_days * 100 + 0.5) (same IEEE doubles)."""
    return int((lead_days * DAY_STEPS + 0.5) // 1)


# --- Cells from facts ---------------------------------------------------------------------------


def lead_cells(rows: Iterable[Sequence[Any]]) -> list[Cell]:
    """The cells of decided documents' facts, given as tuples of LEAD_COLUMNS."""
    cells: dict[tuple[Any, ...], Cell] = {}
    for pk, month, dept, doc_type, code, name, minutes, days, backs, resubs, asked in rows:
        if minutes is None:
            continue
        key = (month, dept, doc_type, code, name)
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {
                **dict(zip(_LEAD_KEY, key, strict=True)),
                **dict.fromkeys(_LEAD_COUNTERS, 0),
                "office_minutes": [],
                "calendar_hundredths": [],
                "slowest": [],
            }
        cell["documents"] += 1
        cell["sent_back_documents"] += backs > 0
        cell["send_backs"] += backs
        cell["resubmissions"] += resubs
        cell["questions"] += asked
        cell["office_minutes"].append(minutes)
        cell["calendar_hundredths"].append(day_steps(days))
        cell["slowest"].append((-minutes, pk))
    for cell in cells.values():
        cell["office_minutes"].sort()
        cell["calendar_hundredths"].sort()
        slow = sorted(cell.pop("slowest"))[:SLOWEST]
        cell["slowest_ids"] = [pk for _, pk in slow]
        cell["slowest_minutes"] = [-m for m, _ in slow]
    return list(cells.values())


def stage_cells(rows: Iterable[Sequence[Any]]) -> tuple[list[Cell], list[Cell]]:
    """The stage cells (blocking tasks) and approver cells (all tasks) of closed tasks' facts,
    given as tuples of STAGE_COLUMNS."""
    stages: dict[tuple[Any, ...], Cell] = {}
    people: dict[tuple[Any, ...], Cell] = {}
    for row in rows:
        (_, acted_on, dept, doc_type, code, route_name, stage_name, index, kind, outcome) = row[:10]
        actor, behalf, actor_dept, wait, handle, asked = row[10:]
        month = month_of(acted_on)
        blocking = kind in BLOCKING_KINDS
        if blocking:
            key = (month, dept, doc_type, code, stage_name)
            cell = stages.get(key)
            if cell is None:
                cell = stages[key] = {
                    **dict(zip(_STAGE_KEY, key, strict=True)),
                    **dict.fromkeys(_STAGE_COUNTERS, 0),
                    "route_name": route_name,
                    "first_index": index,
                    "waiting": [],
                    "handling": [],
                }
            cell["tasks"] += 1
            cell["send_backs"] += outcome == SlotStatus.SENT_BACK
            cell["rejections"] += outcome == SlotStatus.REJECTED
            cell["questions"] += asked
            cell["route_name"] = max(cell["route_name"], route_name)
            cell["first_index"] = min(cell["first_index"], index)
            cell["waiting"].append(wait)
            cell["handling"].append(handle)
        whose = (month, dept, doc_type, actor)
        person = people.get(whose)
        if person is None:
            person = people[whose] = {
                **dict(zip(_APPROVER_KEY, whose, strict=True)),
                **dict.fromkeys(APPROVER_COUNTERS, 0),
                "actor_department": actor_dept,
                "handling": [],
            }
        deputy = behalf is not None
        person["approvals"] += kind == SlotKind.APPROVE and not deputy
        person["consultations"] += kind == SlotKind.CONSULT and not deputy
        person["deputy_decisions"] += blocking and deputy
        person["post_reviews"] += kind == SlotKind.POST_REVIEW
        person["circulations"] += kind == SlotKind.CIRCULATE
        person["send_backs"] += outcome == SlotStatus.SENT_BACK
        person["actor_department"] = max(person["actor_department"], actor_dept)
        if blocking:
            person["handling"].append(handle)
    for cell in stages.values():
        cell["waiting"].sort()
        cell["handling"].sort()
    for person in people.values():
        person["handling"].sort()
    return list(stages.values()), list(people.values())


# --- The same cells counted by PostgreSQL ------------------------------------------------------
#
# On PostgreSQL the cells are made by the database (array_agg with ORDER BY, one statement per
# kind of cell): reading a month's ~50,000 task facts into Python to group them took longer than
# the whole figure may. The statements give exactly what lead_cells and stage_cells give (tests
# compare them); text maxima are taken in code-point order (COLLATE "C"), as Python's max().

_MONTH_OF_ACTED = "(acted_on - (EXTRACT(DAY FROM acted_on)::int - 1))"


def _rows(querysets: Sequence[Any], columns: Sequence[str]) -> Iterator[Sequence[Any]]:
    for queryset in querysets:
        yield from queryset.order_by().values_list(*columns).iterator(5000)


def _sql(
    querysets: Sequence[Any], columns: Sequence[str], select: str, where: str, group: int
) -> list[Any]:
    """`select … group by` the first `group` columns over the rows of these querysets (each a
    range of dates read from the facts' covering index alone)."""
    if not querysets:
        return []
    parts, params = [], []
    for queryset in querysets:
        inner, inner_params = queryset.values(*columns).order_by().query.sql_with_params()
        parts.append(f"({inner})")
        params.extend(inner_params)
    sql = (
        # Our own columns and constants; the values are parameters.
        f"SELECT {select} FROM ({' UNION ALL '.join(parts)}) AS f "  # noqa: S608
        f"WHERE {where} GROUP BY {', '.join(str(i) for i in range(1, group + 1))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _blocking() -> str:
    return ", ".join(f"'{kind}'" for kind in BLOCKING_KINDS)


def lead_cells_of(querysets: Sequence[Any]) -> list[Cell]:
    """The lead-time cells of the DocumentFact rows of these querysets."""
    if connection.vendor != "postgresql":
        return lead_cells(_rows(querysets, LEAD_COLUMNS))
    rows = _sql(
        querysets,
        LEAD_COLUMNS,
        "decided_month, department_id, doc_type_id, route_code, route_name, COUNT(*), "
        "COUNT(*) FILTER (WHERE send_backs > 0), SUM(send_backs), SUM(resubmissions), "
        "SUM(questions), ARRAY_AGG(lead_minutes ORDER BY lead_minutes), "
        f"ARRAY_AGG(FLOOR(lead_days * {DAY_STEPS} + 0.5)::int "
        f"ORDER BY FLOOR(lead_days * {DAY_STEPS} + 0.5)), "
        f"(ARRAY_AGG(document_id ORDER BY lead_minutes DESC, document_id))[1:{SLOWEST}], "
        f"(ARRAY_AGG(lead_minutes ORDER BY lead_minutes DESC, document_id))[1:{SLOWEST}]",
        "lead_minutes IS NOT NULL",
        5,
    )
    names = (
        *_LEAD_KEY,
        *_LEAD_COUNTERS,
        "office_minutes",
        "calendar_hundredths",
        "slowest_ids",
        "slowest_minutes",
    )
    return [dict(zip(names, row, strict=True)) for row in rows]


def stage_cells_of(querysets: Sequence[Any]) -> tuple[list[Cell], list[Cell]]:
    """The stage and approver cells of the StageFact rows of these querysets."""
    if connection.vendor != "postgresql":
        return stage_cells(_rows(querysets, STAGE_COLUMNS))
    blocking = _blocking()
    stages = _sql(
        querysets,
        STAGE_COLUMNS,
        f"{_MONTH_OF_ACTED}, department_id, doc_type_id, route_code, stage_name, COUNT(*), "
        f"COUNT(*) FILTER (WHERE outcome = '{SlotStatus.SENT_BACK}'), "
        f"COUNT(*) FILTER (WHERE outcome = '{SlotStatus.REJECTED}'), SUM(questions), "
        'MAX(route_name COLLATE "C"), MIN(stage_index), '
        "ARRAY_AGG(wait_minutes), ARRAY_AGG(handle_minutes)",
        f"kind IN ({blocking})",
        5,
    )
    stage_names = (
        *_STAGE_KEY,
        *_STAGE_COUNTERS,
        "route_name",
        "first_index",
        "waiting",
        "handling",
    )
    people = _sql(
        querysets,
        STAGE_COLUMNS,
        f"{_MONTH_OF_ACTED}, department_id, doc_type_id, actor_id, "
        f"COUNT(*) FILTER (WHERE kind = '{SlotKind.APPROVE}' AND on_behalf_of_id IS NULL), "
        f"COUNT(*) FILTER (WHERE kind = '{SlotKind.CONSULT}' AND on_behalf_of_id IS NULL), "
        f"COUNT(*) FILTER (WHERE kind IN ({blocking}) AND on_behalf_of_id IS NOT NULL), "
        f"COUNT(*) FILTER (WHERE kind = '{SlotKind.POST_REVIEW}'), "
        f"COUNT(*) FILTER (WHERE kind = '{SlotKind.CIRCULATE}'), "
        f"COUNT(*) FILTER (WHERE outcome = '{SlotStatus.SENT_BACK}'), "
        'MAX(actor_department COLLATE "C"), '
        f"COALESCE(ARRAY_AGG(handle_minutes) FILTER (WHERE kind IN ({blocking})), '{{}}')",
        "TRUE",
        4,
    )
    people_names = (*_APPROVER_KEY, *APPROVER_COUNTERS, "actor_department", "handling")
    by_stage = [dict(zip(stage_names, row, strict=True)) for row in stages]
    by_person = [dict(zip(people_names, row, strict=True)) for row in people]
    # Sorted here: an ordered aggregate would make PostgreSQL sort every row by the text keys
    # of its group, where hashing them is three times faster.
    for cell in by_stage:
        cell["waiting"].sort()
        cell["handling"].sort()
    for cell in by_person:
        cell["handling"].sort()
    return by_stage, by_person


# --- Rolling up and dropping -----------------------------------------------------------------


def _lock(months: Iterable[date]) -> None:
    """Hold each month until the transaction ends (PostgreSQL; SQLite writes one at a time)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        for month in sorted(set(months)):  # one order everywhere: no deadlock
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s, %s)", [_LOCK_SPACE, month.year * 12 + month.month]
            )


def _roomy() -> None:
    """For the rest of the transaction: a month of facts grouped into cells sorts in memory (the
    default 4 MB of work_mem spills it to disk), and no JIT, which costs more than it saves on
    statements of a few hundred milliseconds."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
            cursor.execute("SET LOCAL jit = off")


def _month_q(field: str, month: date) -> Q:
    return Q(**{f"{field}__gte": month, f"{field}__lt": next_month(month)})


def roll_up(month: date) -> None:
    """Write the cells of one month from its facts, and mark it rolled up."""
    month = month_of(month)
    with transaction.atomic():
        _lock([month])
        _roomy()
        _delete([month])
        leads = lead_cells_of(
            [DocumentFact.objects.filter(decided_month=month, lead_minutes__isnull=False)]
        )
        stages, people = stage_cells_of([StageFact.objects.filter(_month_q("acted_on", month))])
        LeadTimeMonth.objects.bulk_create([LeadTimeMonth(**c) for c in leads], batch_size=500)
        StageTimeMonth.objects.bulk_create([StageTimeMonth(**c) for c in stages], batch_size=500)
        ApproverMonth.objects.bulk_create([ApproverMonth(**c) for c in people], batch_size=500)
        RolledMonth.objects.create(month=month, rolled_at=timezone.now())


def closed_months(today: date | None = None) -> list[date]:
    """The months with facts that are over (before today's month, Tokyo time)."""
    current = month_of(today or timezone.localdate())
    first = [
        DocumentFact.objects.filter(decided_month__isnull=False)
        .order_by("decided_month")
        .values_list("decided_month", flat=True)
        .first(),
        StageFact.objects.order_by("acted_on").values_list("acted_on", flat=True).first(),
    ]
    known = [month_of(d) for d in first if d is not None]
    months = []
    month = min(known) if known else current
    while month < current:
        months.append(month)
        month = next_month(month)
    return months


def roll_up_closed(today: date | None = None, progress: Any = None) -> list[date]:
    """Roll up every closed month not rolled up yet (after a change dropped it, or a new month
    closed); the months rolled up."""
    done = set(RolledMonth.objects.values_list("month", flat=True))
    rolled = []
    for month in closed_months(today):
        if month not in done:
            roll_up(month)
            rolled.append(month)
            if progress is not None:
                progress(month)
    return rolled


def _delete(months: Sequence[date]) -> None:
    for model in (RolledMonth, LeadTimeMonth, StageTimeMonth, ApproverMonth):
        model.objects.filter(month__in=months).delete()


def drop(months: Iterable[date]) -> None:
    """Drop these months' cells: the figures read their facts until they are rolled up again."""
    months = sorted({month_of(m) for m in months})
    if months:
        with transaction.atomic():
            _lock(months)
            _delete(months)


def drop_for_documents(ids: Sequence[int]) -> None:
    """Drop the months these documents' facts are counted in (before the facts go)."""
    months = {
        month
        for month in DocumentFact.objects.filter(document_id__in=ids)
        .values_list("decided_month", flat=True)
        .distinct()
        if month is not None
    }
    months |= {
        month_of(day)
        for day in StageFact.objects.filter(document_id__in=ids)
        .values_list("acted_on", flat=True)
        .distinct()
    }
    drop(months)


def drop_all() -> None:
    with transaction.atomic():
        for model in (RolledMonth, LeadTimeMonth, StageTimeMonth, ApproverMonth):
            model.objects.all().delete()


def changed(
    document_ids: Q, lead_facts: list[dict[str, Any]], stage_facts: list[dict[str, Any]]
) -> None:
    """Called in the transaction that replaces these documents' facts with the ones given
    (before the old are deleted): drop the rolled-up months whose cells they change."""
    old_lead = list(DocumentFact.objects.filter(document_ids).values_list(*LEAD_COLUMNS))
    old_stage = list(StageFact.objects.filter(document_ids).values_list(*STAGE_COLUMNS))
    new_lead = [tuple(f[c] for c in LEAD_COLUMNS) for f in lead_facts]
    new_stage = [tuple(f[c] for c in STAGE_COLUMNS) for f in stage_facts]
    # (figure, month) → the rows before and after.
    by_month: dict[tuple[str, date], tuple[set[Any], set[Any]]] = defaultdict(
        lambda: (set(), set())
    )
    for side, rows in ((0, old_lead), (1, new_lead)):
        for row in rows:
            if row[1] is not None and row[6] is not None:
                by_month[("lead", row[1])][side].add(row)
    for side, rows in ((0, old_stage), (1, new_stage)):
        for row in rows:
            by_month[("stage", month_of(row[1]))][side].add(row)
    touched = {month for _, month in by_month}
    if not touched:
        return
    # Locked before reading which months are rolled up: a roll-up of one of them either
    # committed before (and is seen, and dropped) or reads these facts after this commits.
    _lock(touched)
    rolled = set(RolledMonth.objects.filter(month__in=touched).values_list("month", flat=True))
    stale = {month for (_, month), (old, new) in by_month.items() if month in rolled and old != new}
    if stale:
        _delete(sorted(stale))


# --- Reading a period -------------------------------------------------------------------------


@contextmanager
def reading() -> Iterator[None]:
    """One snapshot for the marks, the cells and the facts of a request (REPEATABLE READ on
    PostgreSQL when this is the outermost transaction), so a month dropped meanwhile is read
    whole from one side or the other, never from neither."""
    outer = not connection.in_atomic_block
    with transaction.atomic():
        if outer and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        _roomy()
        yield


def rest_ranges(filters: Filters, months: list[date]) -> list[tuple[date, date]]:
    """The days of the period outside these months (sorted), as ranges of dates: each is read
    from the facts with a range of the covering index of its own."""
    ranges = []
    start = filters.date_from
    for month in months:
        if start < month:
            ranges.append((start, month - timedelta(days=1)))
        start = max(start, next_month(month))
    if start <= filters.date_to:
        ranges.append((start, filters.date_to))
    return ranges


def _rest(model: Any, field: str, filters: Filters, months: list[date], **more: Any) -> list[Any]:
    return [
        model.objects.filter(filters.where(), **{f"{field}__range": span}, **more)
        for span in rest_ranges(filters, months)
    ]


def _cells_where(filters: Filters, months: list[date]) -> Q:
    q = Q(month__in=months)
    if filters.departments is not None:
        q &= Q(department_id__in=filters.departments)
    if filters.doc_type is not None:
        q &= Q(doc_type_id=filters.doc_type.pk)
    return q


def period_months(filters: Filters) -> list[date]:
    """The rolled-up months wholly inside the period: their cells are read, not their facts."""
    first = month_of(filters.date_from)
    if first != filters.date_from:
        first = next_month(first)
    # The months before the one of the day after the period's last end inside it.
    beyond = month_of(filters.date_to + timedelta(days=1))
    return list(
        RolledMonth.objects.filter(month__gte=first, month__lt=beyond)
        .order_by("month")
        .values_list("month", flat=True)
    )


_LEAD_FIELDS = (*_LEAD_KEY, *_LEAD_COUNTERS)
_LEAD_LISTS = ("office_minutes", "calendar_hundredths", "slowest_ids", "slowest_minutes")


def lead_period(filters: Filters, months: list[date]) -> list[Cell]:
    """The lead-time cells of the period: rolled-up months' rows, the rest from the facts."""
    rolled = list(
        LeadTimeMonth.objects.filter(_cells_where(filters, months)).values(
            *_LEAD_FIELDS, *_LEAD_LISTS
        )
    )
    rest = _rest(DocumentFact, "decided_on", filters, months, lead_minutes__isnull=False)
    return rolled + lead_cells_of(rest)


def lead_totals(filters: Filters, months: list[date]) -> dict[str, int]:
    """The documents decided in the period and their send-backs, resubmissions and questions."""
    totals = dict.fromkeys(_LEAD_COUNTERS, 0)
    for row in LeadTimeMonth.objects.filter(_cells_where(filters, months)).values_list(
        *_LEAD_COUNTERS
    ):
        for name, n in zip(_LEAD_COUNTERS, row, strict=True):
            totals[name] += n
    for rest in _rest(DocumentFact, "decided_on", filters, months, lead_minutes__isnull=False):
        rest_totals = rest.aggregate(
            documents=Count("pk"),
            sent_back_documents=Count("pk", filter=Q(send_backs__gt=0)),
            send_backs=Sum("send_backs"),
            resubmissions=Sum("resubmissions"),
            questions=Sum("questions"),
        )
        for name in _LEAD_COUNTERS:
            totals[name] += rest_totals[name] or 0
    return totals


_STAGE_FIELDS = (*_STAGE_KEY, *_STAGE_COUNTERS, "route_name", "first_index", "waiting", "handling")
_APPROVER_FIELDS = (*_APPROVER_KEY, *APPROVER_COUNTERS, "actor_department", "handling")


def stage_period(filters: Filters, months: list[date]) -> tuple[list[Cell], list[Cell]]:
    """The stage and approver cells of the period."""
    where = _cells_where(filters, months)
    stages = list(StageTimeMonth.objects.filter(where).values(*_STAGE_FIELDS))
    people = list(ApproverMonth.objects.filter(where).values(*_APPROVER_FIELDS))
    rest = _rest(StageFact, "acted_on", filters, months)
    more_stages, more_people = stage_cells_of(rest)
    return stages + more_stages, people + more_people


def merged(lists: Iterable[list[int]]) -> list[int]:
    """Sorted lists into one sorted list (timsort merges the sorted runs it is given)."""
    out: list[int] = []
    for values in lists:
        out += values
    out.sort()
    return out
