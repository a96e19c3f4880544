"""Which version of a route and of the 専決規程 is valid on a date (the lookups only).

The rows are the version in force. A version published for a later date (workflow.designer)
waits as JSON; from its date it is the one valid, read from the JSON until the job that applies
it (workflow.designer.apply_due_versions, at 00:00) has written it into the rows. A document uses
the version valid on its submission date; running documents keep the rows they were resolved to.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from workflow.definitions import (
    RouteDef,
    SelectionDef,
    route_from_json,
    route_from_rows,
    rules_from_json,
    rules_from_rows,
)
from workflow.models import RouteTemplate, RouteVersion, RulesVersion


def _day(on: date | None) -> date:
    return on or timezone.localdate()


def route_version_on(template: RouteTemplate, on: date | None = None) -> RouteVersion | None:
    """The published version valid on `on` that the rows do not hold yet, if any."""
    version = (
        RouteVersion.objects.filter(
            template=template, published_at__isnull=False, valid_from__lte=_day(on)
        )
        .order_by("-valid_from", "-id")
        .first()
    )
    return version if version is not None and version.applied_at is None else None


def route_on(template: RouteTemplate, on: date | None = None) -> RouteDef:
    version = route_version_on(template, on)
    if version is None:
        return route_from_rows(template)
    found = route_from_json(version.definition, code=template.code, name=template.name)
    return RouteDef(found.code, found.name, found.after_send_back, found.stages, version.number)


def rules_version_on(on: date | None = None) -> RulesVersion | None:
    version = (
        RulesVersion.objects.filter(published_at__isnull=False, valid_from__lte=_day(on))
        .order_by("-valid_from", "-id")
        .first()
    )
    return version if version is not None and version.applied_at is None else None


def rules_on(on: date | None = None) -> list[SelectionDef]:
    version = rules_version_on(on)
    return rules_from_rows() if version is None else rules_from_json(version.definition)
