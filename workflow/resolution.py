"""From a route template and a document to the people who will act on it.

Pure reads: `select_template` applies the 専決規程 (RouteSelectionRule), `resolve` turns the chosen
template into a `PlannedRoute` with real people, deputies applied. The route preview shows a
PlannedRoute; submission writes one into rows (workflow.services).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from documents.models import Document
from org.models import Department, Position, Post, User
from org.services import current_posts, deputies_for, superior_of_post
from workflow.definitions import RouteDef, RuleDef, SelectionDef, StageDef
from workflow.models import (
    RelativeLevel,
    RouteTemplate,
    RuleKind,
    SlotKind,
    StageMode,
    StageRole,
)
from workflow.versions import route_on, rules_on


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
    # The post (職) the slot names; its holder acts when the stage opens (workflow.personnel).
    post_department: Department | None = None
    post_position: Position | None = None

    @property
    def rank(self) -> int | None:
        return self.post_position.rank if self.post_position is not None else None


def slot_of_post(post: Post, **kwargs: Any) -> PlannedSlot:
    return PlannedSlot(
        post.user,
        post.position.name,
        post.department.full_name,
        post_department=post.department,
        post_position=post.position,
        **kwargs,
    )


def slot_of_person(user: User, **kwargs: Any) -> PlannedSlot:
    """A named person: they act from their primary post (and sign with its key)."""
    post = user.primary_post
    return slot_of_post(post, **kwargs) if post is not None else PlannedSlot(user, **kwargs)


@dataclass(frozen=True)
class PlannedStage:
    name: str
    mode: str
    role: str
    slots: tuple[PlannedSlot, ...]
    quorum: int | None = None
    skippable: bool = False
    same_person_again: bool = False
    quorum_percent: bool = False

    @property
    def blocking(self) -> bool:
        return self.mode != StageMode.CIRCULATION

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
    # Whom resolution passed over and why (separation of duties), for the submission's history.
    passed_over: tuple[str, ...] = ()
    # What the 専決規程 asked for, when another route is used (workflow.authority).
    authority: Any = None
    # The version of the template it was resolved from (workflow.versions).
    definition: RouteDef | None = None

    def decider(self) -> PlannedSlot | None:
        """The deciding slot: the first of the last blocking stage."""
        blocking = [s for s in self.stages if s.blocking]
        return blocking[-1].slots[0] if blocking and blocking[-1].slots else None


def _in_range(amount: int | None, low: int | None, high: int | None) -> bool:
    if low is None and high is None:
        return True
    if amount is None:
        return False
    return (low is None or amount >= low) and (high is None or amount < high)


def _department_chain(department: Department) -> list[Department]:
    return [department, *department.ancestors()]


def stage_applies(condition: SelectionDef | StageDef, document: Document) -> bool:
    if not _in_range(document.amount, condition.amount_min, condition.amount_max):
        return False
    if condition.doc_types and document.doc_type_id not in condition.doc_types:
        return False
    chain = {d.pk for d in _department_chain(document.department)}
    return not condition.departments or bool(condition.departments & chain)


def select_rule(
    document: Document, on: date | None = None, rules: list[SelectionDef] | None = None
) -> SelectionDef:
    """The 専決規程 rule that applies to the document: the first that matches, by priority,
    among the rules valid on `on` (today when not given; workflow.versions), or `rules`."""
    for rule in rules if rules is not None else rules_on(on):
        if stage_applies(rule, document):
            return rule
    raise RouteError(
        "no_route",
        _(
            "No route applies to this document (type %(type)s, amount %(amount)s); ask an "
            "administrator to add a route selection rule."
        )
        % {"type": document.doc_type.name, "amount": document.amount},
    )


def select_template(document: Document, on: date | None = None) -> RouteTemplate:
    return select_rule(document, on).template


def deciding_post(route: RouteDef, document: Document) -> tuple[int | None, str]:
    """The rank and name of the position that decides on this route for this document, read
    from the definition itself (so a vacant post does not hide it): the highest position named at
    its last blocking stage. (None, "") if that stage names only groups."""
    stages = [
        s for s in route.stages if s.mode != StageMode.CIRCULATION and stage_applies(s, document)
    ]
    if not stages:
        return None, ""
    best: tuple[int | None, str] = (None, "")
    for rule in stages[-1].rules:
        position = rule.position
        if rule.kind == RuleKind.USER and rule.user is not None:
            post = rule.user.primary_post
            position = post.position if post is not None else None
        if position is not None and (best[0] is None or position.rank > best[0]):
            best = (position.rank, position.name)
    return best


def _rule_department(rule: RuleDef, document: Document) -> Department | None:
    if rule.kind == RuleKind.DEPARTMENT_POSITION:
        return rule.department
    up = {RelativeLevel.OWN: 0, RelativeLevel.PARENT: 1, RelativeLevel.GRANDPARENT: 2}
    chain = _department_chain(document.department)
    steps = up[RelativeLevel(rule.level)]
    return chain[steps] if steps < len(chain) else None


def slots_for(rule: RuleDef, document: Document, at: datetime | None) -> list[PlannedSlot]:
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
        return [slot_of_person(rule.user)]
    if rule.kind == RuleKind.GROUP and rule.group is not None:
        users = list(rule.group.user_set.filter(is_active=True).order_by("username"))
        if not users:
            raise RouteError(
                "vacant_post", _("Nobody is in the group %(group)s.") % {"group": rule.group.name}
            )
        return [slot_of_person(u) for u in users]
    department = _rule_department(rule, document)
    if rule.position is None:  # the database constraint makes this unreachable
        raise RouteError("no_route", _("A route rule is incomplete; ask an administrator."))
    posts = []
    if department is not None:
        posts = list(
            current_posts(at)
            .filter(department=department, position=rule.position)
            .select_related("user", "department", "position")
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
    return [slot_of_post(posts[0])]


def choose_deputy(
    user: User, excluded: set[int], at: datetime | None = None
) -> tuple[User | None, list[User]]:
    """Who decides for `user` if they are absent (代決), or if they are `excluded` themselves:
    the first of their deputies who is not `excluded` (the drafter, someone who already approved
    on this route), and those passed over. (None, []) if `user` is present and not excluded."""
    candidates = deputies_for(user, at, present=user.pk in excluded)
    passed = [c for c in candidates if c.pk in excluded]
    chosen = next((c for c in candidates if c.pk not in excluded), None)
    return chosen, passed


def pass_over_note(absent: User, passed: list[User], chosen: User | None, drafter_id: int) -> str:
    reasons = [
        _("%(name)s is the drafter") % {"name": p}
        if p.pk == drafter_id
        else _("%(name)s already approved this document") % {"name": p}
        for p in passed
    ]
    return _("Deputy for %(absent)s: %(reasons)s; %(chosen)s decides instead.") % {
        "absent": absent,
        "reasons": "、".join(reasons),
        "chosen": chosen or _("nobody"),
    }


def apply_deputy(
    slot: PlannedSlot,
    at: datetime | None = None,
    excluded: set[int] | None = None,
    drafter_id: int = -1,
) -> tuple[PlannedSlot, str]:
    """If the slot's person is absent, a deputy acts for them (代決); with the note saying whom
    it passed over and why ("" if nobody)."""
    if slot.on_behalf_of is not None:
        return slot, ""
    excluded_set = excluded or set()
    deputy, passed = choose_deputy(slot.user, excluded_set, at)
    if slot.user.pk in excluded_set and slot.user not in passed:
        passed = [slot.user, *passed]
    note = pass_over_note(slot.user, passed, deputy, drafter_id) if passed else ""
    if deputy is None:
        return slot, note
    return replace(slot, user=deputy, on_behalf_of=slot.user), note


def resolve(
    template: RouteTemplate,
    document: Document,
    at: datetime | None = None,
    *,
    separate: bool = True,
    definition: RouteDef | None = None,
) -> PlannedRoute:
    """The template's stages for this document, with people. `separate=False` leaves out the
    separation of duties, for a caller that adds people first (workflow.services.plan);
    `definition` is another version of the template (workflow.designer), else the one in force."""
    on = timezone.localdate(at) if at is not None else None
    route = definition if definition is not None else route_on(template, on)
    stages: list[PlannedStage] = []
    for stage in route.stages:
        if not stage_applies(stage, document):
            continue
        slots: list[PlannedSlot] = []
        for rule in stage.rules:
            slots.extend(slots_for(rule, document, at))
        if not slots:
            raise RouteError(
                "vacant_post",
                _("The stage %(stage)s has no approver rule.") % {"stage": stage.name},
            )
        stages.append(
            PlannedStage(
                stage.name,
                stage.mode,
                stage.role,
                tuple(_unique(slots)),
                stage.quorum,
                stage.skippable,
                stage.same_person_again,
                stage.quorum_percent,
            )
        )
    if not any(s.mode != StageMode.CIRCULATION for s in stages):
        raise RouteError(
            "no_route",
            _("The route %(route)s has no approval stage for this document.")
            % {"route": template.name},
        )
    planned = PlannedRoute(template, tuple(stages), definition=route)
    return separate_duties(planned, document.drafter, at) if separate else planned


def separate_duties(route: PlannedRoute, drafter: User, at: datetime | None = None) -> PlannedRoute:
    """Nobody approves their own draft, and a person holds one blocking slot per route.

    - The drafter's own slot is left out (their stage with it, if it is left empty); if it is
      the deciding stage, the superior of that post decides instead (上位者決裁).
    - Someone named at two blocking stages acts at the later (higher) one only, unless a stage
      says otherwise (StageTemplate.same_person_again).
    - Deputies (代決) are chosen last, passing over the drafter and anyone who approves earlier.
    Blocking slots need a post: an approval is signed with the post's key, never a person's.
    """
    notes: list[str] = list(route.passed_over)
    stages = list(route.stages)
    blocking = [i for i, s in enumerate(stages) if s.blocking]
    deciding = blocking[-1] if blocking else None
    for i in blocking:
        stage = stages[i]
        kept = []
        for slot in stage.slots:
            if slot.user.pk != drafter.pk:
                kept.append(slot)
                continue
            if i == deciding:
                superior = _superior_for(slot, at)
                if superior is None:
                    raise RouteError(
                        "own_decision",
                        _(
                            "The drafter %(name)s holds the deciding post %(post)s and has no "
                            "superior to decide instead; ask an administrator."
                        )
                        % {"name": drafter, "post": slot.position_name},
                    )
                notes.append(
                    _("%(name)s is the drafter; %(superior)s decides instead (%(post)s).")
                    % {"name": drafter, "superior": superior.user, "post": slot.position_name}
                )
                kept.append(superior)
            else:
                notes.append(
                    _("%(name)s is the drafter and does not approve at %(stage)s.")
                    % {"name": drafter, "stage": stage.name}
                )
        stages[i] = replace(stage, slots=tuple(kept))
    # One blocking slot per person: the later stage keeps them.
    later: set[int] = set()
    for i in reversed(blocking):
        stage = stages[i]
        kept = []
        for slot in stage.slots:
            if slot.user.pk in later and not stage.same_person_again:
                notes.append(
                    _("%(name)s acts at a later stage and does not approve at %(stage)s.")
                    % {"name": slot.user, "stage": stage.name}
                )
                continue
            kept.append(slot)
        later.update(s.user.pk for s in kept)
        stages[i] = replace(stage, slots=tuple(kept))
    stages = [s for s in stages if s.slots]
    # Deputies, in route order, passing over the drafter and those who approve before.
    earlier: set[int] = {drafter.pk}
    for i, stage in enumerate(stages):
        if not stage.blocking:
            continue
        slots = []
        for slot in stage.slots:
            if slot.post_department is None:
                raise RouteError(
                    "no_post",
                    _(
                        "%(name)s holds no post, so cannot sign an approval (approvals are "
                        "signed with the key of a post); ask an administrator."
                    )
                    % {"name": slot.user},
                )
            excluded = {drafter.pk} if stage.same_person_again else earlier
            deputised, note = apply_deputy(slot, at, excluded, drafter.pk)
            if note:
                notes.append(note)
            slots.append(deputised)
        earlier.update(s.user.pk for s in slots)
        earlier.update(s.on_behalf_of.pk for s in slots if s.on_behalf_of is not None)
        stages[i] = replace(stage, slots=tuple(slots))
    return replace(route, stages=tuple(stages), passed_over=tuple(notes))


def _superior_for(slot: PlannedSlot, at: datetime | None) -> PlannedSlot | None:
    if slot.post_department is None or slot.post_position is None:
        return None
    post = (
        current_posts(at)
        .filter(user=slot.user, department=slot.post_department, position=slot.post_position)
        .select_related("department", "position")
        .first()
    )
    superior = superior_of_post(post, at) if post is not None else None
    if superior is None:
        return None
    superior_post = (
        current_posts(at)
        .filter(user=superior)
        .select_related("department", "position")
        .order_by("-position__rank")
        .first()
    )
    return slot_of_post(superior_post) if superior_post is not None else None


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
        slot = slot_of_person(user, added_by_drafter=True)
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
