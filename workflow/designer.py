"""The route designer's use cases: drafts, publishing by effective date, simulation, the check.

- A template's draft (`save_draft`) is JSON (workflow.definitions) that changes nothing until it is
  published. `publish_route` gives it a version number and a date (today or later, never earlier:
  documents already running on the old version keep it, and a past date would rewrite what they
  were valid under). From that date it is the version valid (workflow.versions); the job
  `apply_due_versions` (00:00 Tokyo, and at once for today) writes it into the template's rows.
- The 専決規程 is versioned the same way as a whole (`publish_rules`), e.g. from a CSV import.
- `simulate` resolves a route for a document that does not exist, on a date, writing nothing;
  `check_all` does it for every department × type × amount band and lists what does not resolve.
Every publication is in the audit trail with who and what.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from audit import services as audit
from documents.models import Document, DocumentType
from org.models import Department, User
from org.services import current_posts
from workflow.definitions import (
    DefinitionError,
    RouteDef,
    route_from_json,
    route_from_rows,
    rules_as_json,
    rules_from_json,
    rules_from_rows,
)
from workflow.models import (
    BLOCKING_KINDS,
    ApproverRule,
    RouteException,
    RouteSelectionRule,
    RouteStatus,
    RouteTemplate,
    RouteVersion,
    RulesVersion,
    Slot,
    SlotStatus,
    StageTemplate,
)
from workflow.resolution import (
    PlannedRoute,
    RouteError,
    resolve,
    select_rule,
    slots_for,
    stage_applies,
)
from workflow.route_diff import Change, route_changes, rules_changes
from workflow.versions import route_on, route_version_on, rules_on


class DesignError(ApiError):
    def __init__(self, code: str, message: str, problems: list[str] | None = None):
        super().__init__(
            code, message, status.HTTP_422_UNPROCESSABLE_ENTITY, problems=problems or []
        )


def _checked(data: Any, template: RouteTemplate) -> RouteDef:
    try:
        return route_from_json(data, code=template.code, name=template.name)
    except DefinitionError as exc:
        raise DesignError(
            "invalid_route",
            _("The route has %(n)d problems: %(first)s")
            % {"n": len(exc.problems), "first": exc.problems[0]},
            exc.problems,
        ) from None


# --- Drafts and versions of a route ---------------------------------------------------------------


def draft_of(template: RouteTemplate) -> tuple[dict[str, Any], RouteVersion | None]:
    """The designer's draft (JSON), or the route in force as the start of one."""
    draft = RouteVersion.objects.filter(template=template, published_at__isnull=True).first()
    if draft is not None:
        return draft.definition, draft
    return route_from_rows(template).as_json(), None


def save_draft(template: RouteTemplate, data: Any, user: User) -> RouteVersion:
    definition = _checked(data, template).as_json()
    with transaction.atomic():
        draft, _created = RouteVersion.objects.select_for_update().get_or_create(
            template=template, published_at__isnull=True, defaults={"definition": definition}
        )
        draft.definition = definition
        draft.edited_by = user
        draft.save(update_fields=["definition", "edited_by", "updated_at"])
    return draft


def discard_draft(template: RouteTemplate) -> None:
    RouteVersion.objects.filter(template=template, published_at__isnull=True).delete()


def _next_number(template: RouteTemplate) -> int:
    last = template.versions.aggregate(n=Max("number"))["n"] or 0
    return max(last, template.version) + 1


def _not_in_the_past(valid_from: dt.date) -> None:
    if valid_from < timezone.localdate():
        raise DesignError(
            "past_date",
            _(
                "A version cannot be valid from a past date (%(date)s): documents submitted since "
                "then used the version valid at the time. Choose today or a later date."
            )
            % {"date": valid_from.isoformat()},
        )


