"""What the home page lists: my tasks, my drafts, my submitted documents and where each one is.

Read-only queries over the workflow's rows, the same conditions as GET /api/v1/tasks and the
documents search; every state change stays in the services, called through the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from documents import access
from documents.access import visible_documents
from documents.models import Document, Status
from org.models import User
from workflow import states
from workflow.models import Route, RouteStage, RouteStatus, Slot, SlotStatus

MAX_LISTED = 100


@dataclass(frozen=True)
class Task:
    slot: Slot
    document: Document
    waiting: timedelta
    overdue: bool  # past REMINDER_AFTER_HOURS: a reminder has gone out
    escalated: bool  # past ESCALATE_AFTER_HOURS: the superior has been told
    actions: frozenset[str]  # what the user may do on it now (workflow.states)

    @property
    def bulk_approvable(self) -> bool:
        return "approve" in self.actions


def open_tasks(user: User, now: datetime | None = None) -> list[Task]:
    now = now or timezone.now()
    slots = (
        Slot.objects.filter(assignee=user, status=SlotStatus.OPEN)
        .select_related(
            "stage__route__document__drafter",
            "stage__route__document__doc_type",
            "on_behalf_of",
        )
        .order_by("opened_at", "id")[:MAX_LISTED]
    )
    remind = timedelta(hours=settings.REMINDER_AFTER_HOURS)
    escalate = timedelta(hours=settings.ESCALATE_AFTER_HOURS)
    tasks = []
    for slot in slots:
        waiting = now - (slot.opened_at or now)
        # The tasks the route waits for are the ones the reminders watch (notifications.reminders).
        timed = slot.blocking
        tasks.append(
            Task(
                slot=slot,
                document=slot.stage.route.document,
                waiting=waiting,
                overdue=timed and waiting >= remind,
                escalated=timed and waiting >= escalate,
                actions=states.task_actions(user, slot),
            )
        )
    return tasks


def drafts(user: User) -> QuerySet[Document]:
    return (
        Document.objects.filter(drafter=user, status__in=[Status.DRAFT, Status.SENT_BACK])
        .select_related("doc_type")
        .order_by("-updated_at")[:MAX_LISTED]
    )


@dataclass(frozen=True)
class Whereabouts:
    """Where a submitted document is: the stage now running and the people it waits for."""

    stage: str | None
    waiting_for: list[str]


def _whereabouts(document: Document) -> Whereabouts:
    routes: list[Route] = list(getattr(document, "running_routes", []))
    if not routes:
        return Whereabouts(None, [])
    route = routes[0]
    for stage in route.stages.all():
        if stage.index == route.current_stage:
            people = [
                str(s.assignee)
                for s in stage.slots.all()
                if s.status == SlotStatus.OPEN and s.round == stage.round
            ]
            return Whereabouts(stage.name, people)
    return Whereabouts(None, [])


def submitted(user: User) -> list[tuple[Document, Whereabouts]]:
    running = Route.objects.filter(status=RouteStatus.IN_PROGRESS).prefetch_related(
        Prefetch(
            "stages",
            queryset=RouteStage.objects.prefetch_related("slots__assignee"),
        )
    )
    documents = (
        Document.objects.filter(drafter=user)
        .exclude(status=Status.DRAFT)
        .select_related("doc_type")
        .prefetch_related(Prefetch("routes", queryset=running, to_attr="running_routes"))
        .order_by("-submitted_at", "-id")[:MAX_LISTED]
    )
    return [(d, _whereabouts(d)) for d in documents]


def search_results(user: User, conditions: dict[str, Any]) -> list[Document]:
    from documents.querying import search

    qs = search(user, conditions).select_related("doc_type", "drafter", "department")
    found = list(qs.order_by("-created_at", "-id")[:50])
    for document in found:
        # A disposed or transferred record is listed as its tombstone (documents.access.GONE).
        document.gone = (  # type: ignore[attr-defined]
            access.tombstone(document) if document.status in access.GONE else None
        )
    return found


def may_see(user: User, document_id: int) -> Document | None:
    return (
        visible_documents(user)
        .select_related("doc_type", "drafter", "department")
        .filter(pk=document_id)
        .first()
    )
