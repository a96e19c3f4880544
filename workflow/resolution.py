"""From a route template and a document to the people who will act on it.

Pure reads: `select_template` applies the 専決規程 (RouteSelectionRule), `resolve` turns the chosen
template into a `PlannedRoute` with real people, deputies applied. The route preview shows a
PlannedRoute; submission writes one into rows (workflow.services).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document
from org.models import Department, User
from org.services import current_posts, deputy_for
from workflow.models import (
    ApproverRule,
    RelativeLevel,
    RouteSelectionRule,
    RouteTemplate,
    RuleKind,
    SlotKind,
    StageMode,
    StageRole,
    StageTemplate,
)


class RouteError(ApiError):
    def __init__(self, code: str, message: str):
        super().__init__(code, message, status.HTTP_422_UNPROCESSABLE_ENTITY)


@dataclass(frozen=True)
class PlannedSlot:
    user: User
    position_name: str = ""
    department_name: str = ""
    on_behalf_of: User | None = None  # 代決: `user` decides for this absent person
    added_by_drafter: bool = False


@dataclass(frozen=True)
class PlannedStage:
    name: str
    mode: str
    role: str
    slots: tuple[PlannedSlot, ...]
    quorum: int | None = None
    skippable: bool = False

    @property
    def kind(self) -> str:
        return {
            StageRole.CONSULT: SlotKind.CONSULT,
            StageRole.CIRCULATE: SlotKind.CIRCULATE,
        }.get(StageRole(self.role), SlotKind.APPROVE)


@dataclass(frozen=True)
class PlannedRoute:
    template: RouteTemplate | None
    stages: tuple[PlannedStage, ...] = field(default_factory=tuple)


def _in_range(amount: int | None, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    if amount is None:
        return False
    return (low is None or amount >= low) and (high is None or amount < high)


def _department_chain(department: Department) -> list[Department]:
    return [department, *department.ancestors()]


def _matches(condition: RouteSelectionRule | StageTemplate, document: Document) -> bool:
    if not _in_range(document.amount, condition.amount_min, condition.amount_max):
        return False
    types = {t.pk for t in condition.doc_types.all()}
    if types and document.doc_type_id not in types:
        return False
    departments = {d.pk for d in condition.departments.all()}
    chain = {d.pk for d in _department_chain(document.department)}
    return not departments or bool(departments & chain)


def select_template(document: Document) -> RouteTemplate:
    rules = RouteSelectionRule.objects.filter(is_active=True, template__is_active=True)
    for rule in rules.select_related("template").prefetch_related("doc_types", "departments"):
        if _matches(rule, document):
            return rule.template
    raise RouteError(
        "no_route",
        _(
            "No route applies to this document (type %(type)s, amount %(amount)s); ask an "
            "administrator to add a route selection rule."
        )
        % {"type": document.doc_type.name, "amount": document.amount},
    )


def _rule_department(rule: ApproverRule, document: Document) -> Department | None:
    if rule.kind == RuleKind.DEPARTMENT_POSITION:
        return rule.department
    up = {RelativeLevel.OWN: 0, RelativeLevel.PARENT: 1, RelativeLevel.GRANDPARENT: 2}
    chain = _department_chain(document.department)
    steps = up[RelativeLevel(rule.level)]
    return chain[steps] if steps < len(chain) else None


def _slots_for(rule: ApproverRule, document: Document, at: datetime | None) -> list[PlannedSlot]:
    if rule.kind == RuleKind.USER and rule.user is not None:
        if not rule.user.is_active:
            raise RouteError(
                "vacant_post",
                _(
                    "%(name)s, named in the route, is no longer active; ask an administrator "
                    "to update the route."
                )
                % {"name": rule.user},
            )
        post = rule.user.primary_post
        return [
            PlannedSlot(
                rule.user,
                post.position.name if post else "",
                post.department.full_name if post else "",
            )
        ]
    if rule.kind == RuleKind.GROUP and rule.group is not None:
        users = list(rule.group.user_set.filter(is_active=True).order_by("username"))
        if not users:
            raise RouteError(
                "vacant_post", _("Nobody is in the group %(group)s.") % {"group": rule.group.name}
            )
        return [PlannedSlot(u) for u in users]
    department = _rule_department(rule, document)
    if rule.position is None:  # the database constraint makes this unreachable
        raise RouteError("no_route", _("A route rule is incomplete; ask an administrator."))
    posts = []
    if department is not None:
        posts = list(
            current_posts(at)
            .filter(department=department, position=rule.position)
            .select_related("user")
            .order_by("-is_primary", "user__username")
        )
    if not posts:
        where = department.full_name if department else _("(no such department)")
        raise RouteError(
            "vacant_post",
            _(
                "The post %(post)s is vacant, so this route has nobody to act at that stage. "
                "Ask an administrator to fill the post or to name a deputy."
            )
            % {"post": f"{where} {rule.position.name}"},
        )
    # One post, one holder: the first holder represents it (co-holders are rare and are
    # expressed with a group rule instead).
    post = posts[0]
    return [PlannedSlot(post.user, rule.position.name, post.department.full_name)]


def apply_deputy(slot: PlannedSlot, at: datetime | None = None) -> PlannedSlot:
    """If the slot's person is absent and has a deputy, the deputy acts for them (代決)."""
    if slot.on_behalf_of is not None:
        return slot
    deputy = deputy_for(slot.user, at)
    if deputy is None:
        return slot
    return replace(slot, user=deputy, on_behalf_of=slot.user)


