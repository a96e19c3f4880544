"""Each document's figures, computed from workflow's rows and written as facts.

A document's lead time runs from its first submission (the first `submit` in its history) to its
decision (its `decide` entry; the moment is the document's decided_at, the 決裁日), in office
minutes (analytics.officehours) and in calendar days. A closed task's waiting time runs from the
moment its slot opened to the moment its assignee first opened the document (`SlotView`; a task
acted on without opening the document, as in bulk approval, waited until the action and took no
time to handle), its handling time from the opening to the action. Times before the opening count
as the opening (a clock skew must not give negative time).

`refresh(ids)` recomputes the facts of some documents from scratch (after every action, through
analytics.listeners, and for everything with `rebuild_analytics`). It reads a chunk's rows in five
queries whatever its size, so rebuilding a million documents is a matter of minutes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Count, Q
from django.utils import timezone

from analytics import officehours, rollups
from analytics.models import DocumentFact, SlotView, StageFact
from documents.models import Document, Secrecy
from workflow.models import ActionKind, HistoryEntry, Question, Slot, SlotKind, SlotStatus

# The closed tasks whose times count: the approver acted (approved, agreed, read, sent back or
# rejected). Cancelled and skipped slots were never handled; the drafter's revision and the answer
# to a question are not a stage of the route (questions are counted on the slot that asked).
COUNTED_KINDS = (SlotKind.APPROVE, SlotKind.CONSULT, SlotKind.CIRCULATE, SlotKind.POST_REVIEW)
COUNTED_OUTCOMES = (
    SlotStatus.APPROVED,
    SlotStatus.READ,
    SlotStatus.SENT_BACK,
    SlotStatus.REJECTED,
)
_APPROVALS = (ActionKind.APPROVE, ActionKind.CONSULT)


def _later(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


def _document_facts(
    document: Mapping[str, Any],
    entries: list[dict[str, Any]],
    route: tuple[str, str],
    calendar: officehours.Calendar,
    now: datetime,
) -> dict[str, Any] | None:
    submitted = next((e["at"] for e in entries if e["action"] == ActionKind.SUBMIT), None)
    if submitted is None:
        return None
    decided = next((e for e in entries if e["action"] == ActionKind.DECIDE), None)
    counts: dict[str, int] = defaultdict(int)
    for e in entries:
        counts[e["action"]] += 1
    deputy = False
    if decided is not None:
        # The decision is written with the last approval of the route, whose entry says
        # whether a deputy (代決) gave it.
        approvals = [e for e in entries if e["action"] in _APPROVALS and e["at"] <= decided["at"]]
        deputy = bool(approvals) and approvals[-1]["on_behalf_of_id"] is not None
    # The decision's moment is the document's 決裁日 (set as the route decides); its history entry
    # is written a moment later, at the end of the action, after the seals.
    decided_at = (document["decided_at"] or decided["at"]) if decided is not None else None
    decided_on = decided_at.astimezone(officehours.ZONE).date() if decided_at else None
    return dict(
        document_id=document["pk"],
        department_id=document["department_id"],
        doc_type_id=document["doc_type_id"],
        route_code=route[0],
        route_name=route[1],
        status=document["status"],
        submitted_at=submitted,
        decided_at=decided_at,
        decided_on=decided_on,
        decided_month=decided_on.replace(day=1) if decided_on else None,
        lead_minutes=calendar.minutes(submitted, decided_at) if decided_at else None,
        lead_days=(decided_at - submitted).total_seconds() / 86400 if decided_at else None,
        send_backs=counts[ActionKind.SEND_BACK],
        resubmissions=counts[ActionKind.RESUBMIT],
        questions=counts[ActionKind.ASK],
        deputy_decided=deputy,
        secret=document["secrecy"] != Secrecy.NORMAL,
        computed_at=now,
    )


def _stage_fact(
    slot: Mapping[str, Any],
    document: Mapping[str, Any],
    viewed: datetime | None,
    questions: int,
    calendar: officehours.Calendar,
) -> dict[str, Any]:
    opened, acted = slot["opened_at"], _later(slot["acted_at"], slot["opened_at"])
    first = acted if viewed is None else min(_later(viewed, opened), acted)
    return dict(
        slot_id=slot["pk"],
        document_id=document["pk"],
        department_id=document["department_id"],
        doc_type_id=document["doc_type_id"],
        route_code=slot["stage__route__template_code"],
        route_name=slot["stage__route__template_name"],
        stage_index=slot["stage__index"],
        stage_name=slot["stage__name"],
        kind=slot["kind"],
        outcome=slot["status"],
        actor_id=slot["acted_by_id"] or slot["assignee_id"],
        on_behalf_of_id=slot["on_behalf_of_id"],
        actor_department=slot["department_name"],
        opened_at=opened,
        first_viewed_at=first,
        acted_at=acted,
        acted_on=acted.astimezone(officehours.ZONE).date(),
        wait_minutes=calendar.minutes(opened, first),
        handle_minutes=calendar.minutes(opened, acted),
        questions=questions,
    )


def _of(field: str, ids: Sequence[int] | range) -> Q:
    """Documents by id: a contiguous range (the rebuild's chunks) as BETWEEN, else IN."""
    if isinstance(ids, range):
        return Q(**{f"{field}__gte": ids.start, f"{field}__lt": ids.stop})
    return Q(**{f"{field}__in": list(ids)})


def compute(
    ids: Sequence[int] | range, calendar: officehours.Calendar | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The facts of these documents (as column values), from their rows as they are now."""
    calendar = calendar or officehours.current()
    now = timezone.now()
    documents = {
        d["pk"]: d
        for d in Document.objects.filter(_of("pk", ids), submitted_at__isnull=False).values(
            "pk", "department_id", "doc_type_id", "status", "secrecy", "decided_at"
        )
    }
    history: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for entry in (
        HistoryEntry.objects.filter(_of("document_id", ids))
        .order_by("document_id", "at", "id")
        .values("document_id", "action", "at", "on_behalf_of_id")
    ):
        history[entry["document_id"]].append(dict(entry))
    slots = list(
        Slot.objects.filter(
            _of("stage__route__document_id", ids),
            kind__in=COUNTED_KINDS,
            status__in=COUNTED_OUTCOMES,
            opened_at__isnull=False,
            acted_at__isnull=False,
        )
        .order_by("stage__route__created_at", "stage__index", "order", "pk")
        .values(
            "pk",
            "kind",
            "status",
            "assignee_id",
            "acted_by_id",
            "on_behalf_of_id",
            "department_name",
            "opened_at",
            "acted_at",
            "stage__index",
            "stage__name",
            "stage__route__document_id",
            "stage__route__template_code",
            "stage__route__template_name",
        )
    )
    views = dict(
        SlotView.objects.filter(_of("slot__stage__route__document_id", ids)).values_list(
            "slot_id", "at"
        )
    )
    asked = dict(
        Question.objects.filter(_of("slot__stage__route__document_id", ids))
        .values("slot_id")
        .annotate(n=Count("pk"))
        .values_list("slot_id", "n")
    )
    # The route that ran last names the document's route.
    routes: dict[int, tuple[str, str]] = {}
    for slot in slots:
        routes[slot["stage__route__document_id"]] = (
            slot["stage__route__template_code"],
            slot["stage__route__template_name"],
        )
    document_facts = []
    for pk, document in documents.items():
        fact = _document_facts(
            document, history.get(pk, []), routes.get(pk, ("", "")), calendar, now
        )
        if fact is not None:
            document_facts.append(fact)
    stage_facts = [
        _stage_fact(
            slot,
            documents[slot["stage__route__document_id"]],
            views.get(slot["pk"]),
            asked.get(slot["pk"], 0),
            calendar,
        )
        for slot in slots
        if slot["stage__route__document_id"] in documents
    ]
    return document_facts, stage_facts


def _insert(model: type[models.Model], rows: list[dict[str, Any]]) -> None:
    """Many rows at once: COPY on PostgreSQL (a rebuild writes millions), bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create([model(**row) for row in rows], batch_size=2000)
        return
    columns = list(rows[0])
    column_of = {f.attname: f.column for f in model._meta.concrete_fields}
    names = ", ".join(f'"{column_of[c]}"' for c in columns)
    sql = f"COPY {model._meta.db_table} ({names}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])


def refresh(ids: Sequence[int] | range, calendar: officehours.Calendar | None = None) -> int:
    """Recompute and replace the facts of these documents; the number of documents with facts."""
    if not ids:
        return 0
    document_facts, stage_facts = compute(ids, calendar)
    with transaction.atomic():
        # A rolled-up month whose facts this changes is dropped with the change.
        rollups.changed(_of("document_id", ids), document_facts, stage_facts)
        StageFact.objects.filter(_of("document_id", ids)).delete()
        DocumentFact.objects.filter(_of("document_id", ids)).delete()
        _insert(DocumentFact, document_facts)
        _insert(StageFact, stage_facts)
    return len(document_facts)


def rebuild(chunk: int = 5000, progress: Any = None) -> int:
    """Recompute every document's facts (after a change of the calendar, or once at install),
    a range of ids at a time; then roll up the closed months again (analytics.rollups)."""
    calendar = officehours.current()
    last = Document.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    total = 0
    # Every month's cells go first: the figures read the facts while they are rewritten (and a
    # roll-up that runs meanwhile is dropped again by the chunk that changes its month).
    rollups.drop_all()
    for start in range(1, last + 1, chunk):
        total += refresh(range(start, min(start + chunk, last + 1)), calendar)
        if progress is not None:
            progress(total)
    _vacuum()
    rollups.roll_up_closed()
    return total


def _vacuum() -> None:
    """After rewriting every fact: the figures read the facts' covering indexes alone only where
    PostgreSQL's visibility map says the rows are visible, which VACUUM sets (and ANALYZE tells
    the planner how many rows a period holds). Autovacuum keeps it so after that."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    tables = ", ".join(m._meta.db_table for m in (DocumentFact, StageFact))
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


def refresh_around(day: Any) -> int:
    """Recompute the facts whose times span `day` (an administrator changed that calendar day)."""
    ids = set(
        DocumentFact.objects.filter(submitted_at__date__lte=day)
        .exclude(decided_on__lt=day)
        .values_list("document_id", flat=True)
    )
    ids |= set(
        StageFact.objects.filter(opened_at__date__lte=day, acted_on__gte=day).values_list(
            "document_id", flat=True
        )
    )
    calendar = officehours.current()
    ordered = sorted(ids)
    total = 0
    for start in range(0, len(ordered), 5000):
        total += refresh(ordered[start : start + 5000], calendar)
    return total
