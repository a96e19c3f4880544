"""The approval actions. Every change to a route goes through one function here.

Each action locks the route and its document (workflow.locks, which states the order of every
lock), reads the route's rows once (progression.RouteRows), asks workflow.states whether this user
may take this transition now, takes it, records it, and lets workflow.progression move the route:
all in one transaction, inside progression.action(), which writes the history, a decision's number
and the audit entries last. Two approvers of an any-of stage acting at the same instant take turns
on the route's lock; the second finds the task closed and gets 409. Side effects outside the
database are queued for after commit (workflow.hooks).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import AccessReason, Document, DocumentAccess
from documents.records import ensure_record
from documents.services import freeze_version
from org.models import User
from storage import StorageUnavailable
from workflow import authority, hooks, locks, progression, sealing
from workflow.authority import Authority
from workflow.models import (
    ActionKind,
    AfterSendBack,
    Route,
    RouteStage,
    RouteStatus,
    RouteTemplate,
    Slot,
    SlotKind,
    SlotStatus,
    StageStatus,
)
from workflow.progression import RouteRows, history
from workflow.resolution import (
    PlannedRoute,
    resolve,
    select_rule,
    separate_duties,
    with_additions,
)
from workflow.states import DocumentFlow, SlotFlow, StageFlow, refusal

logger = logging.getLogger(__name__)


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
    if any(person.pk == document.drafter_id for person in [*approvers, *readers]):
        # Separation of duties (issue 15): nobody approves, or signs as a reader, their own draft.
        raise WorkflowError(
            "own_draft",
            _("The drafter cannot add themself as an approver or reader of their own draft."),
            status.HTTP_422_UNPROCESSABLE_ENTITY,
        )
    if template_code:
        try:
            template = RouteTemplate.objects.get(code=template_code, is_active=True)
        except RouteTemplate.DoesNotExist:
            raise WorkflowError(
                "invalid", _("No active route named %(code)s.") % {"code": template_code}
            ) from None
        rule = None
    else:
        rule = select_rule(document)
        template = rule.template
    planned = resolve(template, document, separate=False)
    planned = with_additions(planned, list(approvers), list(readers))
    planned = separate_duties(planned, document.drafter)
    # The rules decide who decides: another route only if it ranks as high (workflow.authority).
    return replace(planned, authority=authority.check(document, template, planned, rule=rule))


def _write_route(document: Document, planned: PlannedRoute) -> Route:
    template = planned.template
    rules: Authority | None = planned.authority
    route = Route.objects.create(
        document=document,
        document_version=document.version,
        template_code=template.code if template else "",
        template_version=(
            planned.definition.version
            if planned.definition and planned.definition.version
            else (template.version if template else None)
        ),
        template_name=template.name if template else "",
        after_send_back=(
            planned.definition.after_send_back if planned.definition else AfterSendBack.RESTART
        ),
        rule_name=rules.rule_name if rules else "",
        rule_template_code=rules.rule_template.code if rules else "",
        rule_template_name=rules.rule_template.name if rules else "",
        deviation=rules.deviation if rules else "",
        deviation_reason=rules.reason if rules else "",
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
            quorum_percent=stage.quorum_percent,
            skippable=stage.skippable,
        )
        Slot.objects.bulk_create(
            Slot(
                stage=row,
                order=order,
                kind=stage.kind,
                assignee=slot.user,
                on_behalf_of=slot.on_behalf_of,
                post_department=slot.post_department,
                post_position=slot.post_position,
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


def require(flow: Any, name: str, user: User) -> None:
    """Raise the API error that says why `user` may not take the transition `name` now."""
    answer = refusal(flow, name, user)
    if answer:
        return
    code = answer.code
    if code == "permission_denied":
        raise _forbidden(answer.message)
    if code == "not_found":
        raise WorkflowError(code, answer.message, status.HTTP_404_NOT_FOUND)
    raise _conflict(code, answer.message)


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
        sent_back = locks.running_route_of(document_id, (RouteStatus.SENT_BACK,))
        if sent_back is not None:
            return _resubmit(user, sent_back)
        return _submit(user, document_id, template_code, approvers, readers)


def _submit(
    user: User,
    document_id: int,
    template_code: str | None,
    approvers: Sequence[User],
    readers: Sequence[User],
) -> Route:
    document = locks.document(document_id)
    flow = DocumentFlow(document)
    require(flow, "submit", user)
    planned = plan(document, template_code=template_code, approvers=approvers, readers=readers)
    flow.submit()
    document.save(update_fields=["status", "submitted_at", "updated_at"])
    route = _write_route(document, planned)
    version = freeze_version(document)
    rules = planned.authority
    history(
        route,
        ActionKind.SUBMIT,
        user,
        template=route.template_code,
        rule=route.rule_name,
        rule_template=route.rule_template_code,
        deviation=route.deviation,
        route_note=rules.note(planned.template) if rules and planned.template else "",
        passed_over=list(planned.passed_over),
    )
    for note in planned.passed_over:
        # Separation of duties: whom the route left out or passed over, and why, as lines of
        # the history of their own.
        history(route, ActionKind.PASS_OVER, user, comment=note)
    progression.advance(RouteRows.read(route))  # the first stages open
    ensure_record(version)
    sealing.seal_submission(route, user)
    return Route.objects.get(pk=route.pk)


def _resubmit(user: User, route: Route) -> Route:
    document = route.document
    flow = DocumentFlow(document, route)
    require(flow, "resubmit", user)
    rows = RouteRows.read(route)
    revisions = [
        SlotFlow(s, route)
        for slots in rows.slots.values()
        for s in slots
        if s.kind == SlotKind.REVISE and s.status == SlotStatus.OPEN
    ]
    if not revisions:
        raise _conflict("task_closed", _("This document is not waiting for a revision."))
    version = freeze_version(document)
    flow.resubmit()
    route.save(update_fields=["status", "document_version"])
    document.save(update_fields=["status", "updated_at"])
    for revision in revisions:
        revision.resubmit(user)
        revision.slot.save(update_fields=["status", "acted_at", "acted_by", "comment"])
    history(route, ActionKind.RESUBMIT, user, after_send_back=route.after_send_back)
    if route.after_send_back == AfterSendBack.RESTART:
        progression.advance(rows)  # everyone approves the revised version, from the first stage
    else:
        progression.open_stage(rows)  # the stage that sent it back (progression._sent_back)
    ensure_record(version)
    if not version.record_revisions.exists():
        # A revised version has a new record: the drafter seals it as at the first submission.
        sealing.seal_submission(route, user)
    return Route.objects.get(pk=route.pk)


# --- Actions on a task -------------------------------------------------------------------------


@contextmanager
def acting_on(user: User, slot_id: int, transition: str) -> Iterator[tuple[RouteRows, SlotFlow]]:
    """Lock the slot's route, read its rows and check that `user` may take `transition` on the
    slot now. The body runs inside the transaction and progression.action()."""
    with transaction.atomic(), progression.action():
        route = locks.route_of_slot(slot_id)
        rows = RouteRows.read(route)
        slot = rows.slot(slot_id)
        if slot is None:  # the route was found through it: only a bug gets here
            raise RuntimeError(f"slot {slot_id} is not in route {route.pk}")
        flow = SlotFlow(slot, route)
        require(flow, transition, user)
        yield rows, flow


_ACTED_FIELDS = ["status", "acted_at", "acted_by", "comment"]


def _action_kind(slot: Slot) -> str:
    return {
        SlotKind.CONSULT: ActionKind.CONSULT,
        SlotKind.CIRCULATE: ActionKind.READ,
        SlotKind.POST_REVIEW: ActionKind.POST_REVIEW,
    }.get(SlotKind(slot.kind), ActionKind.APPROVE)


def approve(user: User, slot_id: int, comment: str = "") -> Slot:
    """承認 (or 合議 agreement, 供覧 read, 後閲 reviewed, depending on the task)."""
    with acting_on(user, slot_id, "approve") as (rows, flow):
        slot, route = flow.slot, rows.route
        flow.approve(user, comment)
        slot.save(update_fields=_ACTED_FIELDS)
        history(
            route,
            _action_kind(slot),
            user,
            slot=slot,
            comment=comment,
            on_behalf_of=slot.on_behalf_of,
        )
        hooks.slot_approved(slot)
        progression.close_questions(rows, slot)
        if slot.blocking:
            if slot.on_behalf_of is not None:
                _post_review_for(rows, slot)
            progression.proceed(rows, user)
        progression.number_decisions()  # the decider's seal shows the number
        sealing.seal_action(route, slot, user, "approve")
    return slot


def _post_review_for(rows: RouteRows, slot: Slot) -> None:
    """後閲: the absent decider reviews afterwards what their deputy decided, without blocking."""
    absent = slot.on_behalf_of
    if absent is None:
        return
    (review,) = rows.create(
        [
            Slot(
                stage=slot.stage,
                order=slot.order,
                kind=SlotKind.POST_REVIEW,
                assignee=absent,
                post_department_id=slot.post_department_id,
                post_position_id=slot.post_position_id,
                position_name=slot.position_name,
                department_name=slot.department_name,
            )
        ]
    )
    progression.open_slot(review, rows)


def send_back(user: User, slot_id: int, reason: str, to: str | int = "drafter") -> Route:
    """差し戻し: to the drafter (who revises and resubmits) or to an earlier stage."""
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why you send it back."))
    with acting_on(user, slot_id, "send_back") as (rows, flow):
        slot, route = flow.slot, rows.route
        if to != "drafter":
            target = rows.stages.get(to) if isinstance(to, int) else None
            if target is None or target.index >= slot.stage.index or not target.blocking:
                raise WorkflowError(
                    "invalid",
                    _("'to' must be 'drafter' or the index of an earlier approval stage."),
                )
        flow.send_back(user, reason)
        slot.save(update_fields=_ACTED_FIELDS)
        progression.close_questions(rows, slot)
        history(
            route,
            ActionKind.SEND_BACK,
            user,
            slot=slot,
            comment=reason,
            on_behalf_of=slot.on_behalf_of,
            to=to,
        )
        progression.proceed(rows, user, send_back_to=to)
        sealing.seal_action(route, slot, user, "send_back")
        hooks.document_sent_back(route.document, reason)
    return route


def reject(user: User, slot_id: int, reason: str) -> Route:
    """却下 / 否決: the route ends."""
    if not reason.strip():
        raise WorkflowError("invalid", _("Say why you reject it."))
    with acting_on(user, slot_id, "reject") as (rows, flow):
        slot, route = flow.slot, rows.route
        flow.reject(user, reason)
        slot.save(update_fields=_ACTED_FIELDS)
        progression.close_questions(rows, slot)
        history(
            route,
            ActionKind.REJECT,
            user,
            slot=slot,
            comment=reason,
            on_behalf_of=slot.on_behalf_of,
        )
        progression.proceed(rows, user)
        sealing.seal_action(route, slot, user, "reject")
        hooks.document_rejected(route.document, reason)
    return route


def withdraw(user: User, document_id: int, reason: str = "") -> Route:
    """引き戻し / 取り下げ by the drafter, while the current approver has not acted yet."""
    with transaction.atomic(), progression.action():
        route = locks.running_route_of(
            document_id, (RouteStatus.IN_PROGRESS, RouteStatus.SENT_BACK)
        )
        if route is None:
            document = Document.objects.filter(pk=document_id).only("drafter_id").first()
            if document is None or document.drafter_id != user.pk:
                raise _forbidden(_("Only the drafter can withdraw this document."))
            raise _conflict("not_in_review", _("This document is not on a route."))
        rows = RouteRows.read(route)
        flow = DocumentFlow(route.document, route, rows.current())
        require(flow, "withdraw", user)
        progression.cancel_open_tasks(rows)
        progression.end(rows, flow.withdraw)
        history(route, ActionKind.WITHDRAW, user, comment=reason)
        hooks.document_withdrawn(route.document, reason)
    return route


def skip_stage(user: User, route_id: int, stage_index: int, reason: str) -> Route:
    """An administrator skips a skippable stage, with a reason."""
    with transaction.atomic(), progression.action():
        route = locks.route(route_id)
        rows = RouteRows.read(route)
        stage = rows.stages.get(stage_index)
        if stage is None:
            raise WorkflowError("not_found", _("No such stage."), status.HTTP_404_NOT_FOUND)
        flow = StageFlow(stage)
        require(flow, "skip", user)
        if not reason.strip():
            raise WorkflowError("invalid", _("Say why the stage is skipped."))
        was_active = stage.status == StageStatus.ACTIVE
        flow.skip(reason)
        stage.save(update_fields=["status", "skip_reason"])
        history(route, ActionKind.SKIP, user, comment=reason, stage=stage.name)
        if was_active:
            # One open task is closed as skipped by the administrator; the stage is then settled
            # (skipped) and the others are cancelled.
            for slot in rows.slots[stage.index]:
                if slot.status == SlotStatus.OPEN and slot.blocking:
                    SlotFlow(slot, route).skip(user, reason)
                    slot.save(update_fields=_ACTED_FIELDS)
                    hooks.task_cancelled(slot)
                    break
            progression.proceed(rows, user)
        else:
            waiting = [s for s in rows.slots[stage.index] if s.status == SlotStatus.WAITING]
            for slot in waiting:
                SlotFlow(slot, route).skip()
            Slot.objects.filter(pk__in=[s.pk for s in waiting]).update(status=SlotStatus.SKIPPED)
    return route


@dataclass(frozen=True)
class BulkResult:
    task_id: int
    ok: bool
    code: str = ""
    message: str = ""


def bulk_approve(user: User, slot_ids: Sequence[int], comment: str = "") -> list[BulkResult]:
    """一括承認: each task in its own transaction, so one refusal does not undo the others.

    A result per task, always. An outage (the object store, the time-stamping service: a 503,
    or anything unexpected) fails its task and stops the run: the tasks before it stay approved
    and signed, the ones after it are reported as not tried, with the reason."""
    results: list[BulkResult] = []
    stopped: BulkResult | None = None
    for slot_id in dict.fromkeys(slot_ids):
        if stopped is not None:
            results.append(
                BulkResult(
                    slot_id,
                    False,
                    "not_attempted",
                    _("Not tried, because of the failure before it: %(reason)s")
                    % {"reason": stopped.message},
                )
            )
            continue
        try:
            approve(user, slot_id, comment)
        except ApiError as exc:
            result = BulkResult(slot_id, False, str(exc.get_codes()), str(exc.detail))
            if exc.status_code >= status.HTTP_500_INTERNAL_SERVER_ERROR:
                stopped = result
        except StorageUnavailable:
            logger.warning("bulk approval stopped at task %s: object store unavailable", slot_id)
            result = stopped = BulkResult(
                slot_id,
                False,
                "storage_unavailable",
                _("The document store is unreachable; this task was not approved."),
            )
        except Exception:
            logger.exception("bulk approval stopped at task %s", slot_id)
            result = stopped = BulkResult(
                slot_id,
                False,
                "server_error",
                _("An unexpected error occurred; this task was not approved."),
            )
        else:
            result = BulkResult(slot_id, True)
        results.append(result)
    return results