def publish_route(
    template: RouteTemplate, valid_from: dt.date, user: User, note: str = ""
) -> RouteVersion:
    """The draft becomes the version valid from `valid_from` until the next version's date."""
    _not_in_the_past(valid_from)
    with transaction.atomic():
        template = RouteTemplate.objects.select_for_update().get(pk=template.pk)
        draft = RouteVersion.objects.filter(template=template, published_at__isnull=True).first()
        if draft is None:
            raise DesignError("no_draft", _("There is no draft of this route to publish."))
        _checked(draft.definition, template)
        same_day = RouteVersion.objects.filter(
            template=template, published_at__isnull=False, valid_from=valid_from
        ).first()
        if same_day is not None:
            if same_day.applied_at is not None:
                raise DesignError(
                    "date_taken",
                    _("A version valid from %(date)s is already in force; choose another date.")
                    % {"date": valid_from.isoformat()},
                )
            same_day.delete()  # replaced before its day: nothing ever ran on it
        draft.number = _next_number(template)
        draft.valid_from = valid_from
        draft.note = note[:300]
        draft.published_at = timezone.now()
        draft.published_by = user
        draft.save()
        audit.record(
            "workflow.route_published",
            actor=user,
            data={
                "template": template.code,
                "version": draft.number,
                "valid_from": valid_from.isoformat(),
                "note": draft.note,
                "definition": draft.definition,
            },
        )
    apply_due_versions()
    draft.refresh_from_db(fields=["applied_at"])  # in force already if valid from today
    return draft


def versions_of(template: RouteTemplate) -> list[RouteVersion]:
    return list(
        template.versions.filter(published_at__isnull=False)
        .select_related("published_by")
        .order_by("-valid_from", "-id")
    )


def changes_of(template: RouteTemplate) -> tuple[list[Change], dict[int, list[Change]]]:
    """What the saved draft would change against the latest published version, and what each
    published version changed against the one before it (by version id)."""
    published = sorted(versions_of(template), key=lambda v: (v.valid_from or dt.date.min, v.pk))
    by_version: dict[int, list[Change]] = {}
    previous: dict[str, Any] | None = None
    for version in published:
        # the first version is the route as it was made: nothing to compare it with
        by_version[version.pk] = (
            route_changes(previous, version.definition) if previous is not None else []
        )
        previous = version.definition
    definition, draft = draft_of(template)
    if draft is None:
        return [], by_version
    return route_changes(previous or route_from_rows(template).as_json(), definition), by_version


def rules_versions() -> list[tuple[RulesVersion, list[Change]]]:
    """The published versions of the 専決規程, newest first, each with what it changed against
    the one before it (nothing for the first)."""
    published = list(
        RulesVersion.objects.filter(published_at__isnull=False)
        .select_related("published_by")
        .order_by("valid_from", "id")
    )
    out: list[tuple[RulesVersion, list[Change]]] = []
    previous: list[Any] | None = None
    for version in published:
        changes = rules_changes(previous, version.definition) if previous is not None else []
        out.append((version, changes))
        previous = version.definition
    return out[::-1]


# --- Putting versions in force ------------------------------------------------------------------


def apply_due_versions(today: dt.date | None = None) -> int:
    """Write every version whose day has come into the rows (routes and rules); returns how many.
    Run at 00:00 Tokyo time (`manage.py apply_route_versions`) and after each publication."""
    today = today or timezone.localdate()
    applied = 0
    for template in RouteTemplate.objects.filter(
        versions__published_at__isnull=False,
        versions__applied_at__isnull=True,
        versions__valid_from__lte=today,
    ).distinct():
        with transaction.atomic():
            template = RouteTemplate.objects.select_for_update().get(pk=template.pk)
            version = route_version_on(template, today)
            if version is None:
                continue
            _write_route(template, route_on(template, today), version.number or template.version)
            RouteVersion.objects.filter(
                template=template,
                published_at__isnull=False,
                applied_at__isnull=True,
                valid_from__lte=today,
            ).update(applied_at=timezone.now())
            applied += 1
    with transaction.atomic():
        waiting = RulesVersion.objects.select_for_update().filter(
            published_at__isnull=False, applied_at__isnull=True, valid_from__lte=today
        )
        due = list(waiting.order_by("-valid_from", "-id")[:1])
        if due:
            _write_rules(due[0])
            waiting.update(applied_at=timezone.now())
            applied += 1
    return applied


