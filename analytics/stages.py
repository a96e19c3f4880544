"""Where documents wait: each stage of each route, ranked, and each approver's load.

Per stage (route × stage name, over the tasks closed in the period): waiting time (the task opened
→ the approver first opened the document) and handling time (opened → acted), median and 90th
percentile in office hours; how often the stage sent the document back, and the questions (質疑)
it asked. The ranking is by the median handling time: the stage at the top is the bottleneck.

Approver load counts each person's closed tasks by kind, with deputy decisions (代決: acting for
an absent decider) and post-reviews (後閲: the decider reviewing afterwards) apart from the rest.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from analytics import rollups
from analytics.filters import Filters
from analytics.leadtimes import hours
from analytics.percentiles import percentile
from org.models import User


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def stages(filters: Filters) -> dict[str, Any]:
    # The closed months rolled up are read as cells, the rest of the period from the facts
    # (analytics.rollups); the figures merge the cells' sorted lists.
    with rollups.reading():
        months = rollups.period_months(filters)
        stage_cells, approver_cells = rollups.stage_period(filters, months)
        reworked = rework(filters, months)
        load = approvers(approver_cells)
    grouped: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for cell in stage_cells:
        grouped[(cell["route_code"], cell["stage_name"])].append(cell)
    rows = []
    for key, cells in grouped.items():
        tasks = sum(c["tasks"] for c in cells)
        waited = rollups.merged(c["waiting"] for c in cells)
        handled = rollups.merged(c["handling"] for c in cells)
        sent_back = sum(c["send_backs"] for c in cells)
        questions = sum(c["questions"] for c in cells)
        rows.append(
            {
                "route": key[0],
                "route_name": max(c["route_name"] for c in cells) or key[0],
                "stage": key[1],
                "stage_index": min(c["first_index"] for c in cells),
                "tasks": tasks,
                "wait_median_hours": hours(percentile(waited, 0.5)),
                "wait_p90_hours": hours(percentile(waited, 0.9)),
                "handle_median_hours": hours(percentile(handled, 0.5)),
                "handle_p90_hours": hours(percentile(handled, 0.9)),
                "send_backs": sent_back,
                "send_back_rate": _rate(sent_back, tasks),
                "rejections": sum(c["rejections"] for c in cells),
                "questions": questions,
                "questions_per_task": _rate(questions, tasks),
            }
        )
    rows.sort(
        key=lambda r: (
            -(r["handle_median_hours"] or 0),
            r["route"],
            r["stage_index"] or 0,
            r["stage"],
        )
    )
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "stages": rows,
        "rework": reworked,
        "approvers": load,
    }


def rework(filters: Filters, months: list[Any]) -> dict[str, Any]:
    """The rework loops send-backs cause, over the documents decided in the period."""
    totals = rollups.lead_totals(filters, months)
    documents = totals["documents"]
    return {
        "documents": documents,
        "documents_sent_back": totals["sent_back_documents"],
        "sent_back_share": _rate(totals["sent_back_documents"], documents),
        "send_backs": totals["send_backs"],
        "resubmissions": totals["resubmissions"],
        "questions": totals["questions"],
    }


def approvers(cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each approver's closed tasks by kind, and the median of their handling times (blocking
    tasks only)."""
    grouped: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for cell in cells:
        grouped[cell["actor_id"]].append(cell)
    load = [
        {
            "actor_id": actor,
            **{name: sum(c[name] for c in group) for name in rollups.APPROVER_COUNTERS},
            "department": max(c["actor_department"] for c in group),
            "handling": rollups.merged(c["handling"] for c in group),
        }
        for actor, group in grouped.items()
    ]
    people = {
        u.pk: u for u in User.objects.filter(pk__in=[r["actor_id"] for r in load if r["actor_id"]])
    }
    rows = []
    for row in load:
        person = people.get(row["actor_id"])
        handled = percentile(row["handling"], 0.5)
        rows.append(
            {
                "user": person.username if person else "",
                "name": str(person) if person else "",
                "department": row["department"] or "",
                "approvals": row["approvals"],
                "consultations": row["consultations"],
                "deputy_decisions": row["deputy_decisions"],
                "post_reviews": row["post_reviews"],
                "circulations": row["circulations"],
                "send_backs": row["send_backs"],
                "handle_median_hours": hours(handled),
            }
        )
    rows.sort(
        key=lambda r: (
            -(r["approvals"] + r["consultations"] + r["deputy_decisions"]),
            r["user"],
        )
    )
    return rows
