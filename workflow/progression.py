"""How a route moves from stage to stage. Called by the flow's nodes (workflow.flows), under the
process lock and inside the transaction of the action that moved it.
"""

from __future__ import annotations

from django.utils import timezone

from audit import services as audit
from documents.models import AccessReason, DocumentAccess, Status
from org.models import User
from workflow import hooks
from workflow.models import (
    ActionKind,
    HistoryEntry,
    Route,
    RouteStage,
    RouteStatus,
    Slot,
    SlotKind,
    SlotStatus,
    StageMode,
    StageStatus,
)
from workflow.numbering import next_number
from workflow.resolution import PlannedSlot, apply_deputy

APPROVED, REJECTED, SENT_BACK, SKIPPED = "approved", "rejected", "sent_back", "skipped"
BLOCKING_KINDS = (SlotKind.APPROVE, SlotKind.CONSULT)


def history(
    route: Route,
    action: str,
    actor: User,
    *,
    slot: Slot | None = None,
    comment: str = "",
    on_behalf_of: User | None = None,
    **details: object,
) -> None:
    entry = HistoryEntry.objects.create(
        document=route.document,
        document_version=route.document_version,
        action=action,
        actor=actor,
        on_behalf_of=on_behalf_of,
        slot=slot,
        stage_name=slot.stage.name if slot else str(details.pop("stage", "")),
        comment=comment,
        details=details,
    )
    # The same action in the tamper-evident audit trail, in the same transaction.
    audit.record(
        f"workflow.{action}",
        actor=actor,
        on_behalf_of=on_behalf_of,
        document=route.document_id,
        version=route.document_version,
        data={
            "history": entry.pk,
            "slot": slot.pk if slot else None,
            "stage": entry.stage_name,
            "comment": comment,
            **details,
        },
    )


def open_slot(slot: Slot) -> None:
    """Open a slot; 代決 is decided now, so an absence that began after submission counts."""
    if slot.kind in BLOCKING_KINDS and slot.on_behalf_of_id is None:
        planned = apply_deputy(PlannedSlot(slot.assignee))
        if planned.on_behalf_of is not None:
            slot.on_behalf_of = planned.on_behalf_of
            slot.assignee = planned.user
            DocumentAccess.objects.get_or_create(
                document_id=slot.stage.route.document_id,
                user=planned.user,
                reason=AccessReason.DEPUTY,
            )
    slot.status = SlotStatus.OPEN
    slot.opened_at = timezone.now()
    slot.save(update_fields=["status", "opened_at", "assignee", "on_behalf_of"])
    hooks.task_assigned(slot)


def slots_to_open(route: Route) -> list[Slot]:
    """The split's fan-out: the current stage's next slots (one at a time when sequential)."""
    stage = route.stages.get(index=route.current_stage)
    stage.status = StageStatus.ACTIVE
    stage.save(update_fields=["status"])
    waiting = list(
        stage.slots.filter(status=SlotStatus.WAITING, kind__in=BLOCKING_KINDS)
        .select_related("stage__route", "assignee")
        .order_by("order", "id")
    )
    if stage.mode == StageMode.SEQUENTIAL:
        waiting = waiting[:1]
    for slot in waiting:
        open_slot(slot)
    return waiting


def outcome(stage: RouteStage) -> str | None:
    """None while the stage is undecided."""
    if stage.status == StageStatus.SKIPPED:
        return SKIPPED
    slots = [s for s in stage.slots.all() if s.kind in BLOCKING_KINDS and s.round == stage.round]
    statuses = [s.status for s in slots]
    if SlotStatus.REJECTED in statuses:
        return REJECTED
    if SlotStatus.SENT_BACK in statuses:
        return SENT_BACK
    live = [s for s in slots if s.status not in (SlotStatus.CANCELLED, SlotStatus.SKIPPED)]
    done = sum(1 for s in live if s.status == SlotStatus.APPROVED)
    if live and done >= stage.required(len(live)):
        return APPROVED
    return None


def _close_leftovers(stage: RouteStage, result: str) -> None:
    for slot in stage.slots.filter(
        status__in=[SlotStatus.OPEN, SlotStatus.WAITING], kind__in=BLOCKING_KINDS
    ):
        was_open = slot.status == SlotStatus.OPEN
        slot.status = SlotStatus.CANCELLED if was_open or result != APPROVED else SlotStatus.SKIPPED
        slot.save(update_fields=["status"])
        if was_open:
            hooks.task_cancelled(slot)


