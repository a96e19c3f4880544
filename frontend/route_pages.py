"""The route designer's pages (administrators): /routes/ and /routes/<code>/.

Everything they change goes through the designer's API (workflow.designer_api); the views only
hand the page what it draws: the routes in force, the draft, the choices for each field, the
versions, the 専決規程 table.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from documents.models import DocumentType
from frontend import strings
from org.auth import user_of
from org.models import Department, Position
from workflow import designer
from workflow.definitions import rules_as_json
from workflow.designer_api import deciders, route_summary, version_data
from workflow.models import (
    AfterSendBack,
    RelativeLevel,
    RouteTemplate,
    RuleKind,
    StageMode,
    StageRole,
)
from workflow.states import is_administrator
from workflow.versions import rules_on


def _administrator(request: HttpRequest) -> None:
    if not is_administrator(user_of(request)):
        raise PermissionDenied


def _choices() -> dict[str, Any]:
    return {
        "modes": StageMode.choices,
        "roles": StageRole.choices,
        "kinds": RuleKind.choices,
        "levels": RelativeLevel.choices,
        "after": AfterSendBack.choices,
        "positions": [(p.code, p.name) for p in Position.objects.filter(is_active=True)],
        "departments": [
            (d.code, d.full_name)
            for d in Department.objects.filter(is_active=True).select_related(
                "parent__parent__parent"
            )
        ],
        "docTypes": [(t.code, t.name) for t in DocumentType.objects.all()],
    }


@login_required
@require_GET
def routes(request: HttpRequest) -> HttpResponse:
    _administrator(request)
    names = deciders()
    return render(
        request,
        "frontend/routes.html",
        {
            "routes": [
                {**route_summary(t), "versions": designer.versions_of(t)}
                for t in RouteTemplate.objects.filter(is_active=True)
            ],
            "rules": [
                {**row, "decider": names.get(row["template"], "")}
                for row in rules_as_json(rules_on())
            ],
            "rules_versions": [
                {
                    "number": v.number,
                    "valid_from": v.valid_from,
                    "published_by": str(v.published_by) if v.published_by else "",
                    "note": v.note,
                    "in_force": v.applied_at is not None,
                    "changes": [c.text for c in changes],
                }
                for v, changes in designer.rules_versions()
            ],
            "config": {"choices": _choices(), "t": strings.routes()},
        },
    )


@login_required
@require_GET
def route_design(request: HttpRequest, code: str) -> HttpResponse:
    _administrator(request)
    template = get_object_or_404(RouteTemplate, code=code)
    draft, row = designer.draft_of(template)
    draft_changes, changes = designer.changes_of(template)
    return render(
        request,
        "frontend/route_design.html",
        {
            "template": template,
            "versions": [
                {**version_data(v), "changes": [c.text for c in changes.get(v.pk, [])]}
                for v in designer.versions_of(template)
            ],
            "has_draft": row is not None,
            "draft_changes": [c.text for c in draft_changes],
            "config": {
                "code": template.code,
                "draft": draft,
                "choices": _choices(),
                "t": strings.routes(),
            },
        },
    )
