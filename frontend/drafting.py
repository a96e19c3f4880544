"""What the drafting page reads beyond the document: the routes a drafter may pick, and the
route preview with the drafter's own additions (extra approvers, readers).

The REST API's route preview takes a route but not the additions; submission takes both. The page
shows what submission would write, so it plans the route the way `workflow.services.submit` does
(`services.plan` with the same arguments) and marks what the drafter added.
"""

from __future__ import annotations

from typing import Any

from django.http import QueryDict
from django.utils.translation import gettext as _

from api.errors import ApiError
from documents.models import Document
from workflow import services
from workflow.api import SubmitSerializer, plan_data
from workflow.models import RouteTemplate
from workflow.resolution import PlannedRoute, select_template

MAX_ADDITIONS = 20


def route_choices() -> list[RouteTemplate]:
    """The active route templates, for the drafter who wants another than the rules choose."""
    return list(RouteTemplate.objects.filter(is_active=True).order_by("name", "code"))


class PreviewError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = self.fields
        return {"error": body}


def _options(query: QueryDict) -> dict[str, Any]:
    """route, add_approvers, add_readers: the submit API's own names and validation."""
    for name in ("add_approvers", "add_readers"):
        if len(query.getlist(name)) > MAX_ADDITIONS:
            raise PreviewError(
                400,
                "invalid",
                _("At most %(n)s people may be added.") % {"n": MAX_ADDITIONS},
            )
    form = SubmitSerializer(data=query)
    if not form.is_valid():
        raise PreviewError(
            400, "invalid", _("Some fields are not valid; see 'fields'."), form.errors
        )
    return dict(form.validated_data)


def _rules_template(document: Document) -> RouteTemplate | None:
    try:
        return select_template(document)
    except ApiError:
        return None


def _plan_json(planned: PlannedRoute, rules: RouteTemplate | None, chosen: str) -> dict[str, Any]:
    """The API's preview, with the drafter's choice and what the rules would have chosen."""
    return {
        **plan_data(planned),
        "chosen": chosen,
        "rules_template": rules.code if rules else None,
        "rules_template_name": rules.name if rules else None,
    }


def preview(document: Document, query: QueryDict) -> dict[str, Any]:
    """The route and people submission would give `document` with these options, as JSON."""
    options = _options(query)
    chosen = options.get("route") or ""
    try:
        planned = services.plan(
            document,
            template_code=chosen or None,
            approvers=options["add_approvers"],
            readers=options["add_readers"],
        )
    except ApiError as error:
        codes = error.get_codes()
        raise PreviewError(
            error.status_code, codes if isinstance(codes, str) else "invalid", str(error.detail)
        ) from None
    return _plan_json(planned, _rules_template(document) if chosen else planned.template, chosen)
