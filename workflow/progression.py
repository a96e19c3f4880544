"""How a route moves from stage to stage. Called by the flow's nodes (workflow.flows), under the
process lock and inside the transaction of the action that moved it.

Every action runs its body inside `action()`, which writes two things last, just before the
commit: a decision's document number (a row lock on the department's counter) and the audit
entries (a row lock on the audit trail's single head row). Those are the only rows that actions on
different documents contend for, and a row lock is held until the commit, so taking them last keeps
approvals of different documents from waiting on each other's work.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class _Deferred:
    audit: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[tuple[Route, User | None]] = field(default_factory=list)


_deferred: ContextVar[_Deferred | None] = ContextVar("workflow_deferred", default=None)


@contextmanager
def action() -> Iterator[None]:
    """The body of one action, inside its transaction (see the module docstring). Nested uses
    join the outer one; on an exception nothing deferred is written."""
    if _deferred.get() is not None:
        yield
        return
    state = _Deferred()
    token = _deferred.set(state)
    try:
        yield
        number_decisions()
        # One append for all of them: the audit head is locked and moved once.
        audit.append([audit.prepare(**entry) for entry in state.audit])
    finally:
        _deferred.reset(token)


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
    # The same action in the tamper-evident audit trail, in the same transaction (at its end
    # inside an action()).
    record: dict[str, Any] = {
        "action": f"workflow.{action}",
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "document": route.document_id,
        "version": route.document_version,
        "data": {
            "history": entry.pk,
            "slot": slot.pk if slot else None,
            "stage": entry.stage_name,
            "comment": comment,
            **details,
        },
    }
    audit_at_end(record)


def audit_at_end(record: dict[str, Any]) -> None:
    """An audit entry written at the end of the current action (see the module docstring), in
    the order the action produced it; at once outside an action."""
    deferred = _deferred.get()
    if deferred is None:
        audit.record(**record)
    else:
        deferred.audit.append(record)


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


@dataclass
class RouteRows:
    """A route's stages and their slots (by order, every round), read in one query for one run
    of the flow: the join, settle and the split would each read them again otherwise.

    The run changes them on these instances only. Whatever changes slots by other means
    (reset_stages, finish) marks them `stale`, and the next reader reads them afresh. Every stage
    has slots (resolution refuses an empty one), so the slots name every stage."""

    stages: dict[int, RouteStage]  # by index, in order
    slots: dict[int, list[Slot]]  # by stage index
    stale: bool = False

    @classmethod
    def read(cls, route: Route) -> RouteRows:
        stages: dict[int, RouteStage] = {}
        slots: dict[int, list[Slot]] = {}
        for slot in (
            Slot.objects.filter(stage__route=route)
            .select_related("stage", "assignee")
            .order_by("stage__index", "order", "id")
        ):
            # One instance per stage, with the locked route, so what settle changes in it every
            # slot sees.
            stage = stages.setdefault(slot.stage.index, slot.stage)
            stage.route = route
            slot.stage = stage
            slots.setdefault(stage.index, []).append(slot)
        return cls(stages, slots)


def slots_to_open(route: Route, rows: RouteRows | None = None) -> list[Slot]:
    """The split's fan-out: the current stage's next slots (one at a time when sequential).
    `rows`: the route's stages and slots, if already read."""
    if rows is None:
        waiting = list(
            Slot.objects.filter(
                stage__route=route,
                stage__index=route.current_stage,
                status=SlotStatus.WAITING,
                kind__in=BLOCKING_KINDS,
            )
            .select_related("stage", "assignee")
            .order_by("order", "id")
        )
        RouteStage.objects.filter(route=route, index=route.current_stage).update(
            status=StageStatus.ACTIVE
        )
    else:
        stage, slots = current_stage(route, rows)
        waiting = [s for s in slots if s.status == SlotStatus.WAITING and s.kind in BLOCKING_KINDS]
        stage.status = StageStatus.ACTIVE
        stage.save(update_fields=["status"])
    if waiting and waiting[0].stage.mode == StageMode.SEQUENTIAL:
        waiting = waiting[:1]
    for slot in waiting:
        slot.stage.route = route
        slot.stage.status = StageStatus.ACTIVE
        open_slot(slot)
    return waiting


def current_stage(route: Route, rows: RouteRows | None = None) -> tuple[RouteStage, list[Slot]]:
    """The route's current stage and all its slots (every round), in one query (none if `rows`,
    the route's stages and slots, are given)."""
    if rows is not None:
        return rows.stages[route.current_stage], rows.slots[route.current_stage]
    slots = list(
        Slot.objects.filter(stage__route=route, stage__index=route.current_stage)
        .select_related("stage")
        .order_by("order", "id")
    )
    stage = slots[0].stage if slots else route.stages.get(index=route.current_stage)
    stage.route = route
    for slot in slots:
        slot.stage = stage  # one instance, so what settle changes in it every slot sees
    return stage, slots


