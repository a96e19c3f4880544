"""What happens after an approval action commits: notifications, signatures, mail.

The services call these explicitly (no Django signals); each queues its work with
transaction.on_commit, so a rolled-back action tells nobody anything. Listeners — notifications and
retention — subscribe with `listen()`; each event is an object of its own class (workflow.events).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from django.db import transaction

from documents.models import Document, DocumentAccess
from org.models import User
from workflow.events import (
    CommentAdded,
    DocumentDecided,
    DocumentRejected,
    DocumentSentBack,
    DocumentWithdrawn,
    PostReviewAssigned,
    QuestionAnswered,
    TaskAssigned,
    TaskCancelled,
    TaskCompleted,
    TaskMoved,
    WorkflowEvent,
)
from workflow.models import Annotation, Question, Slot, SlotKind

logger = logging.getLogger(__name__)


# A listener gets the events of one committed transaction together, in the order they happened:
# an approval that assigns, completes and decides is one batch, which the notifications answer
# with one access check and one INSERT instead of one round of queries per event.
Listener = Callable[[Sequence[WorkflowEvent]], None]
_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


class _Batch:
    """The events queued in one transaction (or savepoint), delivered after its commit."""

    def __init__(self) -> None:
        self.events: list[WorkflowEvent] = []

    def __call__(self) -> None:
        try:
            events = _with_participants(self.events)
        except Exception:
            # Committed already: tell at least the drafters named in the events rather than fail
            # the request that made them.
            logger.exception("workflow events: reading the participants failed")
            events = list(self.events)
        for listener in list(_listeners):
            try:
                listener(events)
            except Exception:
                # The action has committed; a failing listener must not hide that from the user.
                logger.exception(
                    "workflow listener failed for %s", ", ".join(e.type for e in self.events)
                )


def _emit(event: WorkflowEvent) -> None:
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        # Join the batch queued at this same savepoint level: if that savepoint is rolled back,
        # Django drops the batch with it, so no event of undone work is ever delivered.
        here = set(connection.savepoint_ids)
        for savepoints, callback, _robust in reversed(connection.run_on_commit):
            if isinstance(callback, _Batch) and savepoints == here:
                callback.events.append(event)
                return
    batch = _Batch()
    batch.events.append(event)
    transaction.on_commit(batch)


def _with_participants(events: Sequence[WorkflowEvent]) -> list[WorkflowEvent]:
    """Events said to everyone on their document (`to_participants`) get, besides the drafter
    they name, everyone who has access to the document: one query for the whole batch."""
    documents = {e.document_id for e in events if e.to_participants}
    if not documents:
        return list(events)
    people: dict[int, set[int]] = {pk: set() for pk in documents}
    for document_id, user_id in DocumentAccess.objects.filter(
        document_id__in=documents
    ).values_list("document_id", "user_id"):
        people[document_id].add(user_id)
    return [
        replace(e, user_ids=tuple(sorted({*e.user_ids, *people[e.document_id]})))
        if e.to_participants
        else e
        for e in events
    ]


def _participants(document: Document) -> tuple[int, ...]:
    ids = {document.drafter_id, *document.accesses.values_list("user_id", flat=True)}
    return tuple(sorted(ids))


def task_assigned(slot: Slot) -> None:
    event = PostReviewAssigned if slot.kind == SlotKind.POST_REVIEW else TaskAssigned
    _emit(
        event(
            document_id=slot.stage.route.document_id,
            slot_id=slot.pk,
            user_ids=(slot.assignee_id,),
            kind=slot.kind,
            stage=slot.stage.name,
        )
    )


def task_cancelled(slot: Slot) -> None:
    _emit(
        TaskCancelled(
            document_id=slot.stage.route.document_id,
            slot_id=slot.pk,
            user_ids=(slot.assignee_id,),
        )
    )


def task_moved(slot: Slot, old: User) -> None:
    """An open task moved from `old` to its new assignee: both are told."""
    task_assigned(slot)
    _emit(
        TaskMoved(
            document_id=slot.stage.route.document_id,
            slot_id=slot.pk,
            user_ids=(old.pk,),
            to=str(slot.assignee),
            reason=slot.stage.name,
        )
    )


def question_answered(question: Question) -> None:
    _emit(
        QuestionAnswered(
            document_id=question.slot.stage.route.document_id,
            slot_id=question.slot_id,
            user_ids=(question.asked_by_id,),
            question_id=question.pk,
        )
    )


def slot_approved(slot: Slot) -> None:
    _emit(
        TaskCompleted(
            document_id=slot.stage.route.document_id,
            slot_id=slot.pk,
            user_ids=(slot.stage.route.document.drafter_id,),
            kind=slot.kind,
            status=slot.status,
        )
    )


def document_sent_back(document: Document, reason: str) -> None:
    _emit(DocumentSentBack(document_id=document.pk, user_ids=(document.drafter_id,), reason=reason))


def document_decided(document: Document) -> None:
    _emit(
        DocumentDecided(
            document_id=document.pk,
            user_ids=(document.drafter_id,),
            number=document.number or "",
        )
    )


def document_rejected(document: Document, reason: str) -> None:
    _emit(DocumentRejected(document_id=document.pk, user_ids=(document.drafter_id,), reason=reason))


def document_withdrawn(document: Document, reason: str) -> None:
    _emit(
        DocumentWithdrawn(document_id=document.pk, user_ids=(document.drafter_id,), reason=reason)
    )


def comment_added(annotation: Annotation) -> None:
    """A mark on the record: the others on the document hear of it (not its author)."""
    document = annotation.document
    others = tuple(pk for pk in _participants(document) if pk != annotation.author_id)
    _emit(
        CommentAdded(
            document_id=document.pk,
            slot_id=annotation.slot_id,
            user_ids=others,
            annotation_id=annotation.pk,
            kind=annotation.kind,
            page=annotation.page,
        )
    )
