"""What happens after an approval action commits: notifications, signatures, mail.

The services call these explicitly (no Django signals); each queues its work with
transaction.on_commit, so a rolled-back action tells nobody anything. Listeners — the notification
and signing modules — subscribe with `listen()`; each event is a small typed record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from documents.models import Document
from workflow.models import Annotation, Slot

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkflowEvent:
    type: str  # task.assigned, task.cancelled, document.sent_back, document.decided, …
    document_id: int
    slot_id: int | None = None
    user_ids: tuple[int, ...] = ()  # who should hear of it
    data: dict[str, Any] = field(default_factory=dict)


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
        for listener in list(_listeners):
            try:
                listener(self.events)
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


def _participants(document: Document) -> tuple[int, ...]:
    ids = {document.drafter_id, *document.accesses.values_list("user_id", flat=True)}
    return tuple(sorted(ids))


def task_assigned(slot: Slot) -> None:
    kind = "post_review.assigned" if slot.kind == "post_review" else "task.assigned"
    _emit(
        WorkflowEvent(
            kind,
            slot.stage.route.document_id,
            slot.pk,
            (slot.assignee_id,),
            {"kind": slot.kind, "stage": slot.stage.name},
        )
    )


def task_cancelled(slot: Slot) -> None:
    _emit(
        WorkflowEvent("task.cancelled", slot.stage.route.document_id, slot.pk, (slot.assignee_id,))
    )


def slot_approved(slot: Slot) -> None:
    _emit(
        WorkflowEvent(
            "task.completed",
            slot.stage.route.document_id,
            slot.pk,
            (slot.stage.route.document.drafter_id,),
            {"kind": slot.kind, "status": slot.status},
        )
    )


def document_sent_back(document: Document, reason: str) -> None:
    _emit(
        WorkflowEvent(
            "document.sent_back", document.pk, None, _participants(document), {"reason": reason}
        )
    )


def document_decided(document: Document) -> None:
    _emit(
        WorkflowEvent(
            "document.decided",
            document.pk,
            None,
            _participants(document),
            {"number": document.number},
        )
    )


def document_rejected(document: Document, reason: str) -> None:
    _emit(
        WorkflowEvent(
            "document.rejected", document.pk, None, _participants(document), {"reason": reason}
        )
    )


def document_withdrawn(document: Document, reason: str) -> None:
    _emit(
        WorkflowEvent(
            "document.withdrawn", document.pk, None, _participants(document), {"reason": reason}
        )
    )


def comment_added(annotation: Annotation) -> None:
    """A mark on the record: the others on the document hear of it (not its author)."""
    document = annotation.document
    others = tuple(pk for pk in _participants(document) if pk != annotation.author_id)
    _emit(
        WorkflowEvent(
            "comment.added",
            document.pk,
            annotation.slot_id,
            others,
            {"annotation": annotation.pk, "kind": annotation.kind, "page": annotation.page},
        )
    )
