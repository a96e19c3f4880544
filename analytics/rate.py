"""電子決裁率: decisions made here against all decisions of the period, paper ones included.

Paper decisions come from the ledger offices keep (紙決裁台帳, `PaperDecision` of kind `paper`).
The fully digital rate leaves out, in addition, the decisions made here whose supporting papers
still went round on paper (ledger lines of kind `paper_attachment`).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth

from analytics.filters import Filters
from analytics.models import DocumentFact, PaperDecision, PaperKind
from analytics.scope import department_names


def _rates(electronic: int, paper: int, paper_attachment: int) -> dict[str, Any]:
    total = electronic + paper
    return {
        "electronic": electronic,
        "paper": paper,
        "with_paper_attachments": paper_attachment,
        "total": total,
        "rate": round(electronic / total, 4) if total else None,
        "fully_digital_rate": round((electronic - paper_attachment) / total, 4) if total else None,
    }


def rate(filters: Filters) -> dict[str, Any]:
    decided = DocumentFact.objects.filter(filters.on("decided_on"), decided_at__isnull=False)
    ledger = PaperDecision.objects.filter(filters.on("decided_on"))
    counts: dict[tuple[str, Any], list[int]] = defaultdict(lambda: [0, 0, 0])
    for month, department, n in (
        decided.values_list("decided_month", "department_id").annotate(n=Count("pk")).order_by()
    ):
        counts[("month", month)][0] += n
        counts[("department", department)][0] += n
    for month, department, paper, attached in (
        ledger.annotate(month=TruncMonth("decided_on"))
        .values_list("month", "department_id")
        .annotate(
            paper=Count("pk", filter=Q(kind=PaperKind.PAPER)),
            attached=Count("pk", filter=Q(kind=PaperKind.PAPER_ATTACHMENT)),
        )
        .order_by()
    ):
        for key in (("month", month), ("department", department)):
            counts[key][1] += paper
            counts[key][2] += attached
    names = department_names()
    months = sorted((k[1], v) for k, v in counts.items() if k[0] == "month")
    departments = [(k[1], v) for k, v in counts.items() if k[0] == "department"]
    overall = [sum(v[i] for _, v in months) for i in range(3)]
    return {
        "period": {"from": filters.date_from, "to": filters.date_to},
        "overall": _rates(*overall),
        "by_month": [{"month": m.strftime("%Y-%m"), **_rates(*v)} for m, v in months],
        "by_department": sorted(
            ({"department": pk, "name": names.get(pk, ""), **_rates(*v)} for pk, v in departments),
            key=lambda r: (r["rate"] if r["rate"] is not None else 2, r["name"]),
        ),
    }
