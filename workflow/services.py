"""The approval actions. Every change to a route goes through one function here.

Each action takes the process lock (select_for_update on viewflow's process row, retried), locks
the route row, checks who may do what now, records it, and only then completes the viewflow task,
which moves the flow (join → settle → next stage or end): all in one transaction. Two approvers
of an any-of stage acting at the same instant are serialised; the second finds the task closed
and gets 409. Side effects outside the database are queued for after commit (workflow.hooks).
The rows every action contends for (a department's number counter, the audit trail's head) are
written at the end of the transaction (workflow.progression.action).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

from api.errors import ApiError
from documents.models import AccessReason, Document, DocumentAccess, Status
from documents.records import ensure_record
from documents.services import freeze_version, lock_document
from org import roles
from org.models import User
from workflow import hooks, progression, sealing
from workflow.flows import ApprovalFlow, complete_task, open_tasks
from workflow.locks import select_for_update_lock
from workflow.models import (
    ActionKind,
    Route,
    RouteStage,
    RouteStatus,
    RouteTemplate,
    Slot,
    SlotKind,
    SlotStatus,
    StageStatus,
)
from workflow.progression import history
from workflow.resolution import PlannedRoute, resolve, select_template, with_additions


class WorkflowError(ApiError):
    pass


def _conflict(code: str, message: str) -> WorkflowError:
    return WorkflowError(code, message, status.HTTP_409_CONFLICT)


def _forbidden(message: str) -> WorkflowError:
    return WorkflowError("permission_denied", message, status.HTTP_403_FORBIDDEN)


# --- Planning and submission ------------------------------------------------------------------


def plan(
    document: Document,
    *,
    template_code: str | None = None,
    approvers: Sequence[User] = (),
    readers: Sequence[User] = (),
) -> PlannedRoute:
    """The route and people a document would get: the preview, and what submit() writes."""
    if template_code:
        try:
            template = RouteTemplate.objects.get(code=template_code, is_active=True)
        except RouteTemplate.DoesNotExist:
            raise WorkflowError(
                "invalid", _("No active route named %(code)s.") % {"code": template_code}
            ) from None
    else:
        template = select_template(document)
    planned = resolve(template, document)
    return with_additions(planned, list(approvers), list(readers))


def _write_route(document: Document, planned: PlannedRoute) -> Route:
    route = Route.objects.create(
        document=document,
        document_version=document.version,
        template_code=planned.template.code if planned.template else "",
        template_version=planned.template.version if planned.template else None,
    )
    participants: set[int] = set()
    for index, stage in enumerate(planned.stages):
        row = RouteStage.objects.create(
            route=route,
            index=index,
            name=stage.name,
            mode=stage.mode,
            role=stage.role,
            quorum=stage.quorum,
            skippable=stage.skippable,
        )
        Slot.objects.bulk_create(
            Slot(
                stage=row,
                order=order,
                kind=stage.kind,
                assignee=slot.user,
                on_behalf_of=slot.on_behalf_of,
                position_name=slot.position_name,
                department_name=slot.department_name,
                added_by_drafter=slot.added_by_drafter,
            )
            for order, slot in enumerate(stage.slots)
        )
        for slot in stage.slots:
            participants.add(slot.user.pk)
            if slot.on_behalf_of is not None:
                participants.add(slot.on_behalf_of.pk)
    DocumentAccess.objects.bulk_create(
        [
            DocumentAccess(document=document, user_id=pk, reason=AccessReason.PARTICIPANT)
            for pk in participants
        ],
        ignore_conflicts=True,
    )
    return route


@contextmanager
def _process_lock(route: Route) -> Iterator[None]:
    with _process_lock_of(route.process_id):
        yield


@contextmanager
def _process_lock_of(process_id: int | None) -> Iterator[None]:
    """viewflow's lock on the route's process; a busy lock becomes a 409 the client may retry."""
    try:
        with ApprovalFlow.lock(process_id):
            yield
    except FlowLockFailed:
        raise _busy() from None


def _busy() -> WorkflowError:
    return _conflict(
        "busy", _("Someone else is acting on this document right now; try again in a moment.")
    )


@contextmanager
def _process_lock_of_slot(slot_id: int) -> Iterator[None]:
    """The process lock of the slot's route, in the caller's transaction: a busy lock is a 409,
    as in _process_lock_of; no such slot a 404."""
    try:
        select_for_update_lock.take_for_slot(ApprovalFlow, slot_id)
    except FlowLockFailed:
        raise _busy() from None
    except Slot.DoesNotExist:
        raise WorkflowError("not_found", _("No such task."), status.HTTP_404_NOT_FOUND) from None
    yield


def _lock_route(route_id: int) -> Route:
    return (
        Route.objects.select_for_update(of=("self",))
        .select_related("document__department", "process")
        .get(pk=route_id)
    )


def _run_task(
    route: Route,
    actor: User,
    *,
    slot: Slot | None = None,
    node: object = None,
    closed: str = "",
) -> None:
    """Complete the open human task of `slot` (or of the flow node `node`) as its owner would,
    and let the flow move on; 409 (with the message `closed`) if there is none."""
    tasks = open_tasks(route)
    slot_type = ContentType.objects.get_for_model(Slot).pk
    for task in tasks:
        if task.status != STATUS.ASSIGNED:
            continue
        if slot is not None and (
            task.seed_content_type_id == slot_type and task.seed_object_id == slot.pk
        ):
            break
        if node is not None and task.flow_task is node:
            break
    else:
        raise _conflict("task_closed", closed or _("This task is already closed."))
    complete_task(route, task, tasks, actor)


# --- Submission -------------------------------------------------------------------------------


@transaction.atomic
def submit(
    user: User,
    document_id: int,
    *,
    template_code: str | None = None,
    approvers: Sequence[User] = (),
    readers: Sequence[User] = (),
) -> Route:
    """起案: send a draft (or a withdrawn document) on its route; resubmit a sent-back one."""
    with progression.action():
        return _submit(user, document_id, template_code, approvers, readers)


def _submit(
    user: User,
    document_id: int,
    template_code: str | None,
    approvers: Sequence[User],
    readers: Sequence[User],
) -> Route:
    document = lock_document(document_id)
    if document.drafter_id != user.pk:
        raise _forbidden(_("Only the drafter can submit this document."))
    if document.status == Status.SENT_BACK:
        return _resubmit(user, document)
    if document.status not in (Status.DRAFT, Status.WITHDRAWN):
        raise _conflict(
            "not_submittable",
            _("This document is already %(status)s.") % {"status": document.get_status_display()},
        )
    planned = plan(document, template_code=template_code, approvers=approvers, readers=readers)
    document.status = Status.IN_REVIEW
    document.submitted_at = timezone.now()
    document.save(update_fields=["status", "submitted_at", "updated_at"])
    route = _write_route(document, planned)
    version = freeze_version(document)
    history(route, ActionKind.SUBMIT, user, template=route.template_code)
    ApprovalFlow.start.run(route=route)
    ensure_record(version)
    sealing.seal_submission(route, user)
    return Route.objects.get(pk=route.pk)


def _resubmit(user: User, document: Document) -> Route:
    route = document.routes.get(status=RouteStatus.SENT_BACK)
    with _process_lock(route):
        route = _lock_route(route.pk)
        version = freeze_version(document)
        route.status = RouteStatus.IN_PROGRESS
        route.document_version = document.version
        route.save(update_fields=["status", "document_version"])
        for slot in Slot.objects.filter(
            stage__route=route, kind=SlotKind.REVISE, status=SlotStatus.OPEN
        ):
            _close(slot, SlotStatus.APPROVED, user)
        document.status = Status.IN_REVIEW
        document.save(update_fields=["status", "updated_at"])
        history(route, ActionKind.RESUBMIT, user)
        # The flow continues with the stage that sent it back (progression._sent_back).
        _run_task(
            route,
            user,
            node=ApprovalFlow.revise,
            closed=_("This document is not waiting for a revision."),
        )
    ensure_record(version)
    if not version.record_revisions.exists():
        # A revised version has a new record: the drafter seals it as at the first submission.
        sealing.seal_submission(route, user)
    return Route.objects.get(pk=route.pk)


# --- Actions on a task -------------------------------------------------------------------------


def _close(slot: Slot, new_status: str, actor: User, comment: str = "") -> None:
    slot.status = new_status
    slot.acted_at = timezone.now()
    slot.acted_by = actor
    slot.comment = comment
    slot.save(update_fields=["status", "acted_at", "acted_by", "comment"])


# Not needed to act on a task, and possibly long: not read with the locked rows.
_LARGE_DOCUMENT_FIELDS = ("body", "search_text")


@contextmanager
def _acting_on(user: User, slot_id: int) -> Iterator[tuple[Route, Slot]]:
    """Lock the slot's route and check that `user` may act on the slot now.

    The body runs inside the transaction, the process lock and progression.action()."""
    with transaction.atomic(), _process_lock_of_slot(slot_id), progression.action():
        # The slot and its route in one statement; the route is slot.stage.route, so what the
        # flow changes in it is what the caller sees.
        slot = (
            Slot.objects.select_for_update(of=("self", "stage__route"))
            .select_related("stage__route__document__department", "stage__route__process")
            .defer(*(f"stage__route__document__{name}" for name in _LARGE_DOCUMENT_FIELDS))
            .get(pk=slot_id)
        )
        route = slot.stage.route
        if slot.assignee_id != user.pk:
            raise _forbidden(_("This task is not yours."))
        if route.status == RouteStatus.WITHDRAWN:
            raise _conflict(
                "withdrawn", _("The drafter has withdrawn this document; there is nothing to do.")
            )
        if slot.status != SlotStatus.OPEN:
            raise _conflict(
                "task_closed",
                _(
                    "This task is already closed (%(status)s); someone "
                    "may have acted on it a moment ago."
                )
                % {"status": slot.get_status_display()},
            )
        yield route, slot


def _action_kind(slot: Slot) -> str:
    return {
        SlotKind.CONSULT: ActionKind.CONSULT,
        SlotKind.CIRCULATE: ActionKind.READ,
        SlotKind.POST_REVIEW: ActionKind.POST_REVIEW,
    }.get(SlotKind(slot.kind), ActionKind.APPROVE)


def approve(user: User, slot_id: int, comment: str = "") -> Slot:
    """承認 (or 合議 agreement, 供覧 read, 後閲 reviewed, depending on the task)."""
    with _acting_on(user, slot_id) as (route, slot):
        if slot.kind == SlotKind.REVISE:
            raise _conflict("revise_task", _("Revise the document and submit it again."))
        done = SlotStatus.READ if slot.kind == SlotKind.CIRCULATE else SlotStatus.APPROVED
        _close(slot, done, user, comment)
        history(
            route,
            _action_kind(slot),
            user,
            slot=slot,
            comment=comment,
            on_behalf_of=slot.on_behalf_of,
        )
        hooks.slot_approved(slot)
        if slot.kind in progression.BLOCKING_KINDS:
            if slot.on_behalf_of is not None:
                _post_review_for(slot)
            _run_task(route, user, slot=slot)
        progression.number_decisions()  # the decider's seal shows the number
        sealing.seal_action(route, slot, user, "approve")
    return slot


def _post_review_for(slot: Slot) -> None:
    """後閲: the absent decider reviews afterwards what their deputy decided, without blocking."""
    absent = slot.on_behalf_of
    if absent is None:
        return
    review = Slot.objects.create(
        stage=slot.stage,
        order=slot.order,
        kind=SlotKind.POST_REVIEW,
        assignee=absent,
        position_name=slot.position_name,
        department_name=slot.department_name,
    )
    progression.open_slot(review)


def send_back(user: User, slot_id: int, reason: str, to: str | int = "drafter") -> Route:
    """差し戻し: to the drafter (who revises and resubmits) or to an earlier stage."""
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why you send it back."))
    with _acting_on(user, slot_id) as (route, slot):
        if slot.kind not in progression.BLOCKING_KINDS:
            raise _conflict("cannot_send_back", _("Only approvers can send a document back."))
        if to != "drafter":
            target = route.stages.filter(index=to).first() if isinstance(to, int) else None
            if target is None or target.index >= slot.stage.index or not target.blocking:
                raise WorkflowError(
                    "invalid",
                    _("'to' must be 'drafter' or the index of an earlier approval stage."),
                )
        route.send_back_to = str(to)
        route.save(update_fields=["send_back_to"])
        _close(slot, SlotStatus.SENT_BACK, user, reason)
        history(
            route,
            ActionKind.SEND_BACK,
            user,
            slot=slot,
            comment=reason,
            on_behalf_of=slot.on_behalf_of,
            to=to,
        )
        _run_task(route, user, slot=slot)
        sealing.seal_action(route, slot, user, "send_back")
        hooks.document_sent_back(route.document, reason)
    return route


def reject(user: User, slot_id: int, reason: str) -> Route:
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why you reject it."))
    with _acting_on(user, slot_id) as (route, slot):
        if slot.kind not in progression.BLOCKING_KINDS:
            raise _conflict("cannot_reject", _("Only approvers can reject a document."))
        _close(slot, SlotStatus.REJECTED, user, reason)
        history(
            route,
            ActionKind.REJECT,
            user,
            slot=slot,
            comment=reason,
            on_behalf_of=slot.on_behalf_of,
        )
        _run_task(route, user, slot=slot)
        sealing.seal_action(route, slot, user, "reject")
        hooks.document_rejected(route.document, reason)
    return route


def withdraw(user: User, document_id: int, reason: str = "") -> Route:
    """引き戻し / 取り下げ by the drafter, while the current approver has not acted yet."""
    route = Route.objects.filter(
        document_id=document_id, status__in=[RouteStatus.IN_PROGRESS, RouteStatus.SENT_BACK]
    ).first()
    document = Document.objects.filter(pk=document_id).first()
    if document is None or document.drafter_id != user.pk:
        raise _forbidden(_("Only the drafter can withdraw this document."))
    if route is None:
        raise _conflict("not_in_review", _("This document is not on a route."))
    with transaction.atomic(), _process_lock(route), progression.action():
        route = _lock_route(route.pk)
        if route.status not in (RouteStatus.IN_PROGRESS, RouteStatus.SENT_BACK):
            raise _conflict("not_in_review", _("This document is not on a route."))
        current = route.stages.get(index=route.current_stage)
        if (
            route.status == RouteStatus.IN_PROGRESS
            and current.slots.filter(
                kind__in=progression.BLOCKING_KINDS,
                status__in=[SlotStatus.APPROVED, SlotStatus.SENT_BACK],
            ).exists()
        ):
            raise _conflict(
                "already_acted",
                _("The current approver has already acted; ask them to send it back instead."),
            )
        progression.finish(route, RouteStatus.WITHDRAWN, Status.WITHDRAWN)
        history(route, ActionKind.WITHDRAW, user, comment=reason)
        ApprovalFlow.instance.cancel(route.process)
        hooks.document_withdrawn(route.document, reason)
    return route


def skip_stage(user: User, route_id: int, stage_index: int, reason: str) -> Route:
    """An administrator skips a skippable stage, with a reason."""
    if not (user.is_superuser or user.groups.filter(name=roles.ADMINISTRATOR).exists()):
        raise _forbidden(_("Only an administrator can skip a stage."))
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why the stage is skipped."))
    route = Route.objects.get(pk=route_id)
    with transaction.atomic(), _process_lock(route), progression.action():
        route = _lock_route(route_id)
        stage = route.stages.get(index=stage_index)
        if route.status != RouteStatus.IN_PROGRESS:
            raise _conflict("not_in_review", _("This route is not running."))
        if not stage.skippable:
            raise _conflict("not_skippable", _("This stage may not be skipped."))
        if stage.status not in (StageStatus.PENDING, StageStatus.ACTIVE):
            raise _conflict("not_skippable", _("Only a pending or active stage can be skipped."))
        was_active = stage.status == StageStatus.ACTIVE
        stage.status = StageStatus.SKIPPED
        stage.skip_reason = reason
        stage.save(update_fields=["status", "skip_reason"])
        history(route, ActionKind.SKIP, user, comment=reason, stage=stage.name)
        if was_active:
            # Completing one open task lets the join see the stage settled (skipped) and
            # cancel the others.
            open_slot = stage.slots.filter(status=SlotStatus.OPEN).first()
            if open_slot is not None:
                _close(open_slot, SlotStatus.SKIPPED, user, reason)
                _run_task(route, user, slot=open_slot)
        else:
            stage.slots.filter(status=SlotStatus.WAITING).update(status=SlotStatus.SKIPPED)
    return route


@dataclass(frozen=True)
class BulkResult:
    task_id: int
    ok: bool
    code: str = ""
    message: str = ""


def bulk_approve(user: User, slot_ids: Sequence[int], comment: str = "") -> list[BulkResult]:
    """一括承認: each task in its own transaction, so one refusal does not undo the others."""
    results = []
    for slot_id in dict.fromkeys(slot_ids):
        try:
            approve(user, slot_id, comment)
        except ApiError as exc:
            results.append(BulkResult(slot_id, False, str(exc.get_codes()), str(exc.detail)))
        else:
            results.append(BulkResult(slot_id, True))
    return results
