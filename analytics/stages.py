"""Where documents wait: each stage of each route, ranked, and each approver's load.

Per stage (route × stage name, over the tasks closed in the period): waiting time (the task opened
→ the approver first opened the document) and handling time (opened → acted), median and 90th
percentile in office hours; how often the stage sent the document back, and the questions (質疑)
it asked. The ranking is by the median handling time: the stage at the top is the bottleneck.

Approver load counts each person's closed tasks by kind, with deputy decisions (代決: acting for
an absent decider) and post-reviews (後閲: the decider reviewing afterwards) apart from the rest.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Max, Min, Q, Sum

from analytics.filters import Filters
from analytics.leadtimes import hours
from analytics.models import DocumentFact, StageFact
from analytics.percentiles import grouped
from org.models import User
from workflow.models import BLOCKING_KINDS, SlotKind, SlotStatus


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def stages(filters: Filters) -> dict[str, Any]:
    closed = StageFact.objects.filter(filters.on("acted_on"))
    blocking = closed.filter(kind__in=BLOCKING_KINDS)
    keys = ["route_code", "stage_name"]
    times = grouped(blocking, keys, {"wait": "wait_minutes", "handle": "handle_minutes"})
    counts = {
        (row["route_code"], row["stage_name"]): row
        for row in blocking.values(*keys)
        .annotate(
            sent_back=Count("pk", filter=Q(outcome=SlotStatus.SENT_BACK)),
            rejected=Count("pk", filter=Q(outcome=SlotStatus.REJECTED)),
            asked=Count("pk", filter=Q(questions__gt=0)),
            question_total=Sum("questions"),
            route_name=Max("route_name"),
            first_index=Min("stage_index"),
        )
        .order_by()
    }
    rows = []
    for key, t in times.items():
        c = counts.get(key, {})
        rows.append(
            {
                "route": key[0],
                "route_name": c.get("route_name") or key[0],
                "stage": key[1],
                "stage_index": c.get("first_index"),
                "tasks": t["n"],
                "wait_median_hours": hours(t["wait_p50"]),
                "wait_p90_hours": hours(t["wait_p90"]),
                "handle_median_hours": hours(t["handle_p50"]),
                "handle_p90_hours": hours(t["handle_p90"]),
                "send_backs": c.get("sent_back", 0),
                "send_back_rate": _rate(c.get("sent_back", 0), t["n"]),
                "rejections": c.get("rejected", 0),
                "questions": c.get("question_total") or 0,
                "questions_per_task": _rate(c.get("question_total") or 0, t["n"]),
            }
        )
    rows.sort(key=lambda r: (-(r["handle_median_hours"] or 0), r["route"], r["stage_index"] or 0))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "stages": rows,
        "rework": rework(filters),
        "approvers": approvers(closed),
    }


def rework(filters: Filters) -> dict[str, Any]:
    """The rework loops send-backs cause, over the documents decided in the period."""
    decided = DocumentFact.objects.filter(filters.on("decided_on"), decided_at__isnull=False)
    totals = decided.aggregate(
        documents=Count("pk"),
        sent_back=Count("pk", filter=Q(send_backs__gt=0)),
        loops=Sum("send_backs"),
        resubmissions=Sum("resubmissions"),
        questions=Sum("questions"),
    )
    documents = totals["documents"] or 0
    return {
        "documents": documents,
        "documents_sent_back": totals["sent_back"] or 0,
        "sent_back_share": _rate(totals["sent_back"] or 0, documents),
        "send_backs": totals["loops"] or 0,
        "resubmissions": totals["resubmissions"] or 0,
        "questions": totals["questions"] or 0,
    }


def approvers(closed: Any) -> list[dict[str, Any]]:
    times = grouped(
        closed.filter(kind__in=BLOCKING_KINDS), ["actor_id"], {"handle": "handle_minutes"}
    )
    load = (
        closed.values("actor_id")
        .annotate(
            approvals=Count("pk", filter=Q(kind=SlotKind.APPROVE, on_behalf_of__isnull=True)),
            consultations=Count("pk", filter=Q(kind=SlotKind.CONSULT, on_behalf_of__isnull=True)),
            deputy=Count("pk", filter=Q(kind__in=BLOCKING_KINDS, on_behalf_of__isnull=False)),
            post_reviews=Count("pk", filter=Q(kind=SlotKind.POST_REVIEW)),
            circulations=Count("pk", filter=Q(kind=SlotKind.CIRCULATE)),
            send_backs=Count("pk", filter=Q(outcome=SlotStatus.SENT_BACK)),
            department=Max("actor_department"),
        )
        .order_by()
    )
    people = {
        u.pk: u for u in User.objects.filter(pk__in=[r["actor_id"] for r in load if r["actor_id"]])
    }
    rows = []
    for row in load:
        person = people.get(row["actor_id"])
        t = times.get((row["actor_id"],), {})
        rows.append(
            {
                "user": person.username if person else "",
                "name": str(person) if person else "",
                "department": row["department"] or "",
                "approvals": row["approvals"],
                "consultations": row["consultations"],
                "deputy_decisions": row["deputy"],
                "post_reviews": row["post_reviews"],
                "circulations": row["circulations"],
                "send_backs": row["send_backs"],
                "handle_median_hours": hours(t.get("handle_p50")),
            }
        )
    rows.sort(
        key=lambda r: (
            -(r["approvals"] + r["consultations"] + r["deputy_decisions"]),
            r["user"],
        )
    )
    return rows
