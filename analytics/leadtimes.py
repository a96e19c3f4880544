"""起案から決裁までの時間: lead time from submission to decision, for the decisions of a period.

Office hours (analytics.officehours) are what "it took" means in the office; calendar days are
beside them because that is how plans state their targets (Kyoto's 20 days → 10).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import F, IntegerField
from django.db.models.functions import Cast, Floor
from django.urls import reverse

from analytics.filters import Filters
from analytics.models import DocumentFact
from analytics.percentiles import counted, roomy, summary
from analytics.scope import department_names, titles
from documents.models import DocumentType

SLOWEST = 20


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# Calendar days are counted in hundredths of a day (14.4 minutes) for their percentiles: a
# year's durations then take a few thousand distinct values to count (analytics.percentiles),
# and the median and p90, shown to a tenth of a day, are within 0.005 day of percentile_cont
# over the exact durations. Office hours are whole minutes already and are exact.
DAY_STEPS = 100

# The groupings of one statement: (key columns, the value counted).
_GROUPINGS: list[tuple[tuple[str, ...], str | None]] = [
    (("decided_month",), "lead_minutes"),
    (("decided_month",), "day_steps"),
    (("doc_type_id",), "lead_minutes"),
    (("doc_type_id",), "day_steps"),
    (("department_id",), "lead_minutes"),
    (("department_id",), "day_steps"),
    (("route_code",), "lead_minutes"),
    (("route_code",), "day_steps"),
    (("route_code", "route_name"), None),
]


def _figures(minutes: dict[Any, int] | None, steps: dict[Any, int] | None) -> dict[str, Any]:
    lead = summary(minutes, "lead")
    calendar = summary(steps, "days")
    return {
        "count": sum((minutes or {}).values()),
        "median_hours": hours(lead["lead_p50"]),
        "p90_hours": hours(lead["lead_p90"]),
        "median_days": days(_steps_to_days(calendar["days_p50"])),
        "p90_days": days(_steps_to_days(calendar["days_p90"])),
    }


def _steps_to_days(value: float | None) -> float | None:
    return None if value is None else value / DAY_STEPS


def _merged(groups: dict[tuple[Any, ...], dict[Any, int]]) -> dict[Any, int]:
    total: dict[Any, int] = defaultdict(int)
    for counts in groups.values():
        for value, n in counts.items():
            total[value] += n
    return total


def lead_times(filters: Filters) -> dict[str, Any]:
    decided = DocumentFact.objects.filter(filters.on("decided_on"), lead_minutes__isnull=False)
    with roomy():
        (
            months,
            month_days,
            types,
            type_days,
            departments,
            department_days,
            routes,
            route_days,
            named,
        ) = counted(
            decided.annotate(
                day_steps=Cast(Floor(F("lead_days") * DAY_STEPS + 0.5), IntegerField())
            ),
            _GROUPINGS,
        )
        slow = slowest(decided, filters)
    type_names = dict(DocumentType.objects.values_list("pk", "name"))
    type_codes = dict(DocumentType.objects.values_list("pk", "code"))
    names = department_names()
    route_names = {code: name for code, name in named if code}
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        # Every document falls in one month: the months together are the whole.
        "overall": _figures(_merged(months), _merged(month_days)),
        "by_month": [
            {"month": key[0].strftime("%Y-%m"), **_figures(months[key], month_days.get(key))}
            for key in sorted(months)
        ],
        "by_type": sorted(
            (
                {
                    "doc_type": type_codes.get(key[0], ""),
                    "name": type_names.get(key[0], ""),
                    **_figures(types[key], type_days.get(key)),
                }
                for key in types
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "by_department": sorted(
            (
                {
                    "department": key[0],
                    "name": names.get(key[0], ""),
                    **_figures(departments[key], department_days.get(key)),
                }
                for key in departments
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "by_route": sorted(
            (
                {
                    "route": key[0],
                    "name": route_names.get(key[0], key[0]),
                    **_figures(routes[key], route_days.get(key)),
                }
                for key in routes
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "slowest": slow,
    }


def slowest(decided: Any, filters: Filters) -> list[dict[str, Any]]:
    names = department_names()
    rows = list(
        decided.order_by("-lead_minutes", "document_id").select_related("document", "doc_type")[
            :SLOWEST
        ]
    )
    shown = titles(filters.reader, {f.document_id: f.document.title for f in rows})
    result = []
    for fact in rows:
        document = fact.document
        result.append(
            {
                "document": document.pk,
                "number": document.number or "",
                "title": shown[document.pk],
                "department": names.get(fact.department_id, ""),
                "doc_type": fact.doc_type.name,
                "submitted_at": fact.submitted_at,
                "decided_at": fact.decided_at,
                "lead_hours": hours(fact.lead_minutes),
                "lead_days": days(fact.lead_days),
                "send_backs": fact.send_backs,
                "url": reverse("frontend:document", args=[document.pk]),
            }
        )
    return result
