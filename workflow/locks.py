"""Every row lock a workflow action takes, taken here, in one order (Saleor's lock_objects.py).

The order, and why:

1. **The route** (`FOR NO KEY UPDATE`), with **its document** in the same statement. The route
   row serialises everything that happens to one approval: every action that changes a route's
   stages or slots (approve, send back, reject, withdraw, resubmit, skip a stage, a mark on an
   open task) locks it first, so two people acting on one document at the same instant take
   turns, and the second sees what the first did (a double click or the second approver of an
   any-of stage finds the task closed: 409). The slots are then read in a statement of their own,
   after the lock, so they are never a stale snapshot. The document comes with the route because
   actions change both; locking it in the same statement returns its current row after a wait.
   A draft's first submission has no route yet and locks the document alone
   (`documents.services.lock_document`), which takes the same place in the order.
2. **The department's number counter** (`workflow.numbering.next_number`, UPDATE … RETURNING), at
   a decision only, late in the action: `progression.action()` numbers the decisions after the
   route has moved (the decider's seal then shows the number).
3. **The audit trail's head** (`audit.services.append`), last of all, just before the commit
   (`progression.action()`).

Every action on any document contends for the audit head, and the decisions of one department
for their counter; a lock is held until the commit, so those two come last and are held only
for the action's final statements. Nothing ever takes an earlier lock in this list after a later
one, so these locks cannot deadlock with each other.

`NO KEY UPDATE` rather than `UPDATE`: other transactions may still insert rows that refer to the
route or the document (notifications, audit entries, annotations) while an action runs.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document
from documents.services import lock_document
from workflow.models import Route

# Not needed to act, and possibly long: not read with the locked rows.
_LARGE_DOCUMENT_FIELDS = ("document__body", "document__search_text")


class NotFound(ApiError):
    """No such route or task: 404 for the client."""

    def __init__(self, message: str) -> None:
        super().__init__("not_found", message, status.HTTP_404_NOT_FOUND)


def _locked() -> QuerySet[Route]:
    return (
        Route.objects.select_for_update(of=("self", "document"), no_key=True)
        .select_related("document__department")
        .defer(*_LARGE_DOCUMENT_FIELDS)
        .order_by()
    )


def _one(routes: QuerySet[Route]) -> Route | None:
    found = list(routes[:1])
    return found[0] if found else None


def route_of_slot(slot_id: int) -> Route:
    """Lock the route of the slot (a task) and its document; NotFound if there is none."""
    route = _one(_locked().filter(stages__slots__id=slot_id))
    if route is None:
        raise NotFound(_("No such task."))
    return route


def route(route_id: int) -> Route:
    """Lock a route and its document; NotFound if there is none."""
    found = _one(_locked().filter(pk=route_id))
    if found is None:
        raise NotFound(_("No such route."))
    return found


def running_route_of(document_id: int, statuses: tuple[str, ...]) -> Route | None:
    """Lock the document's route that is in one of `statuses` (at most one runs at a time)."""
    # A unique constraint allows one route in progress; one sent back waits for its drafter.
    return _one(_locked().filter(document_id=document_id, status__in=statuses))


def document(document_id: int) -> Document:
    """Lock a document that has no running route (a draft, a withdrawn one)."""
    return lock_document(document_id)
