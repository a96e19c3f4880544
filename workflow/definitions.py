"""Routes and the 専決規程 as plain values, whichever version they come from.

A route template and the selection rules live as rows that administrators edit (the version in
force today); a version published for a later date lives as JSON until its day
(workflow.designer). Resolution works on these values, so both read the same way: `RouteDef`
from the rows (`route_from_rows`) or from a version's JSON (`route_from_json`), and likewise
`SelectionDef` for the rules. The JSON names everything by its natural key (codes, user names,
group names), so a version survives the renumbering of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import Group
from django.utils.translation import gettext as _

from documents.models import DocumentType
from org.models import Department, Position, User
from workflow.models import (
    AfterSendBack,
    RelativeLevel,
    RouteException,
    RouteSelectionRule,
    RouteTemplate,
    RuleKind,
    StageMode,
    StageRole,
)


class DefinitionError(ValueError):
    """A definition that cannot be used: every problem, each naming where it is."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class RuleDef:
    kind: str
    level: str = ""
    user: User | None = None
    position: Position | None = None
    department: Department | None = None
    group: Group | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "level": self.level,
            "user": self.user.username if self.user else None,
            "position": self.position.code if self.position else None,
            "department": self.department.code if self.department else None,
            "group": self.group.name if self.group else None,
        }


@dataclass(frozen=True)
class StageDef:
    name: str
    mode: str = StageMode.SEQUENTIAL
    role: str = StageRole.APPROVE
    rules: tuple[RuleDef, ...] = ()
    quorum: int | None = None
    quorum_percent: bool = False
    skippable: bool = False
    same_person_again: bool = False
    amount_min: int | None = None
    amount_max: int | None = None
    doc_types: frozenset[int] = frozenset()
    departments: frozenset[int] = frozenset()

    def as_json(self, codes: Codes) -> dict[str, Any]:
        return {
            "name": self.name,
            "mode": self.mode,
            "role": self.role,
            "quorum": self.quorum,
            "quorum_percent": self.quorum_percent,
            "skippable": self.skippable,
            "same_person_again": self.same_person_again,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "doc_types": sorted(codes.doc_type(pk) for pk in self.doc_types),
            "departments": sorted(codes.department(pk) for pk in self.departments),
            "rules": [r.as_json() for r in self.rules],
        }


@dataclass(frozen=True)
class RouteDef:
    code: str
    name: str
    after_send_back: str = AfterSendBack.RESTART
    stages: tuple[StageDef, ...] = ()
    version: int | None = None  # the template's version counter these came from

    def as_json(self) -> dict[str, Any]:
        codes = Codes()
        return {
            "code": self.code,
            "name": self.name,
            "after_send_back": self.after_send_back,
            "stages": [s.as_json(codes) for s in self.stages],
        }


@dataclass(frozen=True)
class SelectionDef:
    """One 専決規程 rule: document type × amount band × department → a route."""

    priority: int
    name: str
    template: RouteTemplate
    amount_min: int | None = None
    amount_max: int | None = None
    doc_types: frozenset[int] = frozenset()
    departments: frozenset[int] = frozenset()
    # (route code, reason): routes a drafter may choose although they rank lower (例外).
    exceptions: tuple[tuple[str, str], ...] = field(default=())

    def as_json(self, codes: Codes) -> dict[str, Any]:
        return {
            "priority": self.priority,
            "name": self.name,
            "template": self.template.code,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "doc_types": sorted(codes.doc_type(pk) for pk in self.doc_types),
            "departments": sorted(codes.department(pk) for pk in self.departments),
            "exceptions": [{"template": t, "reason": r} for t, r in self.exceptions],
        }


class Codes:
    """Natural keys of rows by primary key, read once."""

    def __init__(self) -> None:
        self._types: dict[int, str] | None = None
        self._departments: dict[int, str] | None = None

    def doc_type(self, pk: int) -> str:
        if self._types is None:
            self._types = dict(DocumentType.objects.values_list("pk", "code"))
        return self._types.get(pk, str(pk))

    def department(self, pk: int) -> str:
        if self._departments is None:
            self._departments = dict(Department.objects.values_list("pk", "code"))
        return self._departments.get(pk, str(pk))


# --- From the rows in force ---------------------------------------------------------------------


def route_from_rows(template: RouteTemplate) -> RouteDef:
    stages = []
    for stage in template.stages.prefetch_related(
        "doc_types",
        "departments",
        "rules__user",
        "rules__position",
        "rules__group",
        "rules__department",
    ):
        stages.append(
            StageDef(
                name=stage.name,
                mode=stage.mode,
                role=stage.role,
                quorum=stage.quorum,
                quorum_percent=stage.quorum_percent,
                skippable=stage.skippable,
                same_person_again=stage.same_person_again,
                amount_min=stage.amount_min,
                amount_max=stage.amount_max,
                doc_types=frozenset(t.pk for t in stage.doc_types.all()),
                departments=frozenset(d.pk for d in stage.departments.all()),
                rules=tuple(
                    RuleDef(
                        kind=r.kind,
                        level=r.level,
                        user=r.user,
                        position=r.position,
                        department=r.department,
                        group=r.group,
                    )
                    for r in stage.rules.all()
                ),
            )
        )
    return RouteDef(
        template.code, template.name, template.after_send_back, tuple(stages), template.version
    )


