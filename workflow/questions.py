"""質疑: an approver asks a question without sending the document back.

The approver keeps the task; the person asked (the drafter, or someone who already acted on the
route) gets a task of kind ANSWER; the answer comes back to the approver. While a question is open
the approver's reminder clock stops (notifications.reminders), and the time it was open is added
to the clock when it is answered. The thread is in the history and the audit trail (each ask and
answer is a history entry) and in the workspace (`thread`).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import status

from documents.models import AccessReason, DocumentAccess
from org.models import User
from workflow import hooks, progression
from workflow.models import ActionKind, Question, Route, Slot, SlotKind, SlotStatus
from workflow.progression import RouteRows, history
from workflow.services import WorkflowError, acting_on

MAX_TEXT = 4000


def _text(text: str) -> str:
    text = text.strip()
    if not text:
        raise WorkflowError("invalid", _("Write the question or the answer."))
    if len(text) > MAX_TEXT:
        raise WorkflowError("invalid", _("At most %(n)d characters.") % {"n": MAX_TEXT})
    return text


def askable(rows: RouteRows, slot: Slot) -> dict[int, User]:
    """Whom the approver of `slot` may ask: the drafter and whoever acted earlier on the route."""
    people = {rows.route.document.drafter_id: rows.route.document.drafter}
    for stage in rows.stages.values():
        if stage.index >= slot.stage.index:
            continue
        for other in rows.slots[stage.index]:
            if (
                other.blocking
                and other.acted_by is not None
                and other.status == SlotStatus.APPROVED
            ):
                people[other.acted_by.pk] = other.acted_by
    people.pop(slot.assignee_id, None)
    return people


def ask(user: User, slot_id: int, to: User, text: str) -> Question:
    text = _text(text)
    with acting_on(user, slot_id, "ask") as (rows, flow):
        slot = flow.slot
        allowed = askable(rows, slot)
        if to.pk not in allowed:
            raise WorkflowError(
                "not_askable",
                _(
                    "You can ask the drafter or someone who already approved this document; "
                    "%(name)s is neither."
                )
                % {"name": to},
                status.HTTP_422_UNPROCESSABLE_ENTITY,
            )
        flow.ask()
        (task,) = rows.create(
            [
                Slot(
                    stage=slot.stage,
                    order=slot.order,
                    round=slot.stage.round,
                    kind=SlotKind.ANSWER,
                    assignee=to,
                )
            ]
        )
        DocumentAccess.objects.get_or_create(
            document_id=rows.route.document_id, user=to, reason=AccessReason.PARTICIPANT
        )
        question = Question.objects.create(
            slot=slot, answer_slot=task, asked_by=user, asked_to=to, text=text
        )
        progression.open_slot(task, rows)
        history(
            rows.route,
            ActionKind.ASK,
            user,
            slot=slot,
            comment=text,
            question=question.pk,
            to={"username": to.username, "name": str(to)},
        )
    return question


def answer(user: User, task_id: int, text: str) -> Question:
    text = _text(text)
    with acting_on(user, task_id, "answer") as (rows, flow):
        task = flow.slot
        flow.answer(user, text)
        task.save(update_fields=["status", "acted_at", "acted_by", "comment"])
        question = Question.objects.select_related("slot").get(answer_slot=task)
        question.answer = text
        question.answered_at = task.acted_at
        question.save(update_fields=["answer", "answered_at"])
        asking = rows.slot(question.slot_id)
        if asking is not None and asking.status == SlotStatus.OPEN and question.answered_at:
            # The reminder clock did not run while the question was open.
            asking.clock_from = (asking.clock_from or asking.opened_at or question.asked_at) + (
                question.answered_at - question.asked_at
            )
            asking.save(update_fields=["clock_from"])
        history(rows.route, ActionKind.ANSWER, user, slot=task, comment=text, question=question.pk)
        hooks.question_answered(question)
    return question


def thread(route: Route) -> list[dict[str, Any]]:
    """The questions of a route and their answers, oldest first, for the workspace and API."""
    return [
        {
            "id": q.pk,
            "task": q.slot_id,
            "answer_task": q.answer_slot_id,
            "stage": q.slot.stage.name,
            "asked_by": {"username": q.asked_by.username, "name": str(q.asked_by)},
            "asked_to": {"username": q.asked_to.username, "name": str(q.asked_to)},
            "text": q.text,
            "asked_at": q.asked_at,
            "answer": q.answer,
            "answered_at": q.answered_at,
            "open": q.answered_at is None and q.answer_slot.status == SlotStatus.OPEN,
        }
        for q in Question.objects.filter(slot__stage__route=route).select_related(
            "slot__stage", "asked_by", "asked_to", "answer_slot"
        )
    ]
