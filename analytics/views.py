"""The /analytics/ page: the four figures, each chart beside its table, and CSV links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET
from rest_framework.exceptions import APIException

from analytics import charts, filters
from analytics.scope import Scope, scope_of, visible_departments
from analytics.tables import FIGURES
from api.errors import ApiError
from documents.models import DocumentType
from org.auth import user_of


def _scope(request: HttpRequest) -> Scope:
    try:
        return scope_of(user_of(request))
    except ApiError as refusal:
        raise PermissionDenied(str(refusal.detail)) from refusal


def _tables(figure: str, data: dict[str, Any], query: dict[str, str]) -> list[dict[str, Any]]:
    tables = []
    for table in FIGURES[figure][1]:
        rows = table.rows(data)
        tables.append(
            {
                "name": table.name,
                "id": f"{figure}-{table.name}",
                "title": table.title,
                "columns": [label for _, label in table.columns],
                "keys": [key for key, _ in table.columns],
                # The title of a document links to it (the page checks who may read it).
                "rows": [
                    [
                        {"value": row.get(key), "href": row.get("url") if key == "title" else None}
                        for key, _ in table.columns
                    ]
                    for row in rows
                ],
                "csv": reverse("analytics:csv", args=[figure])
                + "?"
                + urlencode({**query, "table": table.name}),
            }
        )
    return tables


def _flatten(detail: Any) -> str:
    if isinstance(detail, dict):
        return " ".join(f"{key}: {_flatten(value)}" for key, value in detail.items())
    if isinstance(detail, list):
        return " ".join(_flatten(value) for value in detail)
    return str(detail)


@login_required
@require_GET
def page(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    error = ""
    try:
        chosen = filters.parse(request.GET, scope)
    except APIException as refusal:  # ApiError, or a malformed date or number
        if refusal.status_code == 403:
            raise PermissionDenied(str(refusal.detail)) from refusal
        error = _("Some filters could not be used, so the defaults are shown: %(detail)s") % {
            "detail": _flatten(refusal.detail)
        }
        chosen = filters.parse({}, scope)
    query = chosen.as_query()
    figures = {name: compute(chosen) for name, (compute, _t) in FIGURES.items()}
    sections = {name: _tables(name, figures[name], query) for name in FIGURES}
    config = {
        "chartjs": static("frontend/vendor/chartjs/chart.umd.min.js"),
        "charts": charts.specs(figures),
    }
    return render(
        request,
        "analytics/analytics.html",
        {
            "filters": chosen,
            "error": error,
            "departments": visible_departments(scope),
            "doc_types": DocumentType.objects.all(),
            "everything": scope.everything,
            "figures": figures,
            "sections": sections,
            "config": config,
        },
    )
