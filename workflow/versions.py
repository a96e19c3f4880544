"""Which version of a route and of the 専決規程 is valid on a date (the lookups only).

The rows are the version in force. A version published for a later date (workflow.designer)
waits as JSON; from its date it is the one valid, read from the JSON until the job that applies
it (workflow.designer.apply_due_versions, at 00:00) has written it into the rows. A document uses
the version valid on its submission date; running documents keep the rows they were resolved to.
"""

from __future__ import annotations

from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import status

from api.errors import ApiError
from workflow.definitions import (
    DefinitionError,
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
    try:
        found = route_from_json(version.definition, code=template.code, name=template.name)
    except DefinitionError as exc:
        raise _broken(
            _("version %(n)s of the route %(name)s") % {"n": version.number, "name": template.name},
            version.valid_from,
            exc,
        ) from exc
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
    if version is None:
        return rules_from_rows()
    try:
        return rules_from_json(version.definition)
    except DefinitionError as exc:
        what = _("version %(n)s of the delegation rules") % {"n": version.number}
        raise _broken(what, version.valid_from, exc) from exc


def _broken(what: str, valid_from: date | None, exc: DefinitionError) -> ApiError:
    """A published version that no longer reads: it names someone or something removed since
    (a group, a department, a person). Said plainly, not a server error."""
    return ApiError(
        "route_version_broken",
        _(
            "%(what)s, valid from %(date)s, names something that no longer exists (%(problem)s). "
            "An administrator must publish a corrected version in the route designer."
        )
        % {"what": what, "date": valid_from, "problem": "; ".join(exc.problems[:3])},
        status.HTTP_409_CONFLICT,
    )