def settle(route: Route) -> None:
    """After the join: close the stage and move the route on, back, or to its end."""
    route = Route.objects.select_related("document").get(pk=route.pk)
    stage = route.stages.get(index=route.current_stage)
    result = outcome(stage)
    if result is None:
        return  # a sequential stage with people still to go: the switch loops to the split
    _close_leftovers(stage, result)
    if result in (APPROVED, SKIPPED):
        if stage.status != StageStatus.SKIPPED:
            stage.status = StageStatus.DONE
            stage.save(update_fields=["status"])
        advance(route)
    elif result == REJECTED:
        finish(route, RouteStatus.REJECTED, Status.REJECTED)
    else:
        _sent_back(route, stage)


def advance(route: Route) -> None:
    """Open circulation stages on the way (they never block); stop at the next blocking stage."""
    for stage in route.stages.filter(status=StageStatus.PENDING).order_by("index"):
        if stage.mode == StageMode.CIRCULATION:
            for slot in stage.slots.filter(status=SlotStatus.WAITING).select_related(
                "stage__route", "assignee"
            ):
                open_slot(slot)
            stage.status = StageStatus.DONE
            stage.save(update_fields=["status"])
            continue
        route.current_stage = stage.index
        route.save(update_fields=["current_stage"])
        return
    decide(route)


def _last_actor(route: Route) -> User:
    slot = (
        Slot.objects.filter(stage__route=route, acted_by__isnull=False)
        .select_related("acted_by")
        .order_by("-acted_at", "-id")
        .first()
    )
    return slot.acted_by if slot and slot.acted_by else route.document.drafter


def decide(route: Route) -> None:
    """決裁: the number and the decision date are fixed in the deciding transaction."""
    document = route.document
    now = timezone.now()
    number = next_number(document.department, timezone.localdate(now))
    document.number, document.fiscal_year, document.serial = (
        number.text,
        number.fiscal_year,
        number.serial,
    )
    document.decided_at = now
    document.status = Status.DECIDED
    document.save(
        update_fields=["number", "fiscal_year", "serial", "decided_at", "status", "updated_at"]
    )
    route.status = RouteStatus.DECIDED
    route.finished_at = now
    route.save(update_fields=["status", "finished_at"])
    history(route, ActionKind.DECIDE, _last_actor(route), number=number.text)
    hooks.document_decided(document)


def finish(route: Route, route_status: str, document_status: str) -> None:
    for slot in Slot.objects.filter(stage__route=route, status=SlotStatus.OPEN).exclude(
        kind=SlotKind.POST_REVIEW
    ):
        slot.status = SlotStatus.CANCELLED
        slot.save(update_fields=["status"])
        hooks.task_cancelled(slot)
    Slot.objects.filter(stage__route=route, status=SlotStatus.WAITING).update(
        status=SlotStatus.CANCELLED
    )
    route.status = route_status
    route.finished_at = timezone.now()
    route.save(update_fields=["status", "finished_at"])
    document = route.document
    document.status = document_status
    document.save(update_fields=["status", "updated_at"])


def reset_stages(route: Route, from_index: int) -> None:
    """Stages from `from_index` on run again: a new round, with a fresh slot for everyone."""
    for stage in route.stages.filter(index__gte=from_index).exclude(mode=StageMode.CIRCULATION):
        slots = list(stage.slots.filter(kind__in=BLOCKING_KINDS, round=stage.round))
        if all(s.status == SlotStatus.WAITING for s in slots):
            continue  # not reached yet: its slots are still fresh
        for slot in slots:
            if slot.status in (SlotStatus.OPEN, SlotStatus.WAITING):
                slot.status = SlotStatus.CANCELLED
                slot.save(update_fields=["status"])
        stage.round += 1
        stage.status = StageStatus.PENDING
        stage.save(update_fields=["round", "status"])
        named: set[tuple[int, int]] = set()
        for old in slots:
            # The person the route named: a deputy is chosen again when the slot reopens.
            person = old.on_behalf_of_id or old.assignee_id
            if (old.order, person) in named:
                continue
            named.add((old.order, person))
            Slot.objects.create(
                stage=stage,
                order=old.order,
                round=stage.round,
                kind=old.kind,
                assignee_id=person,
                position_name=old.position_name,
                department_name=old.department_name,
                added_by_drafter=old.added_by_drafter,
            )


def _sent_back(route: Route, stage: RouteStage) -> None:
    target = route.send_back_to
    route.send_back_to = ""
    if target and target != "drafter":
        reset_stages(route, int(target))
        route.current_stage = int(target)
        route.save(update_fields=["current_stage", "send_back_to"])
        return
    # To the drafter: the route waits for the revised version, then continues from this stage.
    reset_stages(route, stage.index)
    route.status = RouteStatus.SENT_BACK
    route.save(update_fields=["status", "send_back_to"])
    document = route.document
    document.status = Status.SENT_BACK
    document.save(update_fields=["status", "updated_at"])
    revise = Slot.objects.create(
        stage=stage, order=999, kind=SlotKind.REVISE, assignee=document.drafter
    )
    open_slot(revise)
