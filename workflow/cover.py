"""The route as the record's cover sheet shows it: route lines and one stamp box per approver."""

from __future__ import annotations

from documents.models import Document
from documents.record import StampBox
from workflow.models import RouteStatus, SlotKind, SlotStatus, StageMode, StageRole
from workflow.resolution import PlannedRoute, RouteError

ROLE_SUFFIX = {StageRole.CONSULT: "（合議）", StageRole.DECIDE: "（決裁）"}


def stamp_key(stage_index: int, slot_order: int) -> str:
    """Names a stamp box by stage and slot position, which a send-back's new round keeps."""
    return f"{stage_index}:{slot_order}"


def _label(position: str, role: str) -> str:
    return f"{position}{ROLE_SUFFIX.get(StageRole(role), '')}"


def _from_rows(document: Document) -> tuple[list[str], list[StampBox]] | None:
    route = document.routes.exclude(status=RouteStatus.WITHDRAWN).first()
    if route is None:
        return None
    lines, boxes = [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]
    for stage in route.stages.prefetch_related("slots__assignee", "slots__on_behalf_of"):
        slots = [
            s
            for s in stage.slots.all()
            if s.round == stage.round
            and s.kind not in (SlotKind.REVISE, SlotKind.POST_REVIEW)
            and s.status != SlotStatus.CANCELLED
        ]
        for slot in slots:
            name = str(slot.assignee)
            if slot.on_behalf_of is not None:
                name = f"{slot.assignee}（{slot.on_behalf_of}代決）"
            lines.append(f"{stage.index + 1}. {stage.name} {name}")
            if stage.mode != StageMode.CIRCULATION:
                boxes.append(
                    StampBox(
                        label=_label(slot.position_name or stage.name, stage.role),
                        name=name,
                        key=stamp_key(stage.index, slot.order),
                    )
                )
    return lines, boxes


def _from_plan(document: Document, planned: PlannedRoute) -> tuple[list[str], list[StampBox]]:
    lines, boxes = [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]
    for index, stage in enumerate(planned.stages, start=1):
        for order, slot in enumerate(stage.slots):
            lines.append(f"{index}. {stage.name} {slot.user}")
            if stage.mode != StageMode.CIRCULATION:
                boxes.append(
                    StampBox(
                        label=_label(slot.position_name or stage.name, stage.role),
                        name=str(slot.user),
                        key=stamp_key(index - 1, order),
                    )
                )
    return lines, boxes


def route_for_cover(document: Document) -> tuple[list[str], list[StampBox]]:
    rows = _from_rows(document)
    if rows is not None:
        return rows
    from workflow.services import plan  # the services import documents' record building

    try:
        return _from_plan(document, plan(document))
    except RouteError:
        # No route applies yet (or a post is vacant): the draft's cover shows the drafter only;
        # submission reports the problem.
        return [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]
