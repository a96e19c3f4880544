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

from django.db.models import BooleanField, Case, Count, Max, Min, Q, Sum, Value, When

from analytics.filters import Filters
from analytics.leadtimes import hours
from analytics.models import DocumentFact, StageFact
from analytics.percentiles import counted, roomy, summary
from org.models import User
from workflow.models import BLOCKING_KINDS, SlotKind, SlotStatus


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


_STAGE = ("route_code", "stage_name")
# The groupings of one statement over the closed tasks of the period: waiting and handling per
# stage, and handling per approver, over the tasks that held the route (blocking).
_GROUPINGS: list[tuple[tuple[str, ...], str | None]] = [
    (("blocking", *_STAGE), "wait_minutes"),
    (("blocking", *_STAGE), "handle_minutes"),
    (("blocking", "actor_id"), "handle_minutes"),
]


def stages(filters: Filters) -> dict[str, Any]:
    closed = StageFact.objects.filter(filters.on("acted_on"))
    blocking = closed.filter(kind__in=BLOCKING_KINDS)
    with roomy():
        waits, handles, by_actor = counted(
            closed.annotate(
                blocking=Case(
                    When(kind__in=BLOCKING_KINDS, then=Value(True)),
                    default=Value(False),
                    output_field=BooleanField(),
                )
            ),
            _GROUPINGS,
        )
        counts = {
            (row["route_code"], row["stage_name"]): row
            for row in blocking.values(*_STAGE)
            .annotate(
                sent_back=Count("pk", filter=Q(outcome=SlotStatus.SENT_BACK)),
                rejected=Count("pk", filter=Q(outcome=SlotStatus.REJECTED)),
                question_total=Sum("questions"),
                route_name=Max("route_name"),
                first_index=Min("stage_index"),
            )
            .order_by()
        }
        reworked = rework(filters)
        load = approvers(closed, by_actor)
    rows = []
    for (is_blocking, *stage), wait in waits.items():
        if not is_blocking:
            continue
        key = tuple(stage)
        handle = handles.get((True, *stage), {})
        tasks = sum(wait.values())
        c = counts.get(key, {})
        w, h = summary(wait, "wait"), summary(handle, "handle")
        rows.append(
            {
                "route": key[0],
                "route_name": c.get("route_name") or key[0],
                "stage": key[1],
                "stage_index": c.get("first_index"),
                "tasks": tasks,
                "wait_median_hours": hours(w["wait_p50"]),
                "wait_p90_hours": hours(w["wait_p90"]),
                "handle_median_hours": hours(h["handle_p50"]),
                "handle_p90_hours": hours(h["handle_p90"]),
                "send_backs": c.get("sent_back", 0),
                "send_back_rate": _rate(c.get("sent_back", 0), tasks),
                "rejections": c.get("rejected", 0),
                "questions": c.get("question_total") or 0,
                "questions_per_task": _rate(c.get("question_total") or 0, tasks),
            }
        )
    rows.sort(key=lambda r: (-(r["handle_median_hours"] or 0), r["route"], r["stage_index"] or 0))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "stages": rows,
        "rework": reworked,
        "approvers": load,
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


def approvers(closed: Any, by_actor: dict[tuple[Any, ...], dict[Any, int]]) -> list[dict[str, Any]]:
    """Each approver's closed tasks by kind; `by_actor` counts their handling times (blocking
    tasks only), keyed (blocking, actor)."""
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
        handled = summary(by_actor.get((True, row["actor_id"])), "handle")
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
                "handle_median_hours": hours(handled["handle_p50"]),
            }
        )
    rows.sort(
        key=lambda r: (
            -(r["approvals"] + r["consultations"] + r["deputy_decisions"]),
            r["user"],
        )
    )
    return rows