def outcome(stage: RouteStage, slots: list[Slot] | None = None) -> str | None:
    """None while the stage is undecided. `slots`: the stage's slots, if already loaded."""
    if stage.status == StageStatus.SKIPPED:
        return SKIPPED
    if slots is None:
        slots = list(stage.slots.all())
    slots = [s for s in slots if s.kind in BLOCKING_KINDS and s.round == stage.round]
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


def _close_leftovers(stage: RouteStage, result: str, slots: list[Slot]) -> None:
    for slot in slots:
        if slot.status not in (SlotStatus.OPEN, SlotStatus.WAITING):
            continue
        if slot.kind not in BLOCKING_KINDS:
            continue
        slot.stage = stage
        was_open = slot.status == SlotStatus.OPEN
        slot.status = SlotStatus.CANCELLED if was_open or result != APPROVED else SlotStatus.SKIPPED
        slot.save(update_fields=["status"])
        if was_open:
            hooks.task_cancelled(slot)


def settle(
    route: Route,
    stage: RouteStage | None = None,
    slots: list[Slot] | None = None,
    actor: User | None = None,
    rows: RouteRows | None = None,
) -> None:
    """After the join: close the stage and move the route on, back, or to its end.

    `route` is the locked, current row; `stage` and `slots` its current stage, if already loaded;
    `actor` whoever acted, if known (else the decision is recorded for the last one who did);
    `rows` the route's stages and slots, if read for the run (stale afterwards unless it moved on).
    """
    if stage is None or slots is None:
        stage, slots = current_stage(route, rows)
    result = outcome(stage, slots)
    if result is None:
        return  # a sequential stage with people still to go: the switch loops to the split
    _close_leftovers(stage, result, slots)
    if result in (APPROVED, SKIPPED):
        if stage.status != StageStatus.SKIPPED:
            stage.status = StageStatus.DONE
            stage.save(update_fields=["status"])
        advance(route, actor, rows)
        return
    if rows is not None:
        rows.stale = True  # finish() and reset_stages() change slots in bulk, and add some
    if result == REJECTED:
        finish(route, RouteStatus.REJECTED, Status.REJECTED)
    else:
        _sent_back(route, stage)


def advance(route: Route, actor: User | None = None, rows: RouteRows | None = None) -> None:
    """Open circulation stages on the way (they never block); stop at the next blocking stage.
    `rows`: the route's stages and slots, if already read."""
    pending: Iterable[RouteStage]
    if rows is None:
        pending = route.stages.filter(status=StageStatus.PENDING).order_by("index")
    else:
        pending = [s for s in rows.stages.values() if s.status == StageStatus.PENDING]
    for stage in pending:
        if stage.mode == StageMode.CIRCULATION:
            waiting: Iterable[Slot]
            if rows is None:
                waiting = stage.slots.filter(status=SlotStatus.WAITING).select_related(
                    "stage__route", "assignee"
                )
            else:
                waiting = [s for s in rows.slots[stage.index] if s.status == SlotStatus.WAITING]
            for slot in waiting:
                open_slot(slot)
            stage.status = StageStatus.DONE
            stage.save(update_fields=["status"])
            continue
        route.current_stage = stage.index
        route.save(update_fields=["current_stage"])
        return
    decide(route, actor)


def _last_actor(route: Route) -> User:
    slot = (
        Slot.objects.filter(stage__route=route, acted_by__isnull=False)
        .select_related("acted_by")
        .order_by("-acted_at", "-id")
        .first()
    )
    return slot.acted_by if slot and slot.acted_by else route.document.drafter


def decide(route: Route, actor: User | None = None) -> None:
    """決裁: the number and the decision date are fixed in the deciding transaction.

    The route ends now; the document's number, its row and the decision's history entry are
    written by number_decisions(), at the end of the action (or now, outside one)."""
    now = timezone.now()
    route.document.decided_at = now
    route.document.status = Status.DECIDED
    route.status = RouteStatus.DECIDED
    route.finished_at = now
    route.save(update_fields=["status", "finished_at"])
    deferred = _deferred.get()
    if deferred is None:
        _number(route, actor)
    else:
        deferred.decisions.append((route, actor))


def number_decisions() -> None:
    """Give the decisions of the current action their numbers (see decide()). The approval
    services call this before the decider seals the record, which shows the number."""
    deferred = _deferred.get()
    while deferred is not None and deferred.decisions:
        _number(*deferred.decisions.pop(0))


def _number(route: Route, actor: User | None) -> None:
    document = route.document
    decided_at = document.decided_at or timezone.now()
    number = next_number(document.department, timezone.localdate(decided_at))
    document.number, document.fiscal_year, document.serial = (
        number.text,
        number.fiscal_year,
        number.serial,
    )
    document.save(
        update_fields=["number", "fiscal_year", "serial", "decided_at", "status", "updated_at"]
    )
    history(route, ActionKind.DECIDE, actor or _last_actor(route), number=number.text)
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
