"""How a route moves: the only runtime of an approval.

A route's state is its rows (Route → RouteStage → Slot); the states and transitions of each row are
declared in workflow.states. The services (workflow.services) lock the route (workflow.locks),
check who may do what (workflow.states), close the acting person's slot and call `proceed()`, which
works out the stage's result (all-of, any-of, quorum, a rejection, a send-back) and moves the route
on: the next person of a sequential stage, the next stage (circulation stages on the way are opened
and never block), back to an earlier stage or to the drafter, or the decision.

Every action runs its body inside `action()`, which writes three things last, just before the
commit: the action's history entries (one INSERT), a decision's document number (a row lock on the
department's counter) and the audit entries (a row lock on the audit trail's single head row).
The counter and the head are the only rows that actions on different documents contend for, and a
row lock is held until the commit, so taking them last keeps approvals of different documents
from waiting on each other's work (see workflow.locks for the whole order).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from audit import services as audit
from config.db import insert_rows
from documents.models import AccessReason, DocumentAccess
from org.models import User
from org.services import handover_until, holder_and_absence
from workflow import hooks
from workflow.models import (
    BLOCKING_KINDS,
    ActionKind,
    AfterSendBack,
    HistoryEntry,
    Question,
    Route,
    RouteStage,
    Slot,
    SlotKind,
    SlotStatus,
    StageMode,
    StageStatus,
)
from workflow.numbering import next_number
from workflow.resolution import PlannedSlot, apply_deputy
from workflow.states import DocumentFlow, SlotFlow, StageFlow

APPROVED, REJECTED, SENT_BACK, SKIPPED = "approved", "rejected", "sent_back", "skipped"


# --- The end of every action ----------------------------------------------------------------------


@dataclass
class _Deferred:
    # Audit records in the order the action produced them, each with its history entry if any.
    audit: list[tuple[dict[str, Any], HistoryEntry | None]] = field(default_factory=list)
    decisions: list[tuple[RouteRows, User | None]] = field(default_factory=list)


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
        _write_history(state)
        # One append for all of them: the audit head is locked and moved once.
        audit.append([audit.prepare(**record) for record, _entry in state.audit])
    finally:
        _deferred.reset(token)


def _write_history(state: _Deferred) -> None:
    entries = [entry for _record, entry in state.audit if entry is not None]
    if not entries:
        return
    # One INSERT; its ids come back (RETURNING) for the audit records, which name them.
    insert_rows(HistoryEntry, entries)
    for record, entry in state.audit:
        if entry is not None:
            record["data"]["history"] = entry.pk


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
    """Who did what: a HistoryEntry and the same action in the tamper-evident audit trail, both
    in the action's transaction (at its end inside an action(), at once outside one)."""
    entry = HistoryEntry(
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
    record: dict[str, Any] = {
        "action": f"workflow.{action}",
        "actor": actor,
        "on_behalf_of": on_behalf_of,
        "document": route.document_id,
        "version": route.document_version,
        "data": {
            "history": None,
            "slot": slot.pk if slot else None,
            "stage": entry.stage_name,
            "comment": comment,
            **details,
        },
    }
    deferred = _deferred.get()
    if deferred is None:
        entry.save()
        record["data"]["history"] = entry.pk
        audit.record(**record)
    else:
        deferred.audit.append((record, entry))


def audit_at_end(record: dict[str, Any]) -> None:
    """An audit entry written at the end of the current action (see the module docstring), in
    the order the action produced it; at once outside an action."""
    deferred = _deferred.get()
    if deferred is None:
        audit.record(**record)
    else:
        deferred.audit.append((record, None))


# --- A route's rows, read once per action -------------------------------------------------------


@dataclass
class RouteRows:
    """A route's stages and their slots (every round, by order), read in one query under the
    route's lock. Everything an action changes, it changes on these instances, and new slots join
    them (`add`), so they stay the truth until the commit."""

    route: Route
    stages: dict[int, RouteStage]  # by index, in order
    slots: dict[int, list[Slot]]  # by stage index

    @classmethod
    def read(cls, route: Route) -> RouteRows:
        stages: dict[int, RouteStage] = {}
        slots: dict[int, list[Slot]] = {}
        for slot in (
            Slot.objects.filter(stage__route=route)
            .select_related("stage", "assignee", "on_behalf_of")
            .order_by("stage__index", "order", "id")
        ):
            # One instance per stage, with the locked route, so what a change does to it every
            # slot sees. Every stage has slots (resolution refuses an empty one).
            stage = stages.setdefault(slot.stage.index, slot.stage)
            stage.route = route
            slot.stage = stage
            slots.setdefault(stage.index, []).append(slot)
        return cls(route, stages, slots)

    def current(self) -> tuple[RouteStage, list[Slot]]:
        index = self.route.current_stage
        return self.stages[index], self.slots[index]

    def slot(self, slot_id: int) -> Slot | None:
        for slots in self.slots.values():
            for slot in slots:
                if slot.pk == slot_id:
                    return slot
        return None

    def add(self, slots: list[Slot]) -> None:
        for slot in slots:
            slot.stage.route = self.route
            self.slots[slot.stage.index].append(slot)

    def create(self, slots: list[Slot]) -> list[Slot]:
        """New slot rows of this route, written in one INSERT."""
        created = Slot.objects.bulk_create(slots)
        self.add(created)
        return created


# --- Moving the route -----------------------------------------------------------------------------


def proceed(
    rows: RouteRows, actor: User | None = None, send_back_to: str | int = "drafter"
) -> None:
    """After a slot of the current stage was closed: settle the stage if it has its result and
    move the route on, back or to its end; else open the next person of a sequential stage.
    `send_back_to`: where a send-back goes ("drafter" or an earlier stage's index)."""
    stage, slots = rows.current()
    result = outcome(stage, slots)
    if result is None:
        if not any(s.status == SlotStatus.OPEN for s in _this_round(stage, slots)):
            open_stage(rows)  # a sequential stage: the next person's turn
        return
    _close_leftovers(stage, result, slots)
    if result in (APPROVED, SKIPPED):
        if stage.status != StageStatus.SKIPPED:
            StageFlow(stage).complete()
            stage.save(update_fields=["status"])
        advance(rows, actor)
    elif result == REJECTED:
        cancel_open_tasks(rows)
        end(rows, DocumentFlow(rows.route.document, rows.route).reject)
    else:
        _sent_back(rows, stage, send_back_to)


def _this_round(stage: RouteStage, slots: list[Slot]) -> list[Slot]:
    return [s for s in slots if s.kind in BLOCKING_KINDS and s.round == stage.round]


def outcome(stage: RouteStage, slots: list[Slot]) -> str | None:
    """The stage's result from its slots of this round; None while it is undecided."""
    if stage.status == StageStatus.SKIPPED:
        return SKIPPED
    current = _this_round(stage, slots)
    statuses = [s.status for s in current]
    if SlotStatus.REJECTED in statuses:
        return REJECTED
    if SlotStatus.SENT_BACK in statuses:
        return SENT_BACK
    live = [s for s in current if s.status not in (SlotStatus.CANCELLED, SlotStatus.SKIPPED)]
    done = sum(1 for s in live if s.status == SlotStatus.APPROVED)
    if live and done >= stage.required(len(live)):
        return APPROVED
    return None


def advance(rows: RouteRows, actor: User | None = None) -> None:
    """Open circulation stages on the way (they never block); stop at the next blocking stage and
    open it; decide when there is none."""
    route = rows.route
    for stage in [s for s in rows.stages.values() if s.status == StageStatus.PENDING]:
        if stage.mode == StageMode.CIRCULATION:
            for slot in rows.slots[stage.index]:
                if slot.status == SlotStatus.WAITING:
                    open_slot(slot, rows)
            StageFlow(stage).complete()
            stage.save(update_fields=["status"])
            continue
        if route.current_stage != stage.index:
            route.current_stage = stage.index
            route.save(update_fields=["current_stage"])
        open_stage(rows)
        return
    decide(rows, actor)


def open_stage(rows: RouteRows) -> list[Slot]:
    """Open the current stage's waiting slots: all of them, or the next one when sequential."""
    stage, slots = rows.current()
    if stage.status == StageStatus.PENDING:
        StageFlow(stage).activate()
        stage.save(update_fields=["status"])
    waiting = [s for s in slots if s.status == SlotStatus.WAITING and s.kind in BLOCKING_KINDS]
    if not waiting:
        raise RuntimeError(f"stage {stage} of route {rows.route.pk} has nobody left to open")
    if stage.mode == StageMode.SEQUENTIAL:
        waiting = waiting[:1]
    for slot in waiting:
        open_slot(slot, rows)
    return waiting


def open_slot(slot: Slot, rows: RouteRows | None = None) -> None:
    """Open a slot. Who acts is settled now, not at submission: the holder of the slot's post
    today (人事異動), and a deputy if that person is absent (代決), passing over the drafter and
    anyone who already approved on this route (separation of duties)."""
    if slot.blocking and slot.on_behalf_of_id is None:
        absent = _follow_post(slot)
        excluded = {slot.stage.route.document.drafter_id}
        if rows is not None:
            excluded |= approvers_elsewhere(rows, slot)
        if absent is not False or slot.assignee_id in excluded:
            _deputise(slot, excluded)
    SlotFlow(slot).open()
    slot.save(
        update_fields=[
            "status",
            "opened_at",
            "assignee",
            "on_behalf_of",
            "previous_assignee",
            "handover_until",
        ]
    )
    hooks.task_assigned(slot)


def _follow_post(slot: Slot) -> bool | None:
    """The slot names a post: its holder today acts, whoever held it at submission. Whether
    that person is absent (None: not known, the slot names no post or the post is vacant)."""
    if slot.post_department_id is None or slot.post_position_id is None:
        return None
    holder, absent = holder_and_absence(slot.post_department_id, slot.post_position_id)
    if holder is None:
        return None  # vacant: the person named at submission keeps it (the route designer warns)
    if holder.pk != slot.assignee_id:
        move(slot, holder, reason=POST_HOLDER_CHANGED, actor=holder)
    return absent


def _deputise(slot: Slot, excluded: set[int]) -> None:
    route = slot.stage.route
    planned, note = apply_deputy(
        PlannedSlot(slot.assignee), excluded=excluded, drafter_id=route.document.drafter_id
    )
    if planned.on_behalf_of is not None:
        slot.on_behalf_of = planned.on_behalf_of
        slot.assignee = planned.user
        DocumentAccess.objects.get_or_create(
            document_id=route.document_id, user=planned.user, reason=AccessReason.DEPUTY
        )
    if note:
        history(route, ActionKind.PASS_OVER, slot.assignee, slot=slot, comment=note)


def approvers_elsewhere(rows: RouteRows, slot: Slot) -> set[int]:
    """Who approved (or agreed) on this route at another stage, this round of each stage."""
    people: set[int] = set()
    for stage in rows.stages.values():
        if stage.index == slot.stage.index:
            continue
        for other in _this_round(stage, rows.slots[stage.index]):
            if other.status == SlotStatus.APPROVED and other.acted_by_id is not None:
                people.add(other.acted_by_id)
    return people


POST_HOLDER_CHANGED = "post_holder_changed"
ABSENT = "absent"
REASSIGNED = "reassigned"


def move(
    slot: Slot,
    to: User,
    *,
    reason: str,
    actor: User,
    comment: str = "",
    on_behalf_of: User | None = None,
) -> None:
    """Give the slot to another person (saved by the caller): a history entry and the audit
    trail say who moved it and why; both people are told after the commit (hooks)."""
    old = slot.assignee
    route = slot.stage.route
    slot.previous_assignee = old
    slot.handover_until = (
        handover_until(old, slot.post_department_id, slot.post_position_id)
        if reason == POST_HOLDER_CHANGED and slot.post_department_id and slot.post_position_id
        else None
    )
    slot.assignee = to
    if on_behalf_of is not None:
        slot.on_behalf_of = on_behalf_of
    DocumentAccess.objects.get_or_create(
        document_id=route.document_id, user=to, reason=AccessReason.PARTICIPANT
    )
    history(
        route,
        ActionKind.REASSIGN,
        actor,
        slot=slot,
        comment=comment,
        reason=reason,
        previous={"username": old.username, "name": str(old)},
        assignee={"username": to.username, "name": str(to)},
        handover_until=slot.handover_until.isoformat() if slot.handover_until else None,
    )
    if slot.status == SlotStatus.OPEN:
        hooks.task_moved(slot, old)


def _close_leftovers(stage: RouteStage, result: str, slots: list[Slot]) -> None:
    """The stage has its result: whoever has not acted is no longer asked."""
    for slot in _this_round(stage, slots):
        if slot.status not in (SlotStatus.OPEN, SlotStatus.WAITING):
            continue
        was_open = slot.status == SlotStatus.OPEN
        flow = SlotFlow(slot)
        if was_open or result != APPROVED:
            flow.cancel()
        else:
            flow.skip()  # an any-of or quorum stage decided before this person's turn
        slot.save(update_fields=["status"])
        if was_open:
            hooks.task_cancelled(slot)


def decide(rows: RouteRows, actor: User | None = None) -> None:
    """決裁: the route ends and the decision date is fixed now; the document's number, its row
    and the decision's history entry are written by number_decisions(), at the end of the action
    (or now, outside one)."""
    route = rows.route
    DocumentFlow(route.document, route).decide()
    route.save(update_fields=["status", "finished_at"])
    deferred = _deferred.get()
    if deferred is None:
        _number(rows, actor)
    else:
        deferred.decisions.append((rows, actor))


def number_decisions() -> None:
    """Give the decisions of the current action their numbers (see decide()). The approval
    services call this before the decider seals the record, which shows the number."""
    deferred = _deferred.get()
    while deferred is not None and deferred.decisions:
        _number(*deferred.decisions.pop(0))


def _number(rows: RouteRows, actor: User | None) -> None:
    route = rows.route
    document = route.document
    number = next_number(
        document.department, timezone.localdate(document.decided_at or timezone.now())
    )
    document.number, document.fiscal_year, document.serial = (
        number.text,
        number.fiscal_year,
        number.serial,
    )
    document.save(
        update_fields=["number", "fiscal_year", "serial", "decided_at", "status", "updated_at"]
    )
    history(route, ActionKind.DECIDE, actor or _last_actor(rows), number=number.text)
    hooks.document_decided(document)


def _last_actor(rows: RouteRows) -> User:
    acted = [s for slots in rows.slots.values() for s in slots if s.acted_by is not None]
    if not acted:
        return rows.route.document.drafter
    last = max(acted, key=lambda s: (s.acted_at, s.pk))
    return last.acted_by or rows.route.document.drafter


def cancel_slot(slot: Slot) -> None:
    SlotFlow(slot).cancel()
    slot.save(update_fields=["status"])
    hooks.task_cancelled(slot)


def close_questions(rows: RouteRows, slot: Slot) -> None:
    """The approver acted: questions (質疑) still open on their task are no longer needed."""
    for other in rows.slots[slot.stage.index]:
        if (
            other.kind == SlotKind.ANSWER
            and other.status == SlotStatus.OPEN
            and Question.objects.filter(answer_slot=other, slot=slot).exists()
        ):
            cancel_slot(other)


def cancel_open_tasks(rows: RouteRows) -> None:
    """The route ends without a decision (rejected, withdrawn): open tasks are cancelled (a
    post-review stays: the deputy's decision it reviews stands), waiting ones with them."""
    waiting: list[Slot] = []
    for slot in [s for slots in rows.slots.values() for s in slots]:
        if slot.status == SlotStatus.OPEN and slot.kind != SlotKind.POST_REVIEW:
            SlotFlow(slot).cancel()
            slot.save(update_fields=["status"])
            hooks.task_cancelled(slot)
        elif slot.status == SlotStatus.WAITING:
            SlotFlow(slot).cancel()
            waiting.append(slot)
    if waiting:
        Slot.objects.filter(pk__in=[s.pk for s in waiting]).update(status=SlotStatus.CANCELLED)


def end(rows: RouteRows, transition: Callable[[], None]) -> None:
    """Take the document's ending `transition` (a DocumentFlow method, which ends the route
    too) and save both."""
    transition()
    rows.route.save(update_fields=["status", "finished_at"])
    rows.route.document.save(update_fields=["status", "updated_at"])


def rerun_from(rows: RouteRows, from_index: int) -> None:
    """Stages from `from_index` on run again: a new round, with a fresh slot for everyone the
    route named (a deputy is chosen again when the slot reopens). Stages not reached yet keep
    their slots, which are still fresh."""
    new: list[Slot] = []
    for stage in rows.stages.values():
        if stage.index < from_index or stage.mode == StageMode.CIRCULATION:
            continue
        slots = _this_round(stage, rows.slots[stage.index])
        if all(s.status == SlotStatus.WAITING for s in slots):
            continue
        for slot in slots:
            if slot.status in (SlotStatus.OPEN, SlotStatus.WAITING):
                SlotFlow(slot).cancel()
                slot.save(update_fields=["status"])
        StageFlow(stage).rerun()
        stage.save(update_fields=["round", "status"])
        named: set[tuple[int, int]] = set()
        for old in slots:
            person = old.on_behalf_of_id or old.assignee_id
            if (old.order, person) in named:
                continue
            named.add((old.order, person))
            new.append(
                Slot(
                    stage=stage,
                    order=old.order,
                    round=stage.round,
                    kind=old.kind,
                    assignee_id=person,
                    post_department_id=old.post_department_id,
                    post_position_id=old.post_position_id,
                    position_name=old.position_name,
                    department_name=old.department_name,
                    added_by_drafter=old.added_by_drafter,
                )
            )
    if new:
        rows.create(new)


def first_blocking(rows: RouteRows) -> int:
    return min(i for i, stage in rows.stages.items() if stage.blocking)


def _sent_back(rows: RouteRows, stage: RouteStage, target: str | int) -> None:
    route = rows.route
    if isinstance(target, int):
        rerun_from(rows, target)
        route.current_stage = target
        route.save(update_fields=["current_stage"])
        open_stage(rows)
        return
    # To the drafter: the route waits for the revised version, then starts again from the first
    # stage (the default) or continues from this one (RouteTemplate.after_send_back).
    restart = route.after_send_back == AfterSendBack.RESTART
    rerun_from(rows, first_blocking(rows) if restart else stage.index)
    document = route.document
    DocumentFlow(document, route).send_back()
    route.save(update_fields=["status"])
    document.save(update_fields=["status", "updated_at"])
    (revise,) = rows.create(
        [Slot(stage=stage, order=999, kind=SlotKind.REVISE, assignee=document.drafter)]
    )
    open_slot(revise, rows)
