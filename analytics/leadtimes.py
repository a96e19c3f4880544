"""起案から決裁までの時間: lead time from submission to decision, for the decisions of a period.

Office hours (analytics.officehours) are what "it took" means in the office; calendar days are
beside them because that is how plans state their targets (Kyoto's 20 days → 10).
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from analytics.filters import Filters
from analytics.models import DocumentFact
from analytics.percentiles import grouped
from analytics.scope import department_names, titles
from documents.models import DocumentType

SLOWEST = 20


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


def days(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "count": row["n"],
        "median_hours": hours(row["lead_p50"]),
        "p90_hours": hours(row["lead_p90"]),
        "median_days": days(row["days_p50"]),
        "p90_days": days(row["days_p90"]),
    }


def _by(decided: Any, key: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return grouped(decided, [key], {"lead": "lead_minutes", "days": "lead_days"})


def lead_times(filters: Filters) -> dict[str, Any]:
    decided = DocumentFact.objects.filter(filters.on("decided_on"), lead_minutes__isnull=False)
    overall = grouped(decided, [], {"lead": "lead_minutes", "days": "lead_days"}).get(())
    months = _by(decided, "decided_month")
    types = _by(decided, "doc_type_id")
    departments = _by(decided, "department_id")
    routes = _by(decided, "route_code")
    type_names = dict(DocumentType.objects.values_list("pk", "name"))
    type_codes = dict(DocumentType.objects.values_list("pk", "code"))
    names = department_names()
    route_names = dict(
        decided.exclude(route_code="").values_list("route_code", "route_name").distinct()
    )
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "overall": _figures(overall or _empty()),
        "by_month": [
            {"month": key[0].strftime("%Y-%m"), **_figures(row)}
            for key, row in sorted(months.items())
        ],
        "by_type": sorted(
            (
                {
                    "doc_type": type_codes.get(key[0], ""),
                    "name": type_names.get(key[0], ""),
                    **_figures(row),
                }
                for key, row in types.items()
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "by_department": sorted(
            (
                {"department": key[0], "name": names.get(key[0], ""), **_figures(row)}
                for key, row in departments.items()
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "by_route": sorted(
            (
                {"route": key[0], "name": route_names.get(key[0], key[0]), **_figures(row)}
                for key, row in routes.items()
            ),
            key=lambda r: -(r["median_hours"] or 0),
        ),
        "slowest": slowest(decided, filters),
    }


def _empty() -> dict[str, Any]:
    return {"n": 0, "lead_p50": None, "lead_p90": None, "days_p50": None, "days_p90": None}


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
