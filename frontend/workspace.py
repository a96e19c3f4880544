"""What the review workspace shows of a document: the record's parts and page boxes, the route,
the history, and what the signed-in person may do now. Reads only; actions go through the API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from api.errors import ApiError
from documents.access import can_edit
from documents.models import Attachment, Document, DocumentVersion
from documents.records import ensure_record
from frontend.pagesizes import page_boxes
from org.models import User
from storage import StorageUnavailable
from workflow import cover, personnel, questions, states
from workflow.models import (
    HistoryEntry,
    Question,
    Route,
    RouteStatus,
    Slot,
    SlotKind,
    SlotStatus,
    StageMode,
)
from workflow.progression import RouteRows

logger = logging.getLogger(__name__)


@dataclass
class Part:
    """A stretch of the record: the cover sheet, or one attachment."""

    key: str
    label: str
    first_page: int  # 1-based, in the record
    page_count: int
    attachment_id: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "first": self.first_page,
            "count": self.page_count,
            "attachment": self.attachment_id,
        }


@dataclass
class RecordView:
    version: DocumentVersion
    pages: int = 0
    size: int | None = None
    parts: list[Part] = field(default_factory=list)
    boxes: list[list[float]] = field(default_factory=list)
    error: str = ""


def current_version(document: Document) -> DocumentVersion:
    return document.versions.get(number=document.version)


def record_view(document: Document) -> RecordView:
    version = current_version(document)
    try:
        version = ensure_record(version)
    except (ApiError, StorageUnavailable) as exc:
        return RecordView(version=version, error=str(getattr(exc, "detail", exc)))
    except Exception:
        logger.exception("record of document %s could not be built", document.pk)
        return RecordView(version=version, error=_("The record could not be built."))
    attachments = {a.pk: a for a in version.attachments.all()}
    layout = version.record_layout or {}
    pages = version.record_pages or 0
    cover = int(layout.get("cover_pages") or 0) or (pages if not layout.get("parts") else 1)
    parts = [Part("cover", _("Cover sheet"), 1, cover)]
    for index, part in enumerate(layout.get("parts") or []):
        count = int(part.get("page_count") or 0)
        if part.get("first_page") is None or count <= 0:
            continue  # embedded as a file attachment: listed on the cover, no pages of its own
        attachment = attachments.get(part.get("attachment_id"))
        label = attachment.filename if attachment else _("Attachment %(n)d") % {"n": index + 1}
        parts.append(
            Part(
                f"a{part.get('attachment_id')}",
                label,
                int(part["first_page"]),
                count,
                attachment.pk if attachment else None,
            )
        )
    return RecordView(
        version=version,
        pages=pages,
        size=version.record_size,
        parts=parts,
        boxes=page_boxes(version.record_sha256) if version.record_sha256 else [],
    )


def attachments(version: DocumentVersion) -> list[Attachment]:
    return list(version.attachments.order_by("position"))


def latest_route(document: Document) -> Route | None:
    return (
        Route.objects.filter(document=document)
        .prefetch_related(
            "stages__slots__assignee",
            "stages__slots__on_behalf_of",
            "stages__slots__previous_assignee",
        )
        .order_by("-created_at", "-id")
        .first()
    )


def history(document: Document) -> list[HistoryEntry]:
    return list(
        HistoryEntry.objects.filter(document=document)
        .select_related("actor", "on_behalf_of")
        .order_by("at", "id")
    )


def my_task(user: User, document: Document) -> Slot | None:
    return (
        Slot.objects.filter(
            stage__route__document=document,
            stage__route__status=RouteStatus.IN_PROGRESS,
            assignee=user,
            status=SlotStatus.OPEN,
        )
        .select_related("stage__route", "on_behalf_of")
        .order_by("-id")
        .first()
    )


def send_back_targets(task: Slot) -> list[tuple[str, str]]:
    """Where an approver may send the document back: the drafter, or an earlier approval stage."""
    targets = [("drafter", _("The drafter"))]
    for stage in task.stage.route.stages.all():
        if stage.index < task.stage.index and stage.mode != StageMode.CIRCULATION:
            targets.append((str(stage.index), stage.name))
    return targets


def is_final(task: Slot) -> bool:
    """Whether approving this task decides the document (no approval stage after it)."""
    if task.kind != SlotKind.APPROVE:
        return False
    later = [
        s
        for s in task.stage.route.stages.all()
        if s.index > task.stage.index and s.mode != StageMode.CIRCULATION
    ]
    return not later


@dataclass
class Permissions:
    """What the page offers: the answers of workflow.states, never derived here."""

    act: bool  # approve / agree / mark read, with a comment
    send_back: bool
    reject: bool
    annotate: bool
    withdraw: bool
    edit: bool
    ask: bool = False  # 質疑: ask the drafter or an earlier approver
    answer: bool = False  # the task is a question to answer


def permissions(
    user: User, document: Document, task: Slot | None, route: Route | None
) -> Permissions:
    task_may = states.task_actions(user, task) if task is not None else frozenset()
    running = route if route is not None and route.finished_at is None else None
    document_may = states.document_actions(user, document, running)
    return Permissions(
        act="approve" in task_may,
        send_back="send_back" in task_may,
        reject="reject" in task_may,
        annotate="annotate" in task_may,
        withdraw="withdraw" in document_may,
        edit=can_edit(user, document),
        ask="ask" in task_may,
        answer="answer" in task_may,
    )


def reassignable(user: User, route: Route | None) -> list[tuple[Slot, list[User]]]:
    """The route's open tasks `user` may reassign (administrators, the assignee's superior),
    each with the people it may go to (workflow.personnel.entitled)."""
    if route is None or route.status != RouteStatus.IN_PROGRESS:
        return []
    found = []
    for stage in route.stages.all():
        for slot in stage.slots.all():
            if slot.status != SlotStatus.OPEN or not slot.blocking or slot.assignee_id == user.pk:
                continue
            if states.refusal(states.SlotFlow(slot, route), "reassign", user):
                people = personnel.candidates(slot)
                if people:
                    found.append((slot, people))
    return found


def askable(task: Slot | None) -> list[User]:
    """Whom the approver of `task` may ask a question (the drafter, earlier approvers)."""
    if task is None or not task.blocking:
        return []
    rows = RouteRows.read(task.stage.route)
    mine = rows.slot(task.pk)
    return list(questions.askable(rows, mine).values()) if mine is not None else []


def question_for(task: Slot | None) -> Question | None:
    """The question the task asks its assignee to answer."""
    if task is None or task.kind != SlotKind.ANSWER:
        return None
    return Question.objects.select_related("asked_by").filter(answer_slot=task).first()


def route_note(route: Route | None) -> str:
    """経路: … when the route used is not the one the rules picked (workflow.authority)."""
    if route is None or not route.deviation:
        return ""
    return cover.route_line(
        route.template_name or route.template_code,
        route.rule_template_name or route.rule_template_code,
        route.deviation,
        route.deviation_reason,
    )