def resolve(
    template: RouteTemplate, document: Document, at: datetime | None = None
) -> PlannedRoute:
    stages: list[PlannedStage] = []
    for stage in template.stages.prefetch_related(
        "doc_types",
        "departments",
        "rules__user",
        "rules__position",
        "rules__group",
        "rules__department",
    ):
        if not _matches(stage, document):
            continue
        slots: list[PlannedSlot] = []
        for rule in stage.rules.all():
            slots.extend(_slots_for(rule, document, at))
        slots = [apply_deputy(s, at) for s in _unique(slots)]
        if not slots:
            raise RouteError(
                "vacant_post",
                _("The stage %(stage)s has no approver rule.") % {"stage": stage.name},
            )
        stages.append(
            PlannedStage(
                stage.name, stage.mode, stage.role, tuple(slots), stage.quorum, stage.skippable
            )
        )
    if not any(s.mode != StageMode.CIRCULATION for s in stages):
        raise RouteError(
            "no_route",
            _("The route %(route)s has no approval stage for this document.")
            % {"route": template.name},
        )
    return PlannedRoute(template, tuple(stages))


def _unique(slots: list[PlannedSlot]) -> list[PlannedSlot]:
    seen: set[int] = set()
    result = []
    for slot in slots:
        if slot.user.pk not in seen:
            seen.add(slot.user.pk)
            result.append(slot)
    return result


def with_additions(route: PlannedRoute, approvers: list[User], readers: list[User]) -> PlannedRoute:
    """The drafter's additions: extra approvers before the deciding stage, readers at the end."""
    stages = list(route.stages)
    blocking = [i for i, s in enumerate(stages) if s.mode != StageMode.CIRCULATION]
    insert_at = blocking[-1] if blocking else len(stages)
    for offset, user in enumerate(approvers):
        post = user.primary_post
        slot = apply_deputy(
            PlannedSlot(
                user,
                post.position.name if post else "",
                post.department.full_name if post else "",
                added_by_drafter=True,
            )
        )
        stages.insert(
            insert_at + offset,
            PlannedStage(
                post.position.name if post else str(user),
                StageMode.SEQUENTIAL,
                StageRole.APPROVE,
                (slot,),
            ),
        )
    if readers:
        stages.append(
            PlannedStage(
                _("Circulation"),
                StageMode.CIRCULATION,
                StageRole.CIRCULATE,
                tuple(PlannedSlot(u, added_by_drafter=True) for u in _unique_users(readers)),
            )
        )
    return replace(route, stages=tuple(stages))


def _unique_users(users: list[User]) -> list[User]:
    return list({u.pk: u for u in users}.values())
