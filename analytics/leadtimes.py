"""起案から決裁までの時間: lead time from submission to decision, for the decisions of a period.

Office hours (analytics.officehours) are what "it took" means in the office; calendar days are
beside them because that is how plans state their targets (Kyoto's 20 days → 10).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.urls import reverse

from analytics import rollups
from analytics.filters import Filters
from analytics.models import DocumentFact
from analytics.percentiles import percentile
from analytics.scope import department_names, titles
from documents.models import DocumentType

SLOWEST = 20


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# Calendar days are counted in hundredths of a day (14.4 minutes) for their percentiles
# (analytics.rollups keeps them so): the median and p90, shown to a tenth of a day, are within
# 0.005 day of percentile_cont over the exact durations. Office hours are whole minutes, exact.
DAY_STEPS = rollups.DAY_STEPS


def _figures(cells: list[dict[str, Any]]) -> dict[str, Any]:
    minutes = rollups.merged(c["office_minutes"] for c in cells)
    steps = rollups.merged(c["calendar_hundredths"] for c in cells)
    return {
        "count": len(minutes),
        "median_hours": hours(percentile(minutes, 0.5)),
        "p90_hours": hours(percentile(minutes, 0.9)),
        "median_days": days(_steps_to_days(percentile(steps, 0.5))),
        "p90_days": days(_steps_to_days(percentile(steps, 0.9))),
    }


def _steps_to_days(value: float | None) -> float | None:
    return None if value is None else value / DAY_STEPS


def _grouped(cells: list[dict[str, Any]], key: str) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        groups[cell[key]].append(cell)
    return groups


def lead_times(filters: Filters) -> dict[str, Any]:
    # The closed months rolled up are read as cells, the rest of the period from the facts
    # (analytics.rollups); every figure below merges the cells' sorted lists.
    with rollups.reading():
        months = rollups.period_months(filters)
        cells = rollups.lead_period(filters, months)
        slow = slowest(filters, cells)
    type_names = dict(DocumentType.objects.values_list("pk", "name"))
    type_codes = dict(DocumentType.objects.values_list("pk", "code"))
    names = department_names()
    route_names = {c["route_code"]: c["route_name"] for c in cells if c["route_code"]}
    by_month = _grouped(cells, "month")
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "overall": _figures(cells),
        "by_month": [
            {"month": month.strftime("%Y-%m"), **_figures(by_month[month])}
            for month in sorted(by_month)
        ],
        "by_type": sorted(
            (
                {
                    "doc_type": type_codes.get(key, ""),
                    "name": type_names.get(key, ""),
                    **_figures(group),
                }
                for key, group in _grouped(cells, "doc_type_id").items()
            ),
            key=lambda r: (-(r["median_hours"] or 0), r["doc_type"]),
        ),
        "by_department": sorted(
            (
                {"department": key, "name": names.get(key, ""), **_figures(group)}
                for key, group in _grouped(cells, "department_id").items()
            ),
            key=lambda r: (-(r["median_hours"] or 0), r["department"]),
        ),
        "by_route": sorted(
            (
                {"route": key, "name": route_names.get(key, key), **_figures(group)}
                for key, group in _grouped(cells, "route_code").items()
            ),
            key=lambda r: (-(r["median_hours"] or 0), r["route"]),
        ),
        "slowest": slow,
    }


def slowest(filters: Filters, cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The period's slowest decisions: each cell keeps its own slowest, enough for any period."""
    names = department_names()
    candidates = sorted(
        (-minutes, pk)
        for cell in cells
        for pk, minutes in zip(cell["slowest_ids"], cell["slowest_minutes"], strict=True)
    )[:SLOWEST]
    found = DocumentFact.objects.select_related("document", "doc_type").in_bulk(
        [pk for _, pk in candidates]
    )
    rows = [found[pk] for _, pk in candidates if pk in found]
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