def _write_route(template: RouteTemplate, route: RouteDef, number: int) -> None:
    template.stages.all().delete()
    for order, stage in enumerate(route.stages, start=1):
        row = StageTemplate.objects.create(
            template=template,
            order=order,
            name=stage.name,
            mode=stage.mode,
            role=stage.role,
            quorum=stage.quorum,
            quorum_percent=stage.quorum_percent,
            skippable=stage.skippable,
            same_person_again=stage.same_person_again,
            amount_min=stage.amount_min,
            amount_max=stage.amount_max,
        )
        row.doc_types.set(stage.doc_types)
        row.departments.set(stage.departments)
        ApproverRule.objects.bulk_create(
            ApproverRule(
                stage=row,
                order=n,
                kind=rule.kind,
                level=rule.level,
                user=rule.user,
                position=rule.position,
                department=rule.department,
                group=rule.group,
            )
            for n, rule in enumerate(stage.rules)
        )
    template.after_send_back = route.after_send_back
    template.version = number
    template.save(update_fields=["after_send_back", "version", "updated_at"])


# --- The 専決規程 as a whole ----------------------------------------------------------------------


def rules_in_force_json() -> list[dict[str, Any]]:
    return rules_as_json(rules_from_rows())


def publish_rules(data: Any, valid_from: dt.date, user: User, note: str = "") -> RulesVersion:
    _not_in_the_past(valid_from)
    try:
        rules = rules_from_json(data)
    except DefinitionError as exc:
        raise DesignError(
            "invalid_rules",
            _("The rules have %(n)d problems: %(first)s")
            % {"n": len(exc.problems), "first": exc.problems[0]},
            exc.problems,
        ) from None
    with transaction.atomic():
        same_day = RulesVersion.objects.filter(
            published_at__isnull=False, valid_from=valid_from
        ).first()
        if same_day is not None:
            if same_day.applied_at is not None:
                raise DesignError(
                    "date_taken",
                    _("A version valid from %(date)s is already in force; choose another date.")
                    % {"date": valid_from.isoformat()},
                )
            same_day.delete()
        last = RulesVersion.objects.aggregate(n=Max("number"))["n"] or 0
        version = RulesVersion.objects.create(
            number=last + 1,
            valid_from=valid_from,
            definition=rules_as_json(rules),
            note=note[:300],
            published_at=timezone.now(),
            published_by=user,
        )
        audit.record(
            "workflow.rules_published",
            actor=user,
            data={
                "version": version.number,
                "valid_from": valid_from.isoformat(),
                "note": version.note,
                "rules": version.definition,
            },
        )
    apply_due_versions()
    version.refresh_from_db(fields=["applied_at"])  # in force already if valid from today
    return version


def _write_rules(version: RulesVersion) -> None:
    rules = rules_from_json(version.definition)
    RouteSelectionRule.objects.all().delete()  # exceptions go with them (CASCADE)
    templates = {t.code: t for t in RouteTemplate.objects.all()}
    for rule in rules:
        row = RouteSelectionRule.objects.create(
            priority=rule.priority,
            name=rule.name,
            template=rule.template,
            amount_min=rule.amount_min,
            amount_max=rule.amount_max,
        )
        row.doc_types.set(rule.doc_types)
        row.departments.set(rule.departments)
        RouteException.objects.bulk_create(
            RouteException(rule=row, template=templates[code], reason=reason)
            for code, reason in rule.exceptions
            if code in templates
        )


# --- Simulation -----------------------------------------------------------------------------------


@dataclass
class Simulation:
    rule: str = ""
    template: RouteTemplate | None = None
    version: int | None = None
    valid_from: dt.date | None = None
    planned: PlannedRoute | None = None
    problems: list[dict[str, str]] = field(default_factory=list)


def _problem(stage: str, exc: ApiError) -> dict[str, str]:
    codes = exc.get_codes()
    return {"stage": stage, "code": str(codes), "message": str(exc.detail)}


def _noon(on: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(on, dt.time(12)))