def rules_from_rows() -> list[SelectionDef]:
    rules = RouteSelectionRule.objects.filter(is_active=True, template__is_active=True)
    exceptions: dict[int, list[tuple[str, str]]] = {}
    for exception in RouteException.objects.select_related("template"):
        exceptions.setdefault(exception.rule_id, []).append(
            (exception.template.code, exception.reason)
        )
    return [
        SelectionDef(
            priority=rule.priority,
            name=rule.name,
            template=rule.template,
            amount_min=rule.amount_min,
            amount_max=rule.amount_max,
            doc_types=frozenset(t.pk for t in rule.doc_types.all()),
            departments=frozenset(d.pk for d in rule.departments.all()),
            exceptions=tuple(exceptions.get(rule.pk, ())),
        )
        for rule in rules.select_related("template").prefetch_related("doc_types", "departments")
    ]


# --- From a version's JSON ------------------------------------------------------------------------


_KINDS: dict[str, tuple[Any, str]] = {
    "user": (User, "username"),
    "position": (Position, "code"),
    "department": (Department, "code"),
    "group": (Group, "name"),
    "doc_type": (DocumentType, "code"),
    "template": (RouteTemplate, "code"),
}


class _Lookup:
    """Rows by natural key, each key read once; unknown keys become problems."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self._cache: dict[tuple[str, str], Any] = {}

    def get(self, kind: str, key: Any, where: str) -> Any:
        if key in (None, ""):
            return None
        key = str(key)[:150]
        if (kind, key) not in self._cache:
            model, field_name = _KINDS[kind]
            self._cache[kind, key] = model.objects.filter(**{field_name: key}).first()
        found = self._cache[kind, key]
        if found is None:
            self.problems.append(
                _("%(where)s: no %(kind)s %(key)s") % {"where": where, "kind": kind, "key": key}
            )
        return found


def _say(problems: list[str], message: str, **values: Any) -> None:
    problems.append(message % values)


def _int(value: Any, where: str, problems: list[str], minimum: int = 0) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        _say(problems, _("%(where)s: not a whole number: %(value)s"), where=where, value=value)
        return None
    if number < minimum or number > 10**15:
        _say(problems, _("%(where)s: out of range: %(value)s"), where=where, value=value)
        return None
    return number


def route_from_json(data: Any, *, code: str = "", name: str = "") -> RouteDef:
    """A route definition from JSON (a draft sent by the designer, or a stored version); raises
    DefinitionError listing every problem."""
    look = _Lookup()
    problems = look.problems
    if not isinstance(data, dict):
        raise DefinitionError([_("The route must be an object.")])
    stages_data = data.get("stages")
    if not isinstance(stages_data, list) or not stages_data:
        raise DefinitionError([_("The route needs at least one stage.")])
    if len(stages_data) > 50:
        raise DefinitionError([_("A route has at most 50 stages.")])
    after = data.get("after_send_back", AfterSendBack.RESTART)
    if after not in AfterSendBack.values:
        _say(problems, _("after_send_back: %(value)s is not a choice"), value=after)
    stages: list[StageDef] = []
    for n, raw in enumerate(stages_data, start=1):
        where = _("stage %(n)d") % {"n": n}
        if not isinstance(raw, dict):
            _say(problems, _("%(where)s: must be an object"), where=where)
            continue
        stage_name = str(raw.get("name") or "").strip()[:100]
        if not stage_name:
            _say(problems, _("%(where)s: give it a name"), where=where)
        mode = raw.get("mode", StageMode.SEQUENTIAL)
        if mode not in StageMode.values:
            _say(problems, _("%(where)s: mode %(value)s is not a choice"), where=where, value=mode)
        role = raw.get("role", StageRole.APPROVE)
        if role not in StageRole.values:
            _say(problems, _("%(where)s: role %(value)s is not a choice"), where=where, value=role)
        quorum = _int(raw.get("quorum"), where, problems, minimum=1)
        if mode == StageMode.QUORUM and quorum is None:
            _say(problems, _("%(where)s: a quorum stage needs its quorum"), where=where)
        if raw.get("quorum_percent") and quorum is not None and quorum > 100:
            _say(problems, _("%(where)s: a percentage is at most 100"), where=where)
        amount_min = _int(raw.get("amount_min"), where, problems)
        amount_max = _int(raw.get("amount_max"), where, problems)
        if amount_min is not None and amount_max is not None and amount_max <= amount_min:
            _say(problems, _("%(where)s: the amount band is empty"), where=where)
        rules: list[RuleDef] = []
        raw_rules = raw.get("rules")
        if not isinstance(raw_rules, list) or not raw_rules:
            _say(problems, _("%(where)s: name who acts (at least one approver rule)"), where=where)
            raw_rules = []
        for m, rule in enumerate(raw_rules[:50], start=1):
            rwhere = f"{where}, " + _("rule %(n)d") % {"n": m}
            if not isinstance(rule, dict):
                _say(problems, _("%(where)s: must be an object"), where=rwhere)
                continue
            rules.append(_rule_from_json(rule, rwhere, look))
        stages.append(
            StageDef(
                name=stage_name,
                mode=mode,
                role=role,
                rules=tuple(rules),
                quorum=quorum,
                quorum_percent=bool(raw.get("quorum_percent")),
                skippable=bool(raw.get("skippable")),
                same_person_again=bool(raw.get("same_person_again")),
                amount_min=amount_min,
                amount_max=amount_max,
                doc_types=frozenset(
                    t.pk
                    for c in _list(raw.get("doc_types"))
                    if (t := look.get("doc_type", c, where)) is not None
                ),
                departments=frozenset(
                    d.pk
                    for c in _list(raw.get("departments"))
                    if (d := look.get("department", c, where)) is not None
                ),
            )
        )
    if stages and not any(s.mode != StageMode.CIRCULATION for s in stages):
        problems.append(_("The route needs at least one stage that is not a circulation."))
    if problems:
        raise DefinitionError(problems)
    return RouteDef(
        code or str(data.get("code") or ""),
        name or str(data.get("name") or ""),
        after,
        tuple(stages),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _rule_from_json(rule: dict[str, Any], where: str, look: _Lookup) -> RuleDef:
    kind = rule.get("kind")
    problems = look.problems
    if kind not in RuleKind.values:
        _say(problems, _("%(where)s: kind %(value)s is not a choice"), where=where, value=kind)
        return RuleDef(kind=str(kind))
    level = str(rule.get("level") or "")
    if level and level not in RelativeLevel.values:
        # Any kind: the rows keep it in a column of the choices (16 characters).
        _say(
            problems, _("%(where)s: level %(value)s is not a choice"), where=where, value=level[:50]
        )
        level = ""
    found = RuleDef(
        kind=kind,
        level=level,
        user=look.get("user", rule.get("user"), where),
        position=look.get("position", rule.get("position"), where),
        department=look.get("department", rule.get("department"), where),
        group=look.get("group", rule.get("group"), where),
    )
    complete = {
        RuleKind.USER: found.user is not None,
        RuleKind.RELATIVE: found.position is not None and level in RelativeLevel.values,
        RuleKind.DEPARTMENT_POSITION: found.position is not None and found.department is not None,
        RuleKind.GROUP: found.group is not None,
    }[RuleKind(kind)]
    if not complete:
        _say(problems, _("%(where)s: the rule is incomplete for its kind"), where=where)
    return found


def rules_from_json(data: Any) -> list[SelectionDef]:
    look = _Lookup()
    problems = look.problems
    if not isinstance(data, list):
        raise DefinitionError([_("The rules must be a list.")])
    found = []
    for n, raw in enumerate(data, start=1):
        where = _("rule %(n)d") % {"n": n}
        if not isinstance(raw, dict):
            _say(problems, _("%(where)s: must be an object"), where=where)
            continue
        template = look.get("template", raw.get("template"), where)
        priority = _int(raw.get("priority"), where, problems)
        amount_min = _int(raw.get("amount_min"), where, problems)
        amount_max = _int(raw.get("amount_max"), where, problems)
        if amount_min is not None and amount_max is not None and amount_max <= amount_min:
            _say(problems, _("%(where)s: the amount band is empty"), where=where)
        exceptions = []
        for e in _list(raw.get("exceptions")):
            if isinstance(e, dict) and look.get("template", e.get("template"), where):
                exceptions.append((str(e["template"]), str(e.get("reason") or "")[:300]))
        if template is None:
            continue
        found.append(
            SelectionDef(
                priority=priority or 0,
                name=str(raw.get("name") or "")[:100] or where,
                template=template,
                amount_min=amount_min,
                amount_max=amount_max,
                doc_types=frozenset(
                    t.pk
                    for c in _list(raw.get("doc_types"))
                    if (t := look.get("doc_type", c, where)) is not None
                ),
                departments=frozenset(
                    d.pk
                    for c in _list(raw.get("departments"))
                    if (d := look.get("department", c, where)) is not None
                ),
                exceptions=tuple(exceptions),
            )
        )
    if problems:
        raise DefinitionError(problems)
    return sorted(found, key=lambda r: r.priority)


def rules_as_json(rules: list[SelectionDef]) -> list[dict[str, Any]]:
    codes = Codes()
    return [r.as_json(codes) for r in rules]
