"""The demo's delegation-of-authority rules (専決規程, DESIGN.md section 7) as route templates."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from documents.models import DocumentType
from org.models import Department, Position
from workflow.models import (
    ApproverRule,
    RelativeLevel,
    RouteSelectionRule,
    RouteTemplate,
    RouteVersion,
    RuleKind,
    RulesVersion,
    StageMode,
    StageRole,
    StageTemplate,
)

# (order, name, mode, role, rule): rule is ("relative", level, position code) or
# ("department_position", department code, position code).
SECTION_CHIEF = ("relative", RelativeLevel.OWN, "kakaricho")
CHIEF = ("relative", RelativeLevel.OWN, "kacho")
DIRECTOR = ("relative", RelativeLevel.PARENT, "bucho")
FINANCE = ("department_position", "zaimu-zaisei", "kacho")
VICE_MAYOR = ("department_position", "mayor", "fukushicho")

Rule = tuple[str, str, str]
TEMPLATES: dict[str, tuple[str, list[tuple[str, str, str, Rule]]]] = {
    "kacho-senketsu": (
        "課長専決",
        [
            ("係長", StageMode.SEQUENTIAL, StageRole.APPROVE, SECTION_CHIEF),
            ("課長（決裁）", StageMode.SEQUENTIAL, StageRole.DECIDE, CHIEF),
        ],
    ),
    "bucho-senketsu": (
        "部長専決",
        [
            ("係長", StageMode.SEQUENTIAL, StageRole.APPROVE, SECTION_CHIEF),
            ("課長", StageMode.SEQUENTIAL, StageRole.APPROVE, CHIEF),
            ("財政課長（合議）", StageMode.ALL_OF, StageRole.CONSULT, FINANCE),
            ("部長（決裁）", StageMode.SEQUENTIAL, StageRole.DECIDE, DIRECTOR),
        ],
    ),
    "fukushicho-kessai": (
        "副市長決裁",
        [
            ("係長", StageMode.SEQUENTIAL, StageRole.APPROVE, SECTION_CHIEF),
            ("課長", StageMode.SEQUENTIAL, StageRole.APPROVE, CHIEF),
            ("財政課長（合議）", StageMode.ALL_OF, StageRole.CONSULT, FINANCE),
            ("部長", StageMode.SEQUENTIAL, StageRole.APPROVE, DIRECTOR),
            ("副市長（決裁）", StageMode.SEQUENTIAL, StageRole.DECIDE, VICE_MAYOR),
        ],
    ),
    # 廃棄・移管 (retention/): requested by 情報政策課 (admin), decided by the director of its
    # department, 総務部長.
    "haiki-ikan": (
        "廃棄・移管決裁",
        [("総務部長（決裁）", StageMode.SEQUENTIAL, StageRole.DECIDE, DIRECTOR)],
    ),
}

# priority, name, template, amount from (inclusive), amount below (exclusive). The three bands
# cover every amount; the last rule catches documents without one (通知・照会 and the like), so
# that every document has a route (issue 15).
RULES = [
    (10, "100万円未満は課長専決", "kacho-senketsu", None, 1_000_000),
    (20, "1,000万円未満は部長専決", "bucho-senketsu", 1_000_000, 10_000_000),
    (30, "1,000万円以上は副市長決裁", "fukushicho-kessai", 10_000_000, None),
    (90, "金額のない文書（通知・照会など）は課長専決", "kacho-senketsu", None, None),
]
# priority, name, template, document type: whatever the amount
TYPE_RULES = [(5, "廃棄・移管は総務部長決裁", "haiki-ikan", "disposal")]


@transaction.atomic
def seed_routes() -> None:
    for code, (name, stages) in TEMPLATES.items():
        template, created = RouteTemplate.objects.get_or_create(code=code, defaults={"name": name})
        if not created:
            continue  # an administrator may have edited it since; leave it alone
        for order, (stage_name, mode, role, rule) in enumerate(stages, start=1):
            stage = StageTemplate.objects.create(
                template=template, order=order, name=stage_name, mode=mode, role=role
            )
            kind, where, position = rule
            ApproverRule.objects.create(
                stage=stage,
                kind=RuleKind.RELATIVE if kind == "relative" else RuleKind.DEPARTMENT_POSITION,
                position=Position.objects.get(code=position),
                level=where if kind == "relative" else "",
                department=Department.objects.get(code=where) if kind != "relative" else None,
            )
    for priority, name, code, low, high in RULES:
        RouteSelectionRule.objects.get_or_create(
            name=name,
            defaults={
                "priority": priority,
                "template": RouteTemplate.objects.get(code=code),
                "amount_min": low,
                "amount_max": high,
            },
        )
    for priority, name, code, doc_type in TYPE_RULES:
        selection, created = RouteSelectionRule.objects.get_or_create(
            name=name,
            defaults={"priority": priority, "template": RouteTemplate.objects.get(code=code)},
        )
        if created:
            selection.doc_types.add(DocumentType.objects.get(code=doc_type))
    _versions_in_force()


def _versions_in_force() -> None:
    """The seeded routes and rules are version 1, in force since the start of the fiscal year
    (the designer's version history starts here)."""
    from workflow.definitions import route_from_rows, rules_as_json, rules_from_rows

    today = timezone.localdate()
    since = dt.date(today.year if today.month >= 4 else today.year - 1, 4, 1)
    now = timezone.now()
    for template in RouteTemplate.objects.filter(versions__isnull=True):
        RouteVersion.objects.create(
            template=template,
            number=template.version,
            valid_from=since,
            definition=route_from_rows(template).as_json(),
            published_at=now,
            applied_at=now,
            note="初版",
        )
    if not RulesVersion.objects.exists():
        RulesVersion.objects.create(
            number=1,
            valid_from=since,
            definition=rules_as_json(rules_from_rows()),
            published_at=now,
            applied_at=now,
            note="初版",
        )
