"""The paper-decision ledger (紙決裁台帳): a department registers the decisions it still made on
paper, and the electronic decisions whose supporting papers went round on paper, so that the
electronic decision rate (analytics.rate) is honest. Administrators also keep it in the admin."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from rest_framework import status

from analytics.filters import Filters
from analytics.models import PaperDecision
from analytics.scope import Scope
from api.errors import ApiError
from audit import services as audit
from documents.models import Document, DocumentType
from org.models import Department, User


def lines(filters: Filters) -> QuerySet[PaperDecision]:
    return (
        PaperDecision.objects.filter(filters.on("decided_on"))
        .select_related("doc_type", "registered_by")
        .order_by("-decided_on", "-id")
    )


def may_register(scope: Scope) -> None:
    if scope.reads_only:
        raise ApiError(
            "permission_denied",
            _("Auditors read the ledger; the department or an administrator registers in it."),
            status.HTTP_403_FORBIDDEN,
        )


def register(user: User, scope: Scope, data: dict[str, Any]) -> PaperDecision:
    """One line, in a department the user's figures cover; the model's rules say what is
    missing (a paper attachment names its document, decided here)."""
    may_register(scope)
    department = Department.objects.filter(pk=data["department"]).first()
    if department is None:
        raise ApiError("invalid", _("Unknown department."))
    if not scope.allows(department.pk):
        raise ApiError(
            "permission_denied",
            _("You may register paper decisions of your own department and those below it only."),
            status.HTTP_403_FORBIDDEN,
        )
    doc_type = DocumentType.objects.filter(code=data["doc_type"]).first()
    if doc_type is None:
        raise ApiError("invalid", _("Unknown document type: use one of the type codes."))
    document = None
    if data.get("document"):
        document = Document.objects.filter(pk=data["document"]).first()
        if document is None or not scope.allows(document.department_id):
            raise ApiError("invalid", _("Unknown document, or not one of your departments'."))
    line = PaperDecision(
        kind=data["kind"],
        decided_on=data["decided_on"],
        department=department,
        doc_type=doc_type,
        title=data.get("title", ""),
        reason=data["reason"],
        document=document,
        registered_by=user,
    )
    try:
        line.full_clean()
    except ValidationError as invalid:
        raise ApiError("invalid", " ".join(invalid.messages)) from invalid
    line.save()
    audit.record(
        "analytics.paper_decision",
        actor=user,
        document=document,
        data={"line": line.pk, "kind": line.kind, "department": department.pk},
    )
    return line


def as_json(line: PaperDecision) -> dict[str, Any]:
    return {
        "id": line.pk,
        "kind": line.kind,
        "decided_on": line.decided_on,
        "department": line.department_id,
        "doc_type": line.doc_type.code,
        "title": line.title,
        "reason": line.reason,
        "document": line.document_id,
        "registered_by": line.registered_by.username if line.registered_by else "",
        "registered_at": line.registered_at,
    }
