"""The route as the record's cover sheet shows it: route lines and one stamp box per approver."""

from __future__ import annotations

from documents.models import Document
from documents.record import StampBox
from workflow.authority import HIGHER
from workflow.models import (
    ActionKind,
    HistoryEntry,
    Route,
    RouteStatus,
    SlotKind,
    SlotStatus,
    StageMode,
    StageRole,
)
from workflow.resolution import PlannedRoute, RouteError

ROLE_SUFFIX = {StageRole.CONSULT: "（合議）", StageRole.DECIDE: "（決裁）"}


def stamp_key(stage_index: int, slot_order: int) -> str:
    """Names a stamp box by stage and slot position, which a send-back's new round keeps."""
    return f"{stage_index}:{slot_order}"


def _label(position: str, role: str) -> str:
    return f"{position}{ROLE_SUFFIX.get(StageRole(role), '')}"


def route_line(used: str, rule: str, deviation: str, reason: str) -> str:
    """When the rules asked for another route, e.g.
    経路: 部長決裁（規程: 課長専決、起案者が上位の決裁を選択）. The cover is in Japanese."""
    why = "起案者が上位の決裁を選択" if deviation == HIGHER else f"例外: {reason}"
    return f"経路: {used}（規程: {rule}、{why}）"


def _earlier_approvals(route: Route) -> dict[int, int]:
    """slot id → the version it was approved on, for approvals of an earlier version."""
    return dict(
        HistoryEntry.objects.filter(
            slot__stage__route=route,
            action__in=(ActionKind.APPROVE, ActionKind.CONSULT),
            document_version__lt=route.document_version,
        ).values_list("slot_id", "document_version")
    )


def _from_rows(document: Document) -> tuple[list[str], list[StampBox]] | None:
    route = document.routes.exclude(status=RouteStatus.WITHDRAWN).first()
    if route is None:
        return None
    lines, boxes = [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]
    if route.deviation:
        lines.append(
            route_line(
                route.template_name or route.template_code,
                route.rule_template_name or route.rule_template_code,
                route.deviation,
                route.deviation_reason,
            )
        )
    earlier = _earlier_approvals(route)
    for stage in route.stages.prefetch_related(
        "slots__assignee", "slots__on_behalf_of", "slots__acted_by"
    ):
        slots = [
            s
            for s in stage.slots.all()
            if s.round == stage.round
            and s.kind not in (SlotKind.REVISE, SlotKind.POST_REVIEW, SlotKind.ANSWER)
            and s.status != SlotStatus.CANCELLED
        ]
        for slot in slots:
            name = str(slot.assignee)
            if slot.on_behalf_of is not None:
                name = f"{slot.assignee}（{slot.on_behalf_of}代決）"
            lines.append(f"{stage.index + 1}. {stage.name} {name}")
            if stage.mode == StageMode.CIRCULATION:
                continue
            label = _label(slot.position_name or stage.name, stage.role)
            version = earlier.get(slot.pk)
            if version is not None and slot.status == SlotStatus.APPROVED:
                # Resumed after a send-back: approved on an earlier version and not asked again;
                # that version's signed record keeps the seal (DocumentVersion history).
                who = (slot.acted_by.last_name if slot.acted_by else "") or name
                boxes.append(StampBox(label=label, name=name, note=f"第{version}版で承認（{who}）"))
                continue
            boxes.append(StampBox(label=label, name=name, key=stamp_key(stage.index, slot.order)))
    return lines, boxes


def _from_plan(document: Document, planned: PlannedRoute) -> tuple[list[str], list[StampBox]]:
    lines, boxes = [], [StampBox(label="起案者", name=str(document.drafter), key="drafter")]
    rules = planned.authority
    if rules is not None and rules.deviation and planned.template is not None:
        lines.append(
            route_line(
                planned.template.name, rules.rule_template.name, rules.deviation, rules.reason
            )
        )
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