def simulate(
    *,
    doc_type: DocumentType,
    amount: int | None,
    department: Department,
    drafter: User | None = None,
    on: dt.date | None = None,
    cache: dict[str, Any] | None = None,
) -> Simulation:
    """The route a document like this would get on `on`, people and deputies of that day, and
    every step that does not resolve. Reads only. `cache` keeps the rules and routes of `on`
    across calls (check_all)."""
    cache = cache if cache is not None else {}
    on = on or timezone.localdate()
    document = Document(
        doc_type=doc_type,
        amount=amount,
        department=department,
        drafter=drafter or User(username="", display_name=_("(a drafter)")),
    )
    result = Simulation()
    try:
        if "rules" not in cache:
            cache["rules"] = rules_on(on)
        rule = select_rule(document, on, cache["rules"])
    except RouteError as exc:
        result.problems.append(_problem("", exc))
        return result
    template = rule.template
    key = f"route:{template.pk}"
    if key not in cache:
        cache[key] = (route_on(template, on), route_version_on(template, on))
    definition, pending = cache[key]
    result.rule, result.template = rule.name, template
    result.version = definition.version
    result.valid_from = pending.valid_from if pending is not None else None
    # The people depend on the document only through its department and the stages that apply
    # to it (its type and amount): check_all asks for each type and amount band of a section,
    # and most give the same route, resolved once.
    applies = tuple(stage_applies(stage, document) for stage in definition.stages)
    resolved_key = f"resolved:{department.pk}:{template.pk}:{definition.version}:{applies}"
    if drafter is None and resolved_key in cache:
        result.problems, result.planned = cache[resolved_key]
        return result
    at = _noon(on)
    # Each stage on its own first, so that every vacant post is named, not just the first.
    for stage, applied in zip(definition.stages, applies, strict=True):
        if not applied:
            continue
        for rule_def in stage.rules:
            try:
                slots_for(rule_def, document, at)
            except RouteError as exc:
                result.problems.append(_problem(stage.name, exc))
    if not result.problems:
        try:
            result.planned = resolve(template, document, at, definition=definition)
        except RouteError as exc:
            result.problems.append(_problem("", exc))
    if drafter is None:
        cache[resolved_key] = (result.problems, result.planned)
    return result


def bands(on: dt.date | None = None) -> list[int | None]:
    """One amount from each band the rules valid on `on` distinguish, and no amount."""
    cuts: set[int] = {0}
    for rule in rules_on(on):
        cuts.update(a for a in (rule.amount_min, rule.amount_max) if a is not None)
    return [None, *sorted(cuts)]


@dataclass(frozen=True)
class CheckLine:
    department: Department
    doc_type: DocumentType
    amount: int | None
    simulation: Simulation

    @property
    def ok(self) -> bool:
        return not self.simulation.problems


def check_all(on: dt.date | None = None, *, only_errors: bool = True) -> list[CheckLine]:
    """Every department × document type × amount band on `on`: what the personnel division runs
    before April 1 to see which routes a reorganisation breaks."""
    lines = []
    # Where documents are drafted: sections (departments without sub-departments) that have staff.
    staffed = current_posts(_noon(on) if on else None).values("department_id")
    departments = (
        Department.objects.filter(is_active=True, is_organisation=False, pk__in=staffed)
        .exclude(children__is_active=True)
        .select_related("parent__parent__parent")
    )
    types = list(DocumentType.objects.all())
    amounts = bands(on)
    cache: dict[str, Any] = {}
    for department in departments:
        for doc_type in types:
            for amount in amounts:
                simulation = simulate(
                    doc_type=doc_type, amount=amount, department=department, on=on, cache=cache
                )
                line = CheckLine(department, doc_type, amount, simulation)
                if not (only_errors and line.ok):
                    lines.append(line)
    return lines


@dataclass(frozen=True)
class BrokenSlot:
    """A task of a running route whose post has nobody on the date (a reorganisation broke it)."""

    document_id: int
    title: str
    stage: str
    post: str


def running_broken(on: dt.date | None = None) -> list[BrokenSlot]:
    """The waiting and open tasks of running routes whose post is vacant on `on`: what a
    personnel change dated then would leave without anyone to act (one query for the posts)."""
    at = _noon(on or timezone.localdate())
    held = set(current_posts(at).values_list("department_id", "position_id"))
    found = []
    for slot in (
        Slot.objects.filter(
            status__in=(SlotStatus.WAITING, SlotStatus.OPEN),
            kind__in=BLOCKING_KINDS,
            stage__route__status=RouteStatus.IN_PROGRESS,
            post_department__isnull=False,
            post_position__isnull=False,
        )
        .select_related("stage__route__document")
        .order_by("stage__route__document_id", "stage__index", "order")
    ):
        if (slot.post_department_id, slot.post_position_id) not in held:
            document = slot.stage.route.document
            found.append(
                BrokenSlot(
                    document.pk,
                    document.title,
                    slot.stage.name,
                    f"{slot.department_name} {slot.position_name}".strip(),
                )
            )
    return found
